"""Secrets in structured data: values under secret names, and secrets inside any string.

Works on JSON-like data (dicts, lists, tuples, strings, numbers): what records are made of once
serialised. A dict key, a parameter or a variable name gives its value a *name*:

- under a `STRONG` name every non-empty string (and bytes) is hidden, also inside lists and dicts
  below it (``CREDENTIALS = {"user": ..., "pass": ...}``), except references that are not the
  secret itself (``"${DB_PASSWORD}"``, ``"<your key>"``, ``"none"``);
- under a `WEAK` name only strings that look random are hidden;
- numbers, booleans and None are never hidden (``max_tokens=100``, ``auth=False``);
- every other string goes through `redact_text` (formats, environment values, user rules).

Returns the same object when nothing changed, so callers can test ``is``.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from . import names
from .formats import looks_random
from .policy import Policy, active, is_placeholder, placeholder
from .text import redact_text

__all__ = ["redact_value", "hides", "is_reference"]

_REFERENCE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^<>]{0,80}>|\{[^{}]{0,80}\}|%\([A-Za-z_]+\)s|[*x•.]{1,64}\Z",
                        re.IGNORECASE)
_SETTINGS = frozenset({"none", "null", "true", "false", "yes", "no", "on", "off", "required", "optional",
                       "disabled", "enabled", "default", "auto", "bearer", "basic", "oauth", "oauth2", "api_key",
                       "apikey", "token", "password", "secret", "env", "environment",
                       "include", "omit", "same-origin", "string", "str", "bytes", "boolean", "none?"})
_TYPE_NAME = re.compile(r"(?:string|str|int|integer|float|number|bool|boolean|array|list|object|dict|null|none|bytes"
                        r"|any)\??\Z", re.IGNORECASE)
#: Under a secret name, these keys describe the secret (a JSON schema, a form field), not hold it.
DESCRIPTIVE_KEYS = frozenset({"type", "description", "title", "format", "pattern", "enum", "examples", "name", "label",
                              "help", "placeholder", "hint", "kind", "required", "minLength", "maxLength",
                              "min_length", "max_length", "items", "properties"})
_MAX_DEPTH = 64


_IDENTIFIER = re.compile(r"\.?[A-Za-z_][A-Za-z0-9_.\-]{0,63}\Z")


def is_reference(value: str) -> bool:
    """A value that names or describes a secret instead of being it: empty, a placeholder, a
    setting (``"bearer"``), a variable or template reference (``"${DB_PASSWORD}"``, ``"<key>"``),
    or itself a secret-looking name without digits (a header name ``"Authorization"``, a class or
    module name ``"APIKeys"``, ``".api_keys"``; ``"Password1"`` has a digit and is hidden)."""
    v = value.strip()
    if not v or is_placeholder(v) or v.lower() in _SETTINGS or _REFERENCE.fullmatch(v) is not None:
        return True
    if not any(c.isascii() and c.isalnum() for c in v):
        return True  # symbols or emoji ("🍪" under "cookie"): no credential is made of those alone
    if _TYPE_NAME.match(v):
        return True  # a type in a schema: {"password": "string?"}
    return _IDENTIFIER.match(v) is not None and not any(c.isdigit() for c in v) and names.strength(v) is not None


def hides(level: Optional[int], value: str, label: Optional[str] = None, policy: Optional[Policy] = None) -> bool:
    """Whether a string under a name of this strength is hidden whole."""
    if level is None:
        return False
    p = active(policy)
    if value in p.allowed_values or is_reference(value):
        return False
    return level == names.STRONG or looks_random(value.strip())


def redact_value(value: Any, name: Optional[str] = None, policy: Optional[Policy] = None) -> Any:
    """`value` (JSON-like data) with its secrets replaced by placeholders; the same object if none."""
    p = active(policy)
    if not p.enabled:
        return value
    level = names.strength(name) if isinstance(name, str) else None
    return _walk(value, name if level is not None else None, level, p, 0)


def _walk(value: Any, label: Optional[str], level: Optional[int], p: Policy, depth: int) -> Any:
    if isinstance(value, str):
        if level is not None and label is not None and hides(level, value, label, p):
            p.known.remember(value, label)  # the same value elsewhere (a prompt, an error) goes too
            return placeholder(label)
        return redact_text(value, p)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        changed: Optional[dict[Any, Any]] = None
        for k, v in value.items():
            own = names.strength(k) if isinstance(k, str) else None
            if own is not None and (level is None or own >= level):
                sub_label, sub_level = k, own
            elif k in DESCRIPTIVE_KEYS:
                sub_label, sub_level = None, None
            else:
                sub_label, sub_level = label, level
            nv = _walk(v, sub_label, sub_level, p, depth + 1)
            if nv is not v:
                if changed is None:
                    changed = dict(value)
                changed[k] = nv
        return value if changed is None else changed
    if isinstance(value, (list, tuple)):
        out: Optional[list[Any]] = None
        for i, v in enumerate(value):
            nv = _walk(v, label, level, p, depth + 1)
            if nv is not v:
                if out is None:
                    out = list(value)
                out[i] = nv
        if out is None:
            return value
        return tuple(out) if isinstance(value, tuple) else out
    if isinstance(value, (bytes, bytearray)):
        if level is not None and label is not None and hides(level, bytes(value).decode("latin-1"), label, p):
            return placeholder(label)
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return value
        new = redact_text(text, p)
        return value if new is text else new
    return value
