"""ell-ai's model registration helpers: route model names to a client (`register`)."""

from __future__ import annotations

from . import ollama, openai

__all__ = ["ollama", "openai"]
