"""Secrets in Python source: what versions record (``source.py``, ``closure.py``, labelers).

A string literal is hidden whole when the name it is bound to is a secret name: an assignment
(``DB_PASSWORD = '...'``, ``self.api_key = '...'``, ``token: str = '...'``, ``env['API_KEY'] = '...'``),
a keyword or default argument (``api_key='...'``), a dict entry (``{'Authorization': '...'}``) or an
element of a container bound to such a name (``API_KEYS = ('...', '...')``). The literal becomes
``'<redacted:DB_PASSWORD>'``, so the source stays valid Python and the same whatever the secret
was: rotating a key does not make a new version. Then the whole text, comments and docstrings
included, goes through `redact_text` (credential formats, environment values, user rules).

Prompts are never hidden by name: a docstring or a returned f-string is bound to no name.
"""

from __future__ import annotations

import io
import tokenize
from typing import Optional

from . import names
from .policy import Policy, active, placeholder
from .text import redact_text
from .values import hides

__all__ = ["redact_source"]

_STEMS = ("pass", "secret", "cred", "cookie", "auth", "token", "key", "session")
_OPEN, _CLOSE = "([{", ")]}"
_SKIP = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})
Owner = tuple[Optional[str], Optional[int]]  # (name, strength)


def redact_source(text: str, policy: Optional[Policy] = None) -> str:
    """`text` with secret literals and secret values replaced (the same object when none)."""
    p = active(policy)
    if not p.enabled or not text:
        return text
    lowered = text.lower()
    if any(s in lowered for s in _STEMS) or any(w.lower() in lowered for w in p.extra_names):
        text = _by_name(text, p)
    return redact_text(text, p)


def _by_name(text: str, p: Policy) -> str:
    try:
        toks = [t for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type not in _SKIP]
    except (tokenize.TokenError, SyntaxError, ValueError):
        return text  # not Python (a placeholder for a function without source): text rules only
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    stack: list[Owner] = []
    last_string: Optional[bool] = None  # whether the previous STRING token was hidden (implicit concatenation)
    for i, tok in enumerate(toks):
        if tok.type == tokenize.OP and tok.string in _OPEN:
            stack.append(_owner(toks, i, stack))
        elif tok.type == tokenize.OP and tok.string in _CLOSE:
            if stack:
                stack.pop()
        if tok.type != tokenize.STRING:
            last_string = None
            continue
        prefix = tok.string[: len(tok.string) - len(tok.string.lstrip("rRbBuUfF"))].lower()
        if "f" in prefix:
            last_string = None
            continue
        if last_string is not None:  # "abc" "def": the second part goes with the first
            hidden = last_string
        else:
            label, level = _binding(toks, i, stack)
            hidden = label is not None and _whole_value(toks, i) and _hidden(tok.string, level, label, p)
            if hidden:
                quoted = placeholder(label)
                edits.append((tok.start, tok.end, ("b" if "b" in prefix else "") + repr(quoted)))
            last_string = hidden
            continue
        if hidden and edits:
            edits.append((tok.start, tok.end, ""))  # the rest of an implicitly concatenated literal
        last_string = hidden
    return _apply(text, edits) if edits else text


_ENDS_VALUE = frozenset({",", ")", "]", "}", ";"})


def _whole_value(toks: list[tokenize.TokenInfo], i: int) -> bool:
    """Whether the literal at `i` (with any literals implicitly concatenated to it) is the whole
    value, not the start of an expression (``";".join(...)``, ``"a" if x else "b"``)."""
    j = i + 1
    while j < len(toks) and toks[j].type == tokenize.STRING:
        j += 1
    if j >= len(toks):
        return True
    nxt = toks[j]
    return nxt.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or (nxt.type == tokenize.OP and nxt.string in _ENDS_VALUE)


def _hidden(token: str, level: Optional[int], label: str, p: Policy) -> bool:
    from ..versioning.literals import decode_string

    try:
        value = decode_string(token)
    except (ValueError, KeyError, UnicodeError):
        return False
    if isinstance(value, bytes):
        value = value.decode("latin-1")  # judged as text: under a weak name only random bytes are hidden
    if hides(level, value, label, p):
        p.known.remember(value, label)  # a prompt or an error that quotes it is redacted too
        return True
    return False


def _strength(name: Optional[str]) -> Owner:
    if name is None:
        return None, None
    level = names.strength(name)
    return (name, level) if level is not None else (None, None)


def _decode_key(token: str) -> Optional[str]:
    from ..versioning.literals import decode_string

    try:
        value = decode_string(token)
    except (ValueError, KeyError, UnicodeError):
        return None
    return value if isinstance(value, str) else None


def _assigned_name(toks: list[tokenize.TokenInfo], eq: int) -> Optional[str]:
    """The name an ``=`` at index `eq` binds: ``NAME =``, ``obj.NAME =``, ``x['KEY'] =``,
    ``NAME: annotation =`` (a keyword or default argument is ``NAME =`` too)."""
    before = toks[eq - 1] if eq > 0 else None
    if before is None:
        return None
    if before.type == tokenize.NAME:
        j = eq - 1  # annotated assignment: walk back to the statement's start
        while j > 0 and toks[j - 1].type != tokenize.NEWLINE and not (toks[j - 1].type == tokenize.OP and toks[j - 1].string in "(,["):
            j -= 1
        if j + 1 < eq - 1 and toks[j].type == tokenize.NAME and toks[j + 1].string == ":":
            return toks[j].string
        return before.string
    if before.string == "]" and eq >= 3 and toks[eq - 2].type == tokenize.STRING and toks[eq - 3].string == "[":
        return _decode_key(toks[eq - 2].string)
    return None


def _binding(toks: list[tokenize.TokenInfo], i: int, stack: list[Owner]) -> Owner:
    """(name, strength) a value starting at token `i` is bound to, or (None, None)."""
    prev = toks[i - 1] if i > 0 else None
    nxt = toks[i + 1] if i + 1 < len(toks) else None
    if nxt is not None and nxt.type == tokenize.OP and nxt.string == ":" and stack and prev is not None \
            and prev.string in "{,":
        return None, None  # a dict key: names stay visible
    if prev is None or prev.type != tokenize.OP:
        return None, None
    if prev.string == "=":
        return _strength(_assigned_name(toks, i - 1))
    if prev.string == ":" and i >= 2 and toks[i - 2].type == tokenize.STRING and stack:
        key = _strength(_decode_key(toks[i - 2].string))
        outer = stack[-1]
        if key[1] is not None and (outer[1] is None or key[1] >= outer[1]):
            return key
        return outer
    if prev.string in "([{," and stack:
        return stack[-1]
    return None, None


def _owner(toks: list[tokenize.TokenInfo], i: int, stack: list[Owner]) -> Owner:
    """The name a bracket opened at `i` is bound to (its elements inherit it): an assignment or a
    keyword (``API_KEYS = (...)``), or an enclosing container's. Not a call or a subscript, and
    not a dict entry's value (``{"APIKeys": (".api_keys", "APIKeys")}`` is a table of names)."""
    prev = toks[i - 1] if i > 0 else None
    if prev is None or prev.type != tokenize.OP or prev.string == ":":
        return None, None
    return _binding(toks, i, stack)


def _apply(text: str, edits: list[tuple[tuple[int, int], tuple[int, int], str]]) -> str:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(pos: tuple[int, int]) -> int:
        return starts[pos[0] - 1] + pos[1]

    out, at = [], 0
    for start, end, replacement in sorted(edits, key=lambda e: e[0]):
        a, b = offset(start), offset(end)
        if replacement == "":  # drop the concatenated part and the space before it
            while out and out[-1] == "":
                out.pop()
            out.append(text[at:a].rstrip(" \t") if text[at:a].strip() == "" else text[at:a])
        else:
            out.append(text[at:a])
        out.append(replacement)
        at = b
    out.append(text[at:])
    return "".join(out)
