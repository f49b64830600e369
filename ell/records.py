"""The records `ell` hands to a store, their line format and the freeze key: one owner for all three.

A record is plain data built on the caller's path; it may hold live objects (lstr, Message,
user values), which `to_line` turns into one canonical JSON line. Stores handle that line as
bytes. Imports only `ell.serialize` and orjson, so a writer process can import it cheaply.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from .serialize import dumps, dumps_plain, dumps_spliced, to_jsonable

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
    # Optional fields, left out of the stored line when None (see `OPTIONAL`):
    trace_id: str | None = None  # OpenTelemetry trace id (32 hex) with ell.init(otel=True)
    span_id: str | None = None  # this call's span id (16 hex)
    recording: str | None = None  # the recording policy that kept it when not "all" (ell.recording)
    format: int = FORMAT_VERSION

    def cache_key(self) -> str:
        """The freeze key of this call (the one its line stores)."""
        return call_key(self.version_id, self.args, self.bound_globals)

    def to_line(self) -> bytes:
        """The canonical JSON line (no newline): the careful way, for any value the record holds."""
        args, bound = dumps(self.args), dumps(self.bound_globals)
        fields = dict(vars(self), cache_key=cache_key(str(self.version_id), args, bound))
        _drop_unset(fields)
        return dumps_spliced(fields, {"args": args, "bound_globals": bound})

    def plain_line(self, *, newline: bool = False) -> bytes | None:
        """`to_line()` if that is cheap (plain data, text messages, small arguments), else None.

        Cheap enough for the caller's thread: a few µs of C, and None means "leave it to `to_line`
        in the background". The result is orjson's own buffer (copy it before it waits in a
        queue); with `newline` it ends in ``\\n``."""
        args = dumps_plain(self.args)
        bound = dumps_plain(self.bound_globals) if self.bound_globals else b"{}"
        if args is None or bound is None or len(args) + len(bound) > PLAIN_KEY_BYTES:
            return None
        fields = dict(vars(self))
        _drop_unset(fields)
        fields["args"], fields["bound_globals"] = orjson.Fragment(args), orjson.Fragment(bound)
        fields["cache_key"] = cache_key(str(self.version_id), args, bound)
        return dumps_plain(fields, newline=newline)


# -- evaluations and human feedback (see `ell.store.EvaluationHooks`) --------------------------------


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


#: `plain_line` leaves records whose arguments and globals exceed this to `to_line` (they are hashed).
PLAIN_KEY_BYTES = 16 * 1024

#: Fields a line holds only when set (OpenTelemetry ids, a recording policy): lines stay as they were.
OPTIONAL = ("trace_id", "span_id", "recording")


def _drop_unset(fields: dict[str, Any]) -> None:
    for key in OPTIONAL:
        if fields.get(key, 0) is None:
            del fields[key]


def cache_key(version_id: str, args_json: bytes, globals_json: bytes) -> str:
    """Identity of a call for `freeze`: same version, same arguments, same bound globals
    (given as canonical JSON bytes, see `ell.serialize.dumps`)."""
    # One call over the joined bytes: the same digest as feeding them in turn, ~10% cheaper.
    return hashlib.sha256(b"\0".join((version_id.encode(), args_json, globals_json))).hexdigest()[:32]


def call_key(version_id: str, args: Any, bound_globals: Any) -> str:
    """`cache_key` of a call's arguments and bound globals given as values (what a line stores)."""
    return cache_key(version_id, dumps(args), dumps(bound_globals))


def version_to_dict(version: VersionRecord) -> dict[str, Any]:
    """A `VersionRecord` as canonical data (what goes into meta.json, without source/closure)."""
    d = {f.name: getattr(version, f.name) for f in dataclasses.fields(version)}
    d.pop("source", None)
    d.pop("closure", None)
    return to_jsonable(d)
