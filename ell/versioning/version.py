"""`compute_version`: once per tracked function, cached on it, thread-safe, never raising.

Computing a version captures the closures of the function and of every LMP it reaches through
uses edges that has no version yet, then assigns ids callees-first over the strongly connected
components of that uses graph (`hashing.py`), so an LMP gets the same id whether it is versioned
on its own, as a callee, or as part of a cycle entered anywhere.
"""

from __future__ import annotations

import threading
import types
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..types.lmp import lmp_of
from .closure import Capture, canonical_lmp, capture, is_lmp, unwrap_function
from .globals import Snapshot
from .hashing import cycle_digest, strongly_connected, version_id
from .naming import qualified_name

__all__ = ["VersionInfo", "compute_version", "snapshot_globals"]


@dataclass(frozen=True)
class VersionInfo:
    """The version of one tracked function (what `ell.records.VersionRecord` is built from)."""

    version_id: str  # "lmp-<16 hex>", see ell.versioning.hashing
    name: str  # module.qualname
    kind: str  # "simple" | "complex" | "tool" | "function"
    source: str  # the function as written, decorators included
    closure: str  # the normalised closure text that was hashed
    uses: tuple[str, ...] = ()  # version ids of used LMPs, sorted
    uses_names: tuple[str, ...] = ()  # their qualified names, in the same order
    mutable_globals: tuple[str, ...] = ()  # names snapshotted on every call
    bound_globals: dict[str, Any] = field(default_factory=dict)  # their JSON-safe values at definition
    packages: dict[str, str] = field(default_factory=dict)  # installed distribution -> version
    warnings: tuple[str, ...] = ()


# One lock for all versioning: it is taken once per function (the cached fast path does not take
# it), and a single re-entrant lock cannot deadlock on LMPs that reach each other.
_lock = threading.RLock()
_warned: set[str] = set()
_ATTR = "__ell_version__"
_SNAP = "__ell_snapshot__"


def _cached(obj: Any) -> VersionInfo | None:
    try:
        info = vars(obj).get(_ATTR)  # own attribute only: functools.wraps copies __dict__ to outer wrappers
    except TypeError:
        return _fallback_cache.get(id(obj), (None, None))[1]
    return info if isinstance(info, VersionInfo) else None


_fallback_cache: dict[int, tuple[Any, VersionInfo]] = {}  # objects without __dict__ (kept alive here)


def _store(obj: Any, info: VersionInfo, snapshot: Snapshot, uses: tuple[Any, ...]) -> None:
    try:
        obj.__ell_snapshot__ = snapshot
        obj.__ell_hash__ = info.version_id
        obj.__ell_uses__ = uses
        obj.__ell_version__ = info  # last: other threads take its presence to mean "all set"
    except (AttributeError, TypeError):
        _fallback_cache[id(obj)] = (obj, info)


def _kind(obj: Any) -> str:
    lmp = lmp_of(obj)
    return lmp.kind if lmp is not None else "function"


def _name(obj: Any) -> str:
    lmp = lmp_of(obj)
    return lmp.name if lmp is not None else qualified_name(unwrap_function(obj))


def compute_version(wrapper: Any) -> VersionInfo:
    """The version of a tracked function (an LMP wrapper, or any function), computed once.

    Sets ``__ell_hash__`` (the id) and ``__ell_uses__`` (the used wrappers, ordered by name) on it.
    Never raises: on an internal failure the version is built from what could be captured, with a
    warning (once per function).
    """
    if isinstance(wrapper, types.MethodType):  # `agent.speak`: version the function, not the bound method
        wrapper = wrapper.__func__
    info = _cached(wrapper)
    if info is not None:
        return info
    target = canonical_lmp(wrapper) if is_lmp(wrapper) else wrapper
    with _lock:
        info = _cached(target)
        if info is None:
            failure: Exception | None = None
            try:
                _version_graph(target)
            except Exception as exc:  # versioning must never fail the user's call
                failure = exc
            info = _cached(target) or _failed(target, failure or RuntimeError("no version was computed"))
        if target is not wrapper:
            _store(wrapper, info, _snapshot_of(target), getattr(target, "__ell_uses__", ()))
        return info


def _snapshot_of(obj: Any) -> Snapshot:
    snap = vars(obj).get(_SNAP) if hasattr(obj, "__dict__") else None
    return snap if isinstance(snap, Snapshot) else Snapshot(())


def _version_graph(root: Any) -> None:
    """Capture every unversioned LMP reachable from `root`, then assign ids callees-first."""
    captures: dict[int, Capture] = {}
    objects: dict[int, Any] = {}
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in captures or _cached(obj) is not None:
            continue
        try:
            with warnings.catch_warnings():
                # Re-parsing the user's source repeats the compiler's warnings (e.g. "\d" is an
                # invalid escape since 3.12): said once at import already, and fatal under -W error.
                warnings.simplefilter("ignore", SyntaxWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                cap = capture(obj, _kind(obj), _name(obj))
        except Exception as exc:  # this one LMP gets a placeholder version; the others go on
            _failed(obj, exc)
            continue
        captures[id(obj)] = cap
        objects[id(obj)] = obj
        todo.extend(u for u in cap.uses if id(u) not in captures)
    edges = {k: [id(u) for u in c.uses if id(u) in captures] for k, c in captures.items()}
    order = sorted(captures, key=lambda k: (captures[k].name, captures[k].closure))  # deterministic roots
    for component in strongly_connected(order, edges):
        members = set(component)

        def outside(c: Capture) -> list[str]:
            return [_cached(u).version_id for u in c.uses if id(u) not in members]  # type: ignore[union-attr]

        cycle = None
        if len(component) > 1:
            cycle = cycle_digest((captures[k].name, captures[k].closure, outside(captures[k])) for k in component)
        ids = {k: version_id(captures[k].name, captures[k].closure, outside(captures[k]), cycle) for k in component}
        for k in component:
            _finish(objects[k], captures[k], ids)


def _finish(obj: Any, cap: Capture, ids: dict[int, str]) -> None:
    used = [(ids[id(u)] if id(u) in ids else _cached(u).version_id, _name(u), u) for u in cap.uses]  # type: ignore[union-attr]
    used.sort(key=lambda t: (t[0], t[1]))
    vid = ids[id(obj)]
    info = VersionInfo(
        version_id=vid,
        name=cap.name,
        kind=cap.kind,
        source=cap.source,
        closure=cap.closure,
        uses=tuple(u[0] for u in used),
        uses_names=tuple(u[1] for u in used),
        mutable_globals=cap.mutable_globals,
        bound_globals=cap.bound_globals,
        packages=cap.packages,
        warnings=cap.warnings,
    )
    for message in cap.warnings:
        _warn_once(cap.name, message)
    by_name = sorted(used, key=lambda t: (t[1], t[0]))  # same-named LMPs (from a factory) by id
    _store(obj, info, cap.snapshot, tuple(u[2] for u in by_name))


def _failed(obj: Any, exc: BaseException) -> VersionInfo:
    """A version for a function whose capture failed: stable, from its name and whatever source we get."""
    from ..redaction import redact_source

    name = _safe(lambda: _name(obj), "<unknown>")
    source = _safe(lambda: redact_source(_inspect_source(obj)), "")
    reason = f"{type(exc).__name__}: {exc}"
    closure = f"# closure unavailable: versioning failed ({type(exc).__name__})\n{source}"
    info = VersionInfo(
        version_id=version_id(name, closure, ()),
        name=name,
        kind=_safe(lambda: _kind(obj), "function"),
        source=source,
        closure=closure,
        warnings=(f"versioning failed: {reason}",),
    )
    _warn_once(name, f"versioning failed ({reason}); the version is a placeholder from its source")
    _store(obj, info, Snapshot(()), ())
    return info


def _inspect_source(obj: Any) -> str:
    import inspect

    return inspect.getsource(unwrap_function(getattr(obj, "__wrapped__", obj)))


def _safe(fn: Any, default: Any) -> Any:
    try:
        return fn()
    except Exception:
        return default


def _warn_once(name: str, message: str) -> None:
    key = f"{name}\0{message}"
    if key in _warned:
        return
    _warned.add(key)
    warnings.warn(f"ell versioning of {name}: {message}", RuntimeWarning, stacklevel=4)


def snapshot_globals(wrapper: Any) -> dict[str, Any]:
    """Current values of the function's mutable globals, for one call (cheap: see globals.py)."""
    try:
        if isinstance(wrapper, types.MethodType):
            wrapper = wrapper.__func__
        snap = vars(wrapper).get(_SNAP)
        if snap is None:
            compute_version(wrapper)
            snap = vars(wrapper).get(_SNAP)
        return snap.take() if snap is not None else {}
    except Exception:  # never fail a call over a snapshot
        return {}
