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
from dataclasses import dataclass, field
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
    usage: dict[str, int] = field(default_factory=dict)  # prompt_tokens, completion_tokens, total_tokens
    latency_ms: float = 0.0
    started_at: float = 0.0  # epoch seconds
    parent_id: str | None = None  # invocation this call happened inside
    origin_ids: tuple[str, ...] = ()  # invocations whose lstr outputs were passed in as arguments
    bound_globals: dict[str, Any] = field(default_factory=dict)  # mutable globals at call time
    error: str | None = None  # the model's/user's exception, if the call raised
    cached: bool = False  # served by `store.freeze` instead of the model
    format: int = FORMAT_VERSION


@runtime_checkable
class Store(Protocol):
    """What `ell` needs from a store. Every method must be cheap and must not raise into the caller."""

    def record_version(self, version: VersionRecord) -> None: ...

    def record_invocation(self, invocation: InvocationRecord) -> None: ...

    def flush(self, timeout: float | None = None) -> None:
        """Return once everything recorded before the call is durable (or `timeout` passed)."""

    def close(self) -> None: ...


def cache_key(version_id: str, args_json: bytes, globals_json: bytes) -> str:
    """Identity of a call for `freeze`: same version, same arguments, same bound globals."""
    h = hashlib.sha256(version_id.encode())
    h.update(b"\0")
    h.update(args_json)
    h.update(b"\0")
    h.update(globals_json)
    return h.hexdigest()[:32]


class MemoryStore:
    """Keeps records in memory. Implements `Store` and the optional `cached_outputs` hook for freeze."""

    def __init__(self) -> None:
        self.versions: dict[str, VersionRecord] = {}
        self.invocations: list[InvocationRecord] = []
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
        names = {getattr(l, "__ell_name__", getattr(l, "__qualname__", str(l))) for l in lmps}
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
