"""The store protocol: the only thing `ell` knows about persistence.

`ell` hands plain records to whatever object implements `Store`; `ell_git` implements it on git,
`MemoryStore` keeps everything in lists (for tests and for users who want no persistence).
Records are built on the caller's path, so they hold references, not serialised bytes: a store
serialises them in the background (see `ell.serialize.to_jsonable`).
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Protocol, runtime_checkable

#: Bumped when the shape of stored records changes; readers refuse newer formats.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class VersionRecord:
    """One version of a tracked function (LMP, tool or plain tracked function)."""

    version_id: str  # "lmp-<16 hex>", content hash of `closure` + uses (see ell.versioning)
    name: str  # fully qualified "module.qualname" (`__main__` mapped to the script's stem)
    kind: str  # "simple" | "complex" | "tool" | "function"
    source: str  # the function's source as the user wrote it (for display)
    closure: str  # the normalised lexical closure: exactly what was hashed
    uses: tuple[str, ...] = ()  # version ids of the LMPs/tools it calls, sorted
    uses_names: tuple[str, ...] = ()  # their qualified names, same order as `uses`
    model: str | None = None
    api_params: dict[str, Any] = field(default_factory=dict)
    bound_globals: dict[str, Any] = field(default_factory=dict)  # mutable globals at definition (JSON-safe)
    packages: dict[str, str] = field(default_factory=dict)  # imported distribution -> version
    created_at: float = 0.0  # epoch seconds when this process first saw the version
    format: int = FORMAT_VERSION


@dataclass
class InvocationRecord:
    """One call of a tracked function. Fields may hold live objects; stores serialise later."""

    id: str  # "inv-<32 hex>", random
    version_id: str
    lmp_name: str
    args: dict[str, Any]  # call arguments bound to parameter names
    messages: list[Any] = field(default_factory=list)  # ell.Message list actually sent
    outputs: list[Any] = field(default_factory=list)  # ell.Message list (or plain values for tools)
    model: str | None = None
    api_params: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)  # prompt/completion/total_tokens, *_tokens_details
    latency_ms: float = 0.0
    started_at: float = 0.0  # epoch seconds
    parent_id: str | None = None  # invocation this call happened inside
    origin_ids: tuple[str, ...] = ()  # invocations whose lstr outputs were passed in as arguments
    bound_globals: dict[str, Any] = field(default_factory=dict)  # mutable globals at call time
    error: str | None = None  # the model's/user's exception, if the call raised
    cached: bool = False  # served by `store.freeze` instead of the model
    # Optional fields, left out of the stored line when None (see ell_git.batch):
    trace_id: str | None = None  # OpenTelemetry trace id (32 hex) with ell.init(otel=True)
    span_id: str | None = None  # this call's span id (16 hex)
    recording: str | None = None  # the recording policy that kept it when not "all" (ell.recording)
    format: int = FORMAT_VERSION


@runtime_checkable
class Store(Protocol):
    """What `ell` needs from a store. Every method must be cheap and must not raise into the caller."""

    def record_version(self, version: VersionRecord) -> None: ...

    def record_invocation(self, invocation: InvocationRecord) -> None: ...

    def flush(self, timeout: float | None = None) -> None:
        """Return once everything recorded before the call is durable (or `timeout` passed)."""

    def close(self) -> None: ...


# -- optional hooks: evaluations and human feedback ------------------------------------------------
#
# A store MAY also implement `EvaluationHooks` (below). `ell.Evaluation.run` calls
# `record_evaluation_run` once, when a run ends; `ell.feedback` calls `record_feedback`. Neither is on an
# LMP call's path, so unlike the methods above they may block briefly (e.g. flush, then write) and they
# raise `LookupError` when asked to annotate an invocation the store does not have. A store without them
# still works: evaluations run and return their results, and `ell.feedback` says the store cannot keep it.


@dataclass(frozen=True)
class LabelerRecord:
    """One metric or criterion of an evaluation, pinned at the version of its function."""

    name: str  # the metric's name ("criterion" for a single criterion)
    kind: str  # "metric" | "criterion"
    version_id: str  # content hash of the function's closure (model-graded metrics include their LMPs)
    function: str  # qualified name of the function
    source: str  # the function as written (for display)


@dataclass(frozen=True)
class EvaluationRecord:
    """What an evaluation is: its identity is a content hash of its dataset and labeler versions."""

    id: str  # "eval-<16 hex>" (see ell.evaluation.identity)
    name: str
    dataset_id: str  # "dataset-<16 hex>": hash of the canonical dataset (or of n_evals when there is none)
    dataset: tuple[Any, ...] | None  # JSON-ready datapoints; None with n_evals
    n_evals: int | None
    samples_per_datapoint: int
    labelers: tuple[LabelerRecord, ...]
    default_api_params: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT_VERSION


@dataclass(frozen=True)
class DatapointResult:
    """The evaluated LMP's output for one datapoint (one sample of it) and every label given to it."""

    index: int  # the datapoint's position in the dataset (with n_evals: the evaluation's number)
    sample: int  # 0 .. samples_per_datapoint-1
    key: str  # hash of the datapoint: joins the results of two runs on the same input
    invocation_id: str | None  # the evaluated call (None if it was not tracked)
    output: Any  # JSON-ready output
    labels: dict[str, Any]  # labeler name -> float (metric) | bool (criterion) | None (it failed)
    label_invocation_ids: dict[str, str | None] = field(default_factory=dict)  # tracked labelers' calls
    errors: dict[str, str] = field(default_factory=dict)  # "output" or a labeler name -> the error
    latency_ms: float = 0.0


@dataclass(frozen=True)
class EvaluationRunRecord:
    """One run of an evaluation on one version of an LMP, with summaries per labeler."""

    id: str  # "run-<16 hex>", random
    evaluation: EvaluationRecord
    lmp_name: str
    version_id: str
    api_params: dict[str, Any]
    lmp_params: dict[str, Any]  # extra keyword arguments given to every call (JSON-ready)
    started_at: float
    ended_at: float
    results: tuple[DatapointResult, ...]
    summaries: dict[str, dict[str, Any]]  # labeler -> {count, errors, mean, std, min, max}
    success: bool
    error: str | None = None
    format: int = FORMAT_VERSION


@dataclass(frozen=True)
class FeedbackRecord:
    """A human's judgement of one invocation (thumbs up/down, a score, a comment, labels)."""

    id: str  # "fb-<16 hex>", random: two identical judgements stay two entries
    invocation_id: str
    score: float | None  # +1 / -1 for thumbs, any finite float, or None (comment or labels only)
    comment: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    source: str = "code"  # "code" | "web" | "blind" (a double-blind comparison vote)
    created_at: float = 0.0
    version_id: str | None = None  # filled by the store from the invocation when it can
    lmp_name: str | None = None
    format: int = FORMAT_VERSION


@runtime_checkable
class EvaluationHooks(Protocol):
    """Optional store methods for evaluations and feedback (see the comment above)."""

    def record_evaluation_run(self, run: EvaluationRunRecord) -> None: ...

    def record_feedback(self, feedback: FeedbackRecord) -> FeedbackRecord:
        """Keep `feedback` (with version_id/lmp_name filled in); LookupError for an unknown invocation."""
        ...


def cache_key(version_id: str, args_json: bytes, globals_json: bytes) -> str:
    """Identity of a call for `freeze`: same version, same arguments, same bound globals."""
    h = hashlib.sha256(version_id.encode())
    h.update(b"\0")
    h.update(args_json)
    h.update(b"\0")
    h.update(globals_json)
    return h.hexdigest()[:32]


class MemoryStore:
    """Keeps records in memory. Implements `Store`, the optional `cached_outputs` hook for freeze and
    the optional `EvaluationHooks`."""

    def __init__(self) -> None:
        self.versions: dict[str, VersionRecord] = {}
        self.invocations: list[InvocationRecord] = []
        self.evaluation_runs: list[EvaluationRunRecord] = []
        self.feedback: list[FeedbackRecord] = []
        self._lock = threading.Lock()
        self._frozen: set[str] = set()

    def record_version(self, version: VersionRecord) -> None:
        with self._lock:
            self.versions.setdefault(version.version_id, version)

    def record_invocation(self, invocation: InvocationRecord) -> None:
        with self._lock:
            self.invocations.append(invocation)

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self) -> None:
        return None

    # -- freeze (ell-ai's `store.freeze`) -------------------------------------------------
    def is_frozen(self, version_name: str) -> bool:
        return version_name in self._frozen

    @contextmanager
    def freeze(self, *lmps: Any) -> Iterator[None]:
        from .types.lmp import lmp_of

        names = {found.name if (found := lmp_of(l)) else getattr(l, "__qualname__", str(l)) for l in lmps}
        self._frozen |= names
        try:
            yield
        finally:
            self._frozen -= names

    def cached_outputs(self, version_id: str, key: str) -> list[Any] | None:
        from .serialize import call_cache_key

        with self._lock:
            for inv in reversed(self.invocations):
                if inv.version_id == version_id and not inv.error and call_cache_key(inv) == key:
                    return inv.outputs
        return None

    # -- evaluations and feedback (EvaluationHooks) -------------------------------------------
    def record_evaluation_run(self, run: EvaluationRunRecord) -> None:
        with self._lock:
            self.evaluation_runs.append(run)

    def record_feedback(self, feedback: FeedbackRecord) -> FeedbackRecord:
        with self._lock:
            inv = next((i for i in reversed(self.invocations) if i.id == feedback.invocation_id), None)
            if inv is None:
                raise LookupError(f"no invocation {feedback.invocation_id!r} in this MemoryStore: "
                                  "pass an id (or lstr) of a call made while this store was configured")
            feedback = replace(feedback, version_id=inv.version_id, lmp_name=inv.lmp_name)
            self.feedback.append(feedback)
            return feedback
