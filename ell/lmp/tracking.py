"""Recording what a tracked call did, cheaply, on the caller's thread.

Everything here runs on the user's call path: it builds one `InvocationRecord` of references and
hands it to the store, which serialises and writes in the background. Versioning runs once per
function. Any failure here is a tracking failure: it warns once and never reaches the user.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import os
import secrets
import time
from contextvars import ContextVar
from typing import Any, Callable, Optional

from .. import otel, recording
from ..configurator import config
from ..records import InvocationRecord, VersionRecord
from ..types.lmp import lmp_of
from ..warn import warn_once

logger = logging.getLogger("ell")

#: The invocation currently running in this context (its children record it as their parent).
current_invocation: ContextVar[Optional[str]] = ContextVar("ell_current_invocation", default=None)

_recorded_versions: set[tuple[int, str]] = set()  # (id(store), version id) already handed to a store


def error_text(error: BaseException) -> str:
    """``Type: message`` of a call's exception, even one whose ``__str__`` raises (the call still
    re-raises it; without this its record would be lost)."""
    try:
        return f"{type(error).__name__}: {error}"
    except Exception:
        return f"{type(error).__name__}: <str() of this exception failed>"


def _reset_invocation_ids() -> None:
    global _id_prefix, _id_counter
    _id_prefix = "inv-" + secrets.token_hex(8)
    _id_counter = itertools.count()


_reset_invocation_ids()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_invocation_ids)  # a forked child must not repeat its parent's ids


def new_invocation_id() -> str:
    """``inv-`` + 32 hex: a random prefix per process and a counter. No system call per call:
    `os.urandom` releases the GIL, and while the store's writer thread waits for the GIL every
    release costs the caller a wake-up of that thread (measured: ~10 µs a call with the store on)."""
    return f"{_id_prefix}{next(_id_counter):016x}"


class ArgBinder:
    """Binds call arguments to parameter names without `Signature.bind` (a few µs saved per call)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        params = list(inspect.signature(fn).parameters.values())
        self.positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.varargs = next((p.name for p in params if p.kind == p.VAR_POSITIONAL), None)
        self.names = {p.name for p in params}

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = dict(zip(self.positional, args))
        if len(args) > len(self.positional):
            bound[self.varargs or "*args"] = args[len(self.positional) :]
        if kwargs:
            bound.update(kwargs)
        return bound


def ensure_version(wrapper: Any) -> Any:
    """The wrapper's VersionInfo, computed on first use and handed to the store once per store."""
    info = getattr(wrapper, "__ell_version__", None)
    if info is None:
        from ..versioning import compute_version

        info = compute_version(wrapper)
    store = config.store
    if store is not None:
        key = (id(store), info.version_id)
        if key not in _recorded_versions:
            _recorded_versions.add(key)
            try:
                store.record_version(version_record(wrapper, info))
            except Exception as exc:  # pragma: no cover - stores must not raise, but never trust it
                warn_once("record_version", f"could not record version of {info.name}: {exc}")
    return info


def version_record(wrapper: Any, info: Any) -> VersionRecord:
    from ..redaction import redact_value

    lmp = lmp_of(wrapper)
    return VersionRecord(
        version_id=info.version_id,
        name=info.name,
        kind=info.kind,
        source=info.source,
        closure=info.closure,
        uses=tuple(info.uses),
        uses_names=tuple(info.uses_names),
        model=lmp.model if lmp else None,
        api_params=redact_value(dict(lmp.api_params if lmp else {})),
        bound_globals=dict(info.bound_globals),
        packages=dict(info.packages),
        created_at=time.time(),
    )


def snapshot(wrapper: Any) -> dict[str, Any]:
    info = getattr(wrapper, "__ell_version__", None)
    if info is None or not info.mutable_globals:
        return {}
    from ..versioning import snapshot_globals

    return snapshot_globals(wrapper)


def record(inv: InvocationRecord) -> None:
    store = config.store
    if store is None:
        return
    try:
        inv = _redact(inv)  # before the store serialises anything (ell.redaction)
    except Exception as exc:  # a failing detector must not let a secret through: drop the record
        warn_once("redaction", f"could not redact a call of {inv.lmp_name} ({type(exc).__name__}: {exc}); "
                               "it is not recorded")
        return
    try:
        store.record_invocation(inv)
    except Exception as exc:  # pragma: no cover - defensive
        warn_once("record_invocation", f"could not record an invocation: {exc}")


def _redact(inv: InvocationRecord) -> InvocationRecord:
    global _redact
    from ..redaction import redact_invocation

    _redact = redact_invocation  # imported on first use; later calls go straight to it
    return redact_invocation(inv)


class PlainCall:
    """Records one call of a tracked plain function (a tool, `ell.function`), as a context manager:

        with PlainCall(wrapper, args, kwargs) as call:
            call.result = fn(*args, **kwargs)

    It versions the function, makes the call the parent of anything called inside, and records
    the invocation (with the error, if the body raised) when the block ends.
    """

    def __init__(self, wrapper: Any, args: tuple[Any, ...], kwargs: dict[str, Any], *,
                 api_params: Optional[dict[str, Any]] = None, extra_origins: tuple[Any, ...] = ()) -> None:
        self.wrapper, self.args, self.kwargs = wrapper, args, kwargs
        self.api_params, self.extra_origins = api_params or {}, extra_origins
        self.id = new_invocation_id()
        self.version: Any = None
        self.result: Any = None

    def __enter__(self) -> "PlainCall":
        if not self.wrapper.exempt_from_tracking:
            try:
                self.version = ensure_version(self.wrapper)
            except Exception as exc:  # versioning must never fail the call
                warn_once("version", f"versioning {self.wrapper.__qualname__} failed: {exc}")
        self.parent = current_invocation.get()
        self.token = current_invocation.set(self.id)
        self.kept = recording.begin(self.parent)
        # Tools are `execute_tool` spans; other tracked functions make none (their calls still nest).
        self.span = otel.begin_tool(self) if otel.active and self.wrapper.kind == "tool" else None
        self.started, self.t0 = time.time(), time.perf_counter()
        return self

    def __exit__(self, exc_type: Any, error: Optional[BaseException], tb: Any) -> None:
        current_invocation.reset(self.token)
        ids = None
        if self.span is not None:
            self.span.detach()
            try:
                ids = self.span.end(self.result, error)
            except Exception as exc:  # tracing never fails a call
                warn_once("otel-end", f"could not end a span: {exc}")
        if self.version is None or config.store is None or not recording.keeps(self.kept, error):
            return
        from ..types.lstr import origin_ids

        try:  # a tracking failure must not replace the call's own result or exception
            record(InvocationRecord(
                id=self.id, version_id=self.version.version_id, lmp_name=self.version.name,
                args=self.wrapper.binder.bind(self.args, self.kwargs),
                outputs=[] if error else [self.result], api_params=dict(self.api_params),
                latency_ms=(time.perf_counter() - self.t0) * 1000.0, started_at=self.started, parent_id=self.parent,
                origin_ids=tuple(sorted(origin_ids((*self.args, *self.kwargs.values(), *self.extra_origins)))),
                bound_globals=snapshot(self.wrapper),
                error=None if error is None else error_text(error),
                trace_id=format(ids[0], "032x") if ids else None, span_id=format(ids[1], "016x") if ids else None,
                recording=recording.label(),
            ))
        except Exception as exc:
            warn_once("invocation", f"could not record a call of {self.version.name}: {exc}")
