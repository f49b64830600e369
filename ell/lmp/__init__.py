"""Language model programs: the decorators and the machinery of one call."""

from __future__ import annotations

from .decorators import DEFAULT_SYSTEM_PROMPT, lm
from .lmp import LMP, AsyncLMP

# ell-ai's layout: one module per decorator (`from ell.lmp.complex import complex` works). The
# modules are imported here, before the names are bound, so that importing one later cannot
# replace the `ell.lmp.complex` function attribute with the module.
from .complex import complex
from .simple import simple
from .tool import Tool, tool

__all__ = ["DEFAULT_SYSTEM_PROMPT", "LMP", "AsyncLMP", "Tool", "complex", "lm", "simple", "tool"]
