"""ell_git: the git store for ell. Versions are commits, invocations are JSONL in git.

Writing: `GitStore` (what ``ell.init(store=path)`` builds through `open_store`). Reading:
`Reader`. Layout and plain-git commands: see ``ell_git/README.md``.
"""

from __future__ import annotations

from .layout import NewerFormatError as NewerFormatError
from .reader import NotFound as NotFound
from .reader import Reader as Reader
from .refs import escape as escape_name
from .refs import unescape as unescape_name
from .store import GitStore as GitStore
from .store import open_store as open_store
from .views import (
    InvocationDetail as InvocationDetail,
    InvocationPage as InvocationPage,
    InvocationRow as InvocationRow,
    Lmp as Lmp,
    SeriesPoint as SeriesPoint,
    Stats as Stats,
    Version as Version,
    VersionDiff as VersionDiff,
    VersionSource as VersionSource,
)

__all__ = [
    "GitStore",
    "InvocationDetail",
    "InvocationPage",
    "InvocationRow",
    "Lmp",
    "NewerFormatError",
    "NotFound",
    "Reader",
    "SeriesPoint",
    "Stats",
    "Version",
    "VersionDiff",
    "VersionSource",
    "escape_name",
    "open_store",
    "unescape_name",
]
