"""ell_git: the git store for ell. Versions are commits, invocations are JSONL in git.

Writing: `GitStore` (what ``ell.init(store=path)`` builds through `open_store`). Reading:
`Reader`. Errors: `EllGitError` and its typed subclasses in `ell_git.errors`. Layout and plain-git
commands: see ``ell_git/README.md``.

Names are imported on first use: git hooks and `ell_git.sync` load in milliseconds instead of
pulling in the store (and with it `ell`, openai and pydantic).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "GitStore": ".store",
    "open_store": ".store",
    "Reader": ".reader",
    "EllGitError": ".errors",
    "NotFound": ".errors",
    "NewerFormatError": ".errors",
    "escape_name": (".refs", "escape"),
    "unescape_name": (".refs", "unescape"),
    **{name: ".views" for name in ("InvocationDetail", "InvocationPage", "InvocationRow", "Lmp", "Problems",
                                     "SeriesPoint", "Stats", "Version", "VersionDiff", "VersionSource")},
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'ell_git' has no attribute {name!r}")
    module, attr = (target, name) if isinstance(target, str) else target
    value = getattr(importlib.import_module(module, __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for editors and type checkers
    from .errors import EllGitError, NewerFormatError, NotFound
    from .reader import Reader
    from .refs import escape as escape_name
    from .refs import unescape as unescape_name
    from .store import GitStore, open_store
    from .views import (InvocationDetail, InvocationPage, InvocationRow, Lmp, Problems, SeriesPoint, Stats,
                        Version, VersionDiff, VersionSource)
