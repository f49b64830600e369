"""Secrets inside free text: credential formats, environment values and the user's own rules.

Free text is prompts, outputs, error messages, commit messages: no names to go by, so only values
are recognised. Each occurrence becomes its placeholder; the rest of the text is kept as it was.
"""

from __future__ import annotations

from typing import Iterable, Optional

from . import formats
from .formats import Hit
from .policy import PLACEHOLDER_PREFIX, Policy, active, placeholder

__all__ = ["find_in_text", "redact_text", "maybe_in_text"]

_FORMAT_LABELS = frozenset(formats.LABELS)


def maybe_in_text(text: str, policy: Optional[Policy] = None) -> bool:
    """Fast; False means `find_in_text` finds nothing (True may still find nothing)."""
    p = active(policy)
    if p.has_user_rules:
        return True
    if formats.maybe(text):
        return True
    for value, _ in p.env.values():
        if value in text:
            return True
    for value, _ in p.known.values():
        if value in text:
            return True
    return False


def find_in_text(text: str, policy: Optional[Policy] = None) -> list[Hit]:
    """Every secret in `text`, left to right, without overlaps (the earliest, then longest, wins)."""
    p = active(policy)
    if not p.enabled or not text:
        return []
    hits: list[Hit] = list(formats.find(text))
    for value, name in (*p.env.values(), *p.known.values()):
        if value in p.allowed_values:
            continue
        start = text.find(value)
        while start >= 0:
            hits.append(Hit(start, start + len(value), name))
            start = text.find(value, start + len(value))
    for label, pattern in p.patterns:
        for m in pattern.finditer(text):
            start, end = m.span(1) if m.re.groups and m.group(1) is not None else m.span()
            if end > start:
                hits.append(Hit(start, end, label))
    for rule in p.callables:
        hits.extend(_callable_hits(rule, text))
    if p.allowed_values:
        hits = [h for h in hits if text[h.start:h.end] not in p.allowed_values]
    return _non_overlapping(hits, text)


def _callable_hits(rule: object, text: str) -> Iterable[Hit]:
    try:
        found = list(rule(text) or ())  # type: ignore[operator]
    except Exception as exc:  # a user's rule must not lose a record: say it once, keep going
        from ..warn import warn_once

        warn_once(f"redact-rule-{id(rule)}", f"redaction rule {rule!r} raised {type(exc).__name__}: {exc}")
        return
    for item in found:
        secret, label = (item, "custom") if isinstance(item, str) else (str(item[0]), str(item[1]))
        if not secret:
            continue
        start = text.find(secret)
        while start >= 0:
            yield Hit(start, start + len(secret), label)
            start = text.find(secret, start + len(secret))


def _non_overlapping(hits: list[Hit], text: str) -> list[Hit]:
    out: list[Hit] = []
    end = -1
    # Same span: a name (an environment variable, a known value) says more than a format's label.
    for h in sorted(hits, key=lambda h: (h.start, -(h.end - h.start), h.label in _FORMAT_LABELS)):
        if h.start >= end and not _inside_placeholder(text, h.start):
            out.append(h)
            end = h.end
    return out


def _inside_placeholder(text: str, at: int) -> bool:
    """A hit inside ``<redacted:...>`` is the placeholder's own text (already redacted)."""
    open_at = text.rfind(PLACEHOLDER_PREFIX, max(0, at - 80), at + 1)
    return open_at >= 0 and text.find(">", open_at) >= at


def redact_text(text: str, policy: Optional[Policy] = None) -> str:
    """`text` with every secret replaced by its placeholder (the same object when there is none)."""
    p = active(policy)
    if not p.enabled or not text or not maybe_in_text(text, p):
        return text
    hits = find_in_text(text, p)
    if not hits:
        return text
    parts, pos = [], 0
    for h in hits:
        parts.append(text[pos:h.start])
        parts.append(placeholder(h.label))
        pos = h.end
    parts.append(text[pos:])
    return "".join(parts)
