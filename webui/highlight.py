"""Syntax highlighting with the standard library's tokenizer, split into lines for numbered views.

Tokens get short CSS classes (k keyword, kc constant, s string, sd docstring, c comment, m number,
nf/nc defined names, nd decorator, nb builtin) styled for both themes in our stylesheet, so no
inline styles are needed (the pages' CSP forbids them). Every fragment is escaped here.
"""

from __future__ import annotations

import builtins
import io
import keyword
import re
import token
import tokenize
from functools import lru_cache

from markupsafe import Markup, escape

_CONSTANTS = {"True", "False", "None"}
_BUILTINS = set(dir(builtins))


def _python_spans(source: str) -> list[tuple[int, int, int, int, str]]:
    """(start row, start col, end row, end col, css class) of every token worth colouring."""
    spans: list[tuple[int, int, int, int, str]] = []
    prev_name, prev_significant = "", token.NEWLINE
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            cls = ""
            if tok.type == token.NAME:
                if tok.string in _CONSTANTS:
                    cls = "kc"
                elif keyword.iskeyword(tok.string) or keyword.issoftkeyword(tok.string):
                    cls = "k"
                elif prev_name in ("def", "class"):
                    cls = "nf" if prev_name == "def" else "nc"
                elif prev_significant == token.OP and prev_name == "@":
                    cls = "nd"
                elif tok.string in _BUILTINS:
                    cls = "nb"
            elif tok.type == token.STRING or tok.type in _FSTRING_TYPES:
                cls = "sd" if prev_significant in (token.INDENT, token.NEWLINE) and tok.type == token.STRING else "s"
            elif tok.type == token.COMMENT:
                cls = "c"
            elif tok.type == token.NUMBER:
                cls = "m"
            if cls:
                spans.append((*tok.start, *tok.end, cls))
            if tok.type not in (token.NL, token.COMMENT):
                prev_significant = tok.type
                prev_name = tok.string if tok.type in (token.NAME, token.OP) else ""
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # show what was tokenised; the rest stays plain text
    return spans


_FSTRING_TYPES = {getattr(token, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(token, n)}


def _render(lines: list[str], spans: list[tuple[int, int, int, int, str]]) -> list[Markup]:
    """Escape each line, wrapping span fragments (a span may cover several lines) in classes."""
    marks: dict[int, list[tuple[int, int, str]]] = {}
    for r0, c0, r1, c1, cls in spans:
        for row in range(r0, r1 + 1):
            start = c0 if row == r0 else 0
            end = c1 if row == r1 else len(lines[row - 1]) if row - 1 < len(lines) else 0
            if end > start:
                marks.setdefault(row, []).append((start, end, cls))
    out = []
    for row, line in enumerate(lines, 1):
        pos, parts = 0, []
        for start, end, cls in sorted(marks.get(row, ())):
            if start < pos:
                continue
            parts.append(str(escape(line[pos:start])))
            parts.append(f'<span class="{cls}">{escape(line[start:end])}</span>')
            pos = end
        parts.append(str(escape(line[pos:])))
        out.append(Markup("".join(parts)))
    return out


@lru_cache(maxsize=512)
def python_lines(source: str) -> tuple[Markup, ...]:
    """Highlighted lines of Python source (cached: the same version is viewed again and again)."""
    lines = source.split("\n")
    if source.endswith("\n"):
        lines.pop()
    return tuple(_render(lines, _python_spans(source)))


_JSON_TOKEN = re.compile(r'(?P<key>"(?:[^"\\]|\\.)*"(?=\s*:))|(?P<s>"(?:[^"\\]|\\.)*")|(?P<m>-?\d[\d.eE+-]*)'
                         r"|(?P<kc>\btrue\b|\bfalse\b|\bnull\b)")


def _json_line(line: str) -> Markup:
    parts, pos = [], 0
    for m in _JSON_TOKEN.finditer(line):
        cls = {"key": "nt", "s": "s", "m": "m", "kc": "kc"}[m.lastgroup or "s"]
        parts.append(str(escape(line[pos:m.start()])))
        parts.append(f'<span class="{cls}">{escape(m.group())}</span>')
        pos = m.end()
    parts.append(str(escape(line[pos:])))
    return Markup("".join(parts))


def highlight_python(source: str | None) -> Markup:
    """A numbered, highlighted code block."""
    if not source:
        return Markup('<pre class="code empty">(no source)</pre>')
    rows = "".join(
        f'<span class="line" id="L{i}"><span class="ln" data-n="{i}"></span>{line}</span>\n'
        for i, line in enumerate(python_lines(source), 1)
    )
    return Markup(f'<pre class="code">{rows}</pre>')


def highlight_json(text: str) -> Markup:
    """Highlighted JSON text (already pretty-printed)."""
    return Markup('<pre class="code json">') + Markup("\n").join(_json_line(l) for l in text.split("\n")) + Markup("</pre>")
