"""String and constant literals in one canonical spelling.

Two jobs: decode a string literal as written (any prefix, quote or escape) into its value, and
render a value back as Python source in exactly one way. The rendering is ours, not `repr`:
`repr` of a string depends on the interpreter's Unicode tables (a character new in Python 3.13's
Unicode is escaped by 3.11), and of a frozenset on `PYTHONHASHSEED`. Only ASCII control
characters, backslashes, quotes and surrogates are escaped here; every other character is kept.
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from typing import Any

__all__ = ["decode_string", "render_bytes", "render_str", "render_text_part", "render_value", "is_constant"]

_LITERAL = re.compile(r"([a-zA-Z]*)('''|\"\"\"|'|\")", re.S)
_ESCAPE = re.compile(
    r"\\(\n|[\\'\"abfnrtv]|[0-7]{1,3}|x[0-9a-fA-F]{2}|N\{[^}]*\}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})"
)
_SIMPLE = {"\n": "", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f", "n": "\n",
           "r": "\r", "t": "\t", "v": "\v"}  # fmt: skip


def split_literal(token: str) -> tuple[str, str, str]:
    """(lower-case prefix, quote, body) of a string token such as ``rb'''x'''``."""
    m = _LITERAL.match(token)
    if m is None or not token.endswith(m.group(2)) or len(token) < m.end() + len(m.group(2)):
        raise ValueError(f"not a string literal: {token[:40]!r}")
    quote = m.group(2)
    return m.group(1).lower(), quote, token[m.end() : len(token) - len(quote)]


def decode_body(body: str, *, raw: bool, is_bytes: bool) -> str:
    """The value of a literal's body (as a str; bytes literals use only code points < 256)."""
    # The tokenizer reads source with universal newlines: a literal CRLF inside a string is "\n".
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    if raw or "\\" not in body:
        return body

    def one(m: re.Match[str]) -> str:
        e = m.group(1)
        c = e[0]
        if c in _SIMPLE and len(e) == 1:
            return _SIMPLE[c]
        if c in "01234567":
            return chr(int(e, 8) & (0xFF if is_bytes else 0x1FF))
        if c == "x":
            return chr(int(e[1:], 16))
        if is_bytes:  # \N, \u, \U are not escapes in bytes literals
            return m.group(0)
        if c == "N":
            return unicodedata.lookup(e[2:-1])
        return chr(int(e[1:], 16))

    return _ESCAPE.sub(one, body)


def decode_string(token: str) -> str | bytes:
    """The value of a (non-f) string literal token, exactly as Python would compute it."""
    prefix, _, body = split_literal(token)
    if "f" in prefix or "t" in prefix:
        raise ValueError("f-strings have no constant value")
    is_bytes = "b" in prefix
    value = decode_body(body, raw="r" in prefix, is_bytes=is_bytes)
    return value.encode("latin-1") if is_bytes else value


def _escape_char(ch: str) -> str:
    o = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    if o < 0x20 or o == 0x7F:
        return f"\\x{o:02x}"
    return f"\\u{o:04x}"  # lone surrogates


def _needs_escape(ch: str) -> bool:
    o = ord(ch)
    return o < 0x20 or o == 0x7F or 0xD800 <= o <= 0xDFFF


def is_multiline(text: str) -> bool:
    """Multi-line text (a newline inside the content) is rendered triple-quoted, to stay readable."""
    return "\n" in text.strip("\n")


def render_text_part(text: str, quote: str, *, last: bool = True) -> str:
    """Escape `text` for the inside of a literal delimited by `quote` (``'``, ``"``, or ``'''``).

    Braces are left alone, so the same function serves the text parts of f-strings. With
    ``'''`` a quote is escaped only where it could close the literal (followed by another quote,
    or at the very end when `last`), so prompts with apostrophes read naturally.
    """
    out: list[str] = []
    triple = len(quote) == 3
    q = quote[0]
    n = len(text)
    for i, ch in enumerate(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == q:
            if not triple or (i + 1 < n and text[i + 1] == q) or (i + 1 == n and last):
                out.append("\\" + ch)
            else:
                out.append(ch)
        elif ch == "\n" and triple:
            out.append("\n")
        elif _needs_escape(ch):
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    return "".join(out)


def render_str(value: str) -> str:
    """The one canonical literal for a str value."""
    if is_multiline(value):
        return "'''" + render_text_part(value, "'''") + "'''"
    quote = '"' if ("'" in value and '"' not in value) else "'"
    return quote + render_text_part(value, quote) + quote


def render_bytes(value: bytes) -> str:
    quote = '"' if (b"'" in value and b'"' not in value) else "'"
    out: list[str] = []
    for b in value:
        ch = chr(b)
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + ch)
        elif 0x20 <= b < 0x7F:
            out.append(ch)
        elif ch in "\n\r\t":
            out.append(_escape_char(ch))
        else:
            out.append(f"\\x{b:02x}")
    return "b" + quote + "".join(out) + quote


_SCALARS = (int, float, complex, str, bytes, bool, type(None), range, type(Ellipsis))


def is_constant(value: Any, _depth: int = 0) -> bool:
    """True for immutable values that enter a version by value (numbers, strings, tuples of them...)."""
    if isinstance(value, enum.Enum):
        return False  # rendered by reference to its class, see closure.py
    t = type(value)
    if t in _SCALARS or (isinstance(value, (int, float, str, bytes)) and t.__repr__ in _PLAIN_REPRS):
        return True
    if t in (tuple, frozenset) and _depth < 20 and len(value) <= 10_000:
        return all(is_constant(v, _depth + 1) for v in value)
    return False


# Subclasses of str/int (e.g. `str` enums are excluded above) render like their base when they do
# not override repr; anything with its own repr is treated as an object.
_PLAIN_REPRS = {int.__repr__, float.__repr__, str.__repr__, bytes.__repr__}


def render_value(value: Any) -> str:
    """Canonical source for a constant accepted by `is_constant`."""
    if value is None or value is True or value is False or value is Ellipsis:
        return repr(value)
    if isinstance(value, bool):
        return repr(bool(value))
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        f = float(value)
        if math.isnan(f):
            return "float('nan')"
        if math.isinf(f):
            return "float('inf')" if f > 0 else "-float('inf')"
        return repr(f)  # shortest round-trip repr: identical on every CPython since 3.1
    if isinstance(value, complex):
        return f"complex({render_value(value.real)}, {render_value(value.imag)})"
    if isinstance(value, str):
        return render_str(str(value))
    if isinstance(value, bytes):
        return render_bytes(bytes(value))
    if isinstance(value, range):
        return f"range({value.start}, {value.stop}, {value.step})"
    if isinstance(value, tuple):
        items = [render_value(v) for v in value]
        return "(" + items[0] + ",)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    if isinstance(value, frozenset):
        # Sorted by rendering: frozenset iteration order depends on PYTHONHASHSEED.
        return "frozenset({" + ", ".join(sorted(render_value(v) for v in value)) + "})" if value else "frozenset()"
    raise TypeError(f"not a constant: {type(value).__name__}")
