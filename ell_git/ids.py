"""Short invocation ids that tell calls apart, and finding an invocation by one.

An invocation id is ``inv-`` + 16 hex of the recording process + a 16-hex counter
(`ell.lmp.tracking.new_invocation_id`). Its first hex digits are the same for every call of a
process, so a short form shows a little of the process and the counter: ``c449-22fa``.
"""

from __future__ import annotations

import re

_FULL = re.compile(r"inv-([0-9a-f]{16})([0-9a-f]{16})")
_SHORT = re.compile(r"(?:inv-)?([0-9a-f]{4})-([0-9a-f]{1,16})")


def short_invocation_id(inv_id: str) -> str | None:
    """``c449-22fa`` for ``inv-c449…000022fa``; None for an id of another shape."""
    m = _FULL.fullmatch(inv_id)
    if not m:
        return None
    return f"{m.group(1)[:4]}-{m.group(2).lstrip('0') or '0'}"


def short_id_like(text: str) -> str | None:
    """A SQL LIKE pattern for the invocation ids a short id (``c449-22fa``) stands for, or None
    when `text` is not one. Ids hold only hex, so the pattern needs no escaping."""
    m = _SHORT.fullmatch(text.strip().lower())
    if not m:
        return None
    return f"inv-{m.group(1)}{'_' * 12}{m.group(2).zfill(16)}"


def matches_short_id(inv_id: str, text: str) -> bool:
    """Whether `inv_id` is one of the ids the short id `text` stands for."""
    m = _SHORT.fullmatch(text.strip().lower())
    full = _FULL.fullmatch(inv_id)
    return bool(m and full and full.group(1).startswith(m.group(1)) and full.group(2) == m.group(2).zfill(16))
