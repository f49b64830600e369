"""`from ell.stores.sql import SQLiteStore` as in ell-ai programs: here it opens the git store.

ell-git keeps history in git, not SQLite; `SQLiteStore(path)` is accepted so that
`ell.init(store=SQLiteStore("./logdir"))` runs unchanged and records into the repository at (or
above) that path, exactly like `ell.init(store="./logdir")`.
"""

from __future__ import annotations

import os
from typing import Any


def SQLiteStore(db_dir: str | os.PathLike[str], *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - ell-ai's name
    """The git store for the repository at or above `db_dir` (ell-ai's SQLite store, replaced)."""
    from ell_git import open_store

    from ..startup import complete_text

    return open_store(db_dir, complete=complete_text)


def PostgresStore(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - ell-ai's name
    raise NotImplementedError(
        "ell-git keeps history in git, not Postgres: use ell.init(store='path/to/repo'), and share it "
        "with `ell push` / `ell pull` through any git remote"
    )
