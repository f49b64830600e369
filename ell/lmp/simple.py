"""`ell.lmp.simple`: ell-ai's module path for the `@ell.simple` decorator (defined in `decorators`)."""

from __future__ import annotations

from .decorators import simple

__all__ = ["simple"]
