"""`ell.types._lstr`: ell-ai's module path for `_lstr` (ours is `ell.types.lstr.lstr`)."""

from __future__ import annotations

from .lstr import _lstr, lstr

__all__ = ["_lstr", "lstr"]
