"""Where a value comes from (user code, stdlib, an installed package) and per-call snapshots.

`module_kind` decides what is inlined (user code) and what becomes an ``import`` line (stdlib,
installed packages, ell itself). `package_version` records the installed distribution behind an
import (recorded in the version, not hashed: upgrading pydantic must not make every prompt new).

`Snapshot` reads a function's mutable globals on every call. It must cost microseconds, so it
reads module dicts and closure cells by name and copies only small lists/dicts/sets (shallow,
≤ `SHALLOW_COPY_MAX` items) so that a later ``HISTORY.append(...)`` by the user does not rewrite
what this call saw; bigger containers and other objects are passed by reference and serialised
later by the store (`ell.serialize.to_jsonable`, in the background), so in-place mutation of
those before the store writes can leak into the record. Nested containers are not copied.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
import threading
from typing import Any, Optional

__all__ = ["module_kind", "package_version", "Snapshot", "SHALLOW_COPY_MAX", "FRAMEWORK"]

#: Top-level packages that are the framework: always imported, never inlined.
FRAMEWORK = frozenset({"ell", "ell_git"})
#: Lists/dicts/sets up to this size are shallow-copied into each call's snapshot.
SHALLOW_COPY_MAX = 1000

_USER, _STDLIB, _INSTALLED, _FRAMEWORK = "user", "stdlib", "installed", "framework"


@functools.lru_cache(maxsize=None)
def _stdlib_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {os.path.realpath(p) for p in (paths.get("stdlib"), paths.get("platstdlib")) if p}
    return tuple(sorted(dirs))


_kinds: dict[str, str] = {}


def module_kind(module_name: Optional[str]) -> str:
    """"user" (inline its source), "stdlib", "installed" or "framework" (write an import line)."""
    if not module_name:
        return _USER
    kind = _kinds.get(module_name)
    if kind is not None:
        return kind
    kind = _classify(module_name)
    _kinds[module_name] = kind
    return kind


def _classify(name: str) -> str:
    top = name.split(".", 1)[0]
    if top in FRAMEWORK:
        return _FRAMEWORK
    if name == "__main__":
        return _USER
    if top in sys.stdlib_module_names or name in sys.builtin_module_names:
        return _STDLIB
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if not file:
        paths = list(getattr(module, "__path__", None) or [])  # namespace packages
        if not paths:
            return _INSTALLED if module is not None else _USER
        file = paths[0]
    parts = file.replace("\\", "/").split("/")
    if "site-packages" in parts or "dist-packages" in parts:
        return _INSTALLED
    real = os.path.realpath(file)
    if any(real.startswith(d + os.sep) for d in _stdlib_dirs()):
        return _STDLIB
    return _USER


_dist_lock = threading.Lock()
_top_to_dists: Optional[dict[str, list[str]]] = None
_versions: dict[str, Optional[tuple[str, str]]] = {}


def package_version(module_name: str) -> Optional[tuple[str, str]]:
    """(distribution, version) of the installed package providing `module_name`, if known."""
    top = module_name.split(".", 1)[0]
    if top in _versions:
        return _versions[top]
    try:
        result = _framework(top) if top in FRAMEWORK else (_by_name(top) or _by_scan(top))
    except Exception:
        result = None
    _versions[top] = result
    return result


def _framework(top: str) -> Optional[tuple[str, str]]:
    import importlib.metadata as md

    try:
        return ("ell-git", md.version("ell-git"))
    except md.PackageNotFoundError:  # a source checkout that is not installed
        version = getattr(sys.modules.get("ell"), "__version__", None)
        return ("ell-git", str(version)) if version else None


def _by_name(top: str) -> Optional[tuple[str, str]]:
    """Most distributions are named like their package (pydantic, openai): one direct lookup,
    checked against the distribution's own list of top-level packages."""
    import importlib.metadata as md

    try:
        dist = md.distribution(top)
    except md.PackageNotFoundError:
        return None
    tops = (dist.read_text("top_level.txt") or "").split()
    if not tops:
        tops = sorted({f.parts[0].removesuffix(".py") for f in (dist.files or ()) if f.parts})
    return (dist.metadata["Name"], dist.version) if top in tops else None


def _by_scan(top: str) -> Optional[tuple[str, str]]:
    """The general case (PIL -> pillow, yaml -> PyYAML): one scan of installed metadata per process."""
    import importlib.metadata as md

    global _top_to_dists
    with _dist_lock:
        if _top_to_dists is None:
            _top_to_dists = {k: sorted(v) for k, v in md.packages_distributions().items()}
    dists = _top_to_dists.get(top) or []
    return (dists[0], md.version(dists[0])) if dists else None


class _Cell:
    """Marks a snapshot source that is a closure cell rather than a module dict."""

    __slots__ = ("cell",)

    def __init__(self, cell: Any) -> None:
        self.cell = cell


_MISSING = object()


class Snapshot:
    """Reads the current values of a function's mutable globals (see the module docstring)."""

    __slots__ = ("sources",)

    def __init__(self, sources: tuple[tuple[str, Any, str], ...]) -> None:
        # (key in the snapshot, module globals dict or _Cell, name in that dict)
        self.sources = sources

    @staticmethod
    def global_source(key: str, namespace: dict[str, Any], name: str) -> tuple[str, Any, str]:
        return (key, namespace, name)

    @staticmethod
    def cell_source(key: str, cell: Any) -> tuple[str, Any, str]:
        return (key, _Cell(cell), "")

    def take(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, where, name in self.sources:
            if type(where) is _Cell:
                try:
                    value = where.cell.cell_contents
                except ValueError:  # empty cell
                    continue
            else:
                value = where.get(name, _MISSING)
                if value is _MISSING:
                    continue
            t = type(value)
            if (t is list or t is dict or t is set) and len(value) <= SHALLOW_COPY_MAX:
                value = value.copy()
            out[key] = value
        return out
