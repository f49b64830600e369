"""Warnings about tracking problems, once per kind: the user's call goes on.

A leaf module (only the standard library), so that redaction, OpenTelemetry and the call path can
all warn without importing each other.
"""

from __future__ import annotations

import threading
import warnings

_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(key: str, message: str) -> None:
    """Warn about a tracking problem once per kind of problem; the user's call goes on."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(f"ell: {message}", RuntimeWarning, stacklevel=3)
