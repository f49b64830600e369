"""Language model programs: the decorators and the machinery of one call."""

from __future__ import annotations

from .decorators import DEFAULT_SYSTEM_PROMPT, complex, lm, simple
from .tool import tool

__all__ = ["DEFAULT_SYSTEM_PROMPT", "complex", "lm", "simple", "tool"]
