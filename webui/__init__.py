"""`ell web`: a read-only Flask + HTMX UI over an ell-git repository.

`create_app(repo_path)` builds the app; `webui.server.serve(repo_path)` runs it (what `ell web` calls).
"""

from __future__ import annotations

from .app import create_app as create_app

__all__ = ["create_app"]
