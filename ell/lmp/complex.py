"""`ell.lmp.complex`: ell-ai's module path for the `@ell.complex` decorator (defined in `decorators`)."""

from __future__ import annotations

from .decorators import complex

__all__ = ["complex"]
