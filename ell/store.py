"""The store protocol: the only thing `ell` knows about persistence.

`ell` hands plain records to whatever object implements `Store`; `ell_git` implements it on git,
`MemoryStore` keeps everything in lists (for tests and for users who want no persistence).
The records themselves, their line format and the freeze key are `ell.records`.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from .freeze import Freezer
from .records import EvaluationRunRecord, FeedbackRecord, InvocationRecord, VersionRecord


@runtime_checkable
class Store(Protocol):
    """What `ell` needs from a store. Every method must be cheap and must not raise into the caller."""

    def record_version(self, version: VersionRecord) -> None: ...

    def record_invocation(self, invocation: InvocationRecord) -> None: ...

    def flush(self, timeout: float | None = None) -> None:
        """Return once everything recorded before the call is durable (or `timeout` passed)."""

    def close(self) -> None: ...


@runtime_checkable
class Freezable(Protocol):
    """Optional: a store that replays recorded outputs (ell-ai's ``with store.freeze(lmp): ...``).

    To implement: a `freezer` attribute, ``Freezer(lookup, flush)`` (`ell.freeze`), where
    ``lookup(version_id, key)`` returns the outputs of the newest error-free recorded call of that
    version with that freeze key (`cache_key`), or None. The lookup is the only store-specific part.

    Defaults (subclass `Freezable` to inherit them): `freeze`, `is_frozen` and `cached_outputs`
    delegate to the freezer, which owns the semantics: a name stays frozen until the outermost
    block freezing it exits, and a miss is looked up again after `flush`. Override `cached_outputs`
    to handle a failing lookup your way; by default the exception reaches `ell`, which warns once and
    calls the model. `ell` asks `is_frozen` on every call of a tracked function: keep it cheap.
    """

    freezer: Freezer

    def freeze(self, *lmps: Any) -> AbstractContextManager[None]:
        """Within the block, calls of `lmps` identical to a recorded call return its outputs."""
        return self.freezer.freeze(*lmps)

    def is_frozen(self, name: str) -> bool:
        return name in self.freezer.frozen  # `Freezer.is_frozen` inlined: asked on every call

    def cached_outputs(self, version_id: str, key: str) -> list[Any] | None:
        """JSON form (or live objects) of the recorded outputs of an identical call, or None."""
        return self.freezer.cached_outputs(version_id, key)


# -- optional hooks: evaluations and human feedback ------------------------------------------------
#
# A store MAY also implement `EvaluationHooks` (below). `ell.Evaluation.run` calls
# `record_evaluation_run` once, when a run ends; `ell.feedback` calls `record_feedback`. Neither is on an
# LMP call's path, so unlike the methods above they may block briefly (e.g. flush, then write) and they
# raise `LookupError` when asked to annotate an invocation the store does not have. A store without them
# still works: evaluations run and return their results, and `ell.feedback` says the store cannot keep it.


@runtime_checkable
class EvaluationHooks(Protocol):
    """Optional store methods for evaluations and feedback (see the comment above)."""

    def record_evaluation_run(self, run: EvaluationRunRecord) -> None: ...

    def record_feedback(self, feedback: FeedbackRecord) -> FeedbackRecord:
        """Keep `feedback` (with version_id/lmp_name filled in); LookupError for an unknown invocation."""
        ...


class MemoryStore(Freezable):
    """Keeps records in memory. Implements `Store`, `Freezable` and the optional `EvaluationHooks`."""

    def __init__(self) -> None:
        self.versions: dict[str, VersionRecord] = {}
        self.invocations: list[InvocationRecord] = []
        self.evaluation_runs: list[EvaluationRunRecord] = []
        self.feedback: list[FeedbackRecord] = []
        self._lock = threading.Lock()
        self.freezer = Freezer(self._lookup)  # nothing is ever queued: no flush

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

    def _lookup(self, version_id: str, key: str) -> list[Any] | None:
        with self._lock:
            for inv in reversed(self.invocations):
                if inv.version_id == version_id and not inv.error and inv.cache_key() == key:
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
