"""Versioning: every tracked function's lexical closure, normalised with libcst, content-hashed.

Public API (used by `ell.lmp` and exposed as `ell.version_of`):

- `compute_version(wrapper) -> VersionInfo`: once per function, cached on it (``__ell_version__``,
  ``__ell_hash__``, ``__ell_uses__``), thread-safe, never raises.
- `snapshot_globals(wrapper) -> dict`: the function's mutable globals now, on every call.
- `qualified_name(fn) -> str`: ``module.qualname``, with ``__main__`` mapped to the script's stem.
- `normalize(text) -> str`: the canonical text of one definition (what closures are built from).
- `VersionInfo`, and `FORMAT`: the version of the id recipe.

How a version is made: `closure.py` (what is captured), `normalize.py` (canonical text),
`sources.py` (finding source, caching parses), `globals.py` (mutable globals and packages),
`hashing.py` (the id recipe), `version.py` (caching, cycles, failures).

Only `qualified_name` is imported eagerly: decorators call it at import time of the user's module,
and importing libcst costs ~100 ms, which is paid at the first version computed instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .naming import qualified_name as qualified_name

if TYPE_CHECKING:
    from .hashing import FORMAT as FORMAT
    from .normalize import normalize as normalize
    from .version import VersionInfo as VersionInfo
    from .version import compute_version as compute_version
    from .version import snapshot_globals as snapshot_globals

__all__ = ["FORMAT", "VersionInfo", "compute_version", "normalize", "qualified_name", "snapshot_globals"]

_LAZY = {
    "FORMAT": "hashing",
    "normalize": "normalize",
    "VersionInfo": "version",
    "compute_version": "version",
    "snapshot_globals": "version",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ell.versioning' has no attribute {name!r}")
    import sys
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    # Later lookups are plain attributes. (Not `globals()`: the submodule `.globals` shadows it here.)
    setattr(sys.modules[__name__], name, value)
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
