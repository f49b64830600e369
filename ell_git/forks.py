"""What a forked child of the caller must not inherit: the parent's threads, journal and writer
process. Objects registered here get their ``_after_fork()`` called in the child, right after the
fork (their own errors are swallowed: a fork must never fail because of tracking)."""

from __future__ import annotations

import os
import weakref
from typing import Any

_live: "weakref.WeakSet[Any]" = weakref.WeakSet()


def reset_in_children(obj: Any) -> None:
    """Call ``obj._after_fork()`` in every forked child while `obj` lives."""
    _live.add(obj)


def _after_fork_in_child() -> None:
    for obj in list(_live):
        try:
            obj._after_fork()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
