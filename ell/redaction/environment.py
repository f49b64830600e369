"""Values of secret-looking environment variables, hidden wherever they appear.

A program that reads ``OPENAI_API_KEY`` or ``DB_PASSWORD`` from the environment may format it into a
prompt, a header or an error; every occurrence becomes ``<redacted:DB_PASSWORD>``. The variables are
read once, then re-read when the environment changes size, when a secret variable gets a new value
(an identity check per secret variable) or, at most once a second, to catch anything else: a length
and a few dict lookups per call, not a scan of the environment.

A variable counts when its name is a secret name (`names`) and its value could only be that secret:
at least 8 characters, not a plain word, number, boolean or path.
"""

from __future__ import annotations

import os
import threading
import time

from . import names
from .formats import looks_random

__all__ = ["EnvSecrets", "KnownSecrets", "worth_remembering"]

MIN_LENGTH = 8
_REFRESH_SECONDS = 1.0


class EnvSecrets:
    """The secret values of `os.environ` as ``(value, variable name)``, longest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[tuple[str, str], ...] = ()
        self._size = -1
        self._checked = 0.0
        # (raw key, raw value object) of each secret variable: `os.environ[k] = v` stores a new
        # object, so an identity check sees a rotated value at once, for a dict lookup.
        self._watch: tuple[tuple[object, object], ...] = ()
        self._calls = 0
        self.allowed_values: frozenset[str] = frozenset()

    def values(self) -> tuple[tuple[str, str], ...]:
        data = _RAW
        self._calls += 1  # the clock is read every 64th call: a new variable changes the size anyway
        if len(data) != self._size or (not self._calls & 63 and time.monotonic() - self._checked > _REFRESH_SECONDS):
            self._refresh()
        else:
            for key, value in self._watch:
                if data.get(key) is not value:
                    self._refresh()
                    break
        return self._values

    def invalidate(self) -> None:
        self._size = -1

    def _refresh(self) -> None:
        with self._lock:
            data = _RAW
            size = len(data)
            found: dict[str, str] = {}
            watch = []
            for name, value in list(os.environ.items()):
                value = value.strip()
                if value not in self.allowed_values and _is_secret(name, value):
                    found.setdefault(value, name)
                    key = _raw_key(name)
                    watch.append((key, data.get(key)))
            self._values = tuple(sorted(((v, n) for v, n in found.items()), key=lambda p: (-len(p[0]), p[1])))
            self._watch = tuple(watch)
            self._size, self._checked = size, time.monotonic()


# os.environ keeps its data in a dict of encoded keys and values; reading its length and items
# directly costs a few tens of ns (`len(os.environ)` goes through Python code).
_RAW: dict = getattr(os.environ, "_data", None) or {}


def _raw_key(name: str) -> object:
    encode = getattr(os.environ, "encodekey", None)
    try:
        return encode(name) if encode is not None else name
    except Exception:
        return name


def _is_secret(name: str, value: str) -> bool:
    level = names.strength(name)
    if level is None:
        return False
    v = value
    if len(v) < MIN_LENGTH:
        return False
    if v.isdigit() or (v.isalpha() and v.islower()) or v.lower() in ("true", "false", "none", "null"):
        return False
    if v.startswith(("/", "~", "./", "http://", "https://")) or "://" in v and "@" not in v:
        return False  # a path or a URL without credentials: where the secret is, not the secret
    return level == names.STRONG or looks_random(v)


class KnownSecrets:
    """Values this process has hidden by their name (``DB_PASSWORD = "..."`` in a closure, an
    ``api_key=`` argument): hidden too wherever else they appear (a prompt, an error message)."""

    LIMIT = 10_000  # a bound on memory: oldest first out

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_value: dict[str, str] = {}
        self._values: tuple[tuple[str, str], ...] = ()

    def remember(self, value: str, label: str) -> None:
        value = value.strip()
        if value in self._by_value or not worth_remembering(value):
            return
        with self._lock:
            if len(self._by_value) >= self.LIMIT:
                self._by_value.pop(next(iter(self._by_value)))
            self._by_value[value] = label
            self._values = tuple(sorted(self._by_value.items(), key=lambda p: (-len(p[0]), p[1])))

    def values(self) -> tuple[tuple[str, str], ...]:
        return self._values


def worth_remembering(value: str) -> bool:
    """Distinctive enough to be looked for in other text without hiding ordinary words: at least 12
    characters, or 8 with letters and digits mixed (``hunter2-xyz``; not ``boolean?``, ``include``)."""
    if len(value) < MIN_LENGTH or value.isdigit() or (value.isalpha() and value.islower()):
        return False
    if len(value) >= 12:
        return True
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
