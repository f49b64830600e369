"""Canonical source text: the libcst transform that makes formatting irrelevant to a version.

`normalize(segment)` parses one definition (or statement) with libcst and rewrites the tree in place
so that only meaning is left: every whitespace, newline and comment node is reset to libcst's
default, blank lines and trailing commas are dropped, `a; b` and `if x: y` are split onto
indented lines, strings and numbers are re-spelled from their values (`literals.py`), implicit
string concatenations are merged, redundant parentheses are dropped (`parens.py`), and docstrings
get `inspect.cleandoc` indentation. libcst then generates the code. The output depends only on
the tree's structure, so black-style, compressed, tab-indented or re-commented inputs give the
same bytes; a round trip alone would not (libcst keeps formatting by design). Neither
`ast.unparse` nor `ast.dump` is used: their output differs between Python versions.

What is deliberately *kept*: string values (whitespace inside strings included), docstring text,
names, meaningful parentheses, decorator arguments and their order, keyword-argument order.
Whitespace inside ``f"{x = }"`` is kept too, because it is printed.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Optional, Sequence

import libcst as cst

from .literals import (
    decode_body,
    decode_string,
    is_multiline,
    render_bytes,
    render_str,
    render_text_part,
    split_literal,
)
from .parens import fix_parens

__all__ = ["normalize", "NormalizeError"]


class NormalizeError(ValueError):
    """The text could not be parsed or normalised (callers fall back to a placeholder)."""


_RESET, _CHILD = 0, 1
_WS_TYPES = (cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.TrailingWhitespace, cst.Newline)
_EMPTY_LINE_FIELDS = {"leading_lines", "lines_after_decorators", "footer", "empty_lines"}
# Nodes whose own `comma` is optional punctuation between siblings: reset to MaybeSentinel.DEFAULT
# so codegen writes ", " between elements and nothing after the last one (no trailing commas).
_OPTIONAL_COMMA = {cst.Arg, cst.Param, cst.Element, cst.StarredElement, cst.DictElement,
                   cst.StarredDictElement, cst.ImportAlias, cst.WithItem, cst.SubscriptElement,
                   cst.NameItem, cst.MatchSequenceElement, cst.MatchKeywordElement,
                   cst.MatchMappingElement, cst.MatchStar, cst.TypeParam, cst.ParamSlash}  # fmt: skip
_NO_SPACE_EQUAL = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
_BARE_COMMA = cst.Comma()
_SPACE = cst.SimpleWhitespace(" ")
_LAMBDA_COLON = cst.Colon(whitespace_after=cst.SimpleWhitespace(" "))
_EMPTY_MODULE = cst.Module(body=[])

_Plan = tuple[tuple[str, int, Any], ...]
_PLANS: dict[type, _Plan] = {}


def _field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def _plan_for(t: type) -> _Plan:
    """Per node type, once: which fields to reset to a canonical value and which to descend into."""
    plan: list[tuple[str, int, Any]] = []
    for f in dataclasses.fields(t):
        name, default = f.name, _field_default(f)
        if name in _EMPTY_LINE_FIELDS or (name == "header" and t is cst.Module):
            plan.append((name, _RESET, ()))
        elif isinstance(default, _WS_TYPES) or name.startswith("whitespace") or name in (
            "trailing_whitespace", "leading_whitespace", "header", "semicolon"
        ):  # fmt: skip
            plan.append((name, _RESET, default))
        elif name == "comma" and t in _OPTIONAL_COMMA:
            plan.append((name, _RESET, cst.MaybeSentinel.DEFAULT))
        elif name == "indent" and t is cst.IndentedBlock:
            plan.append((name, _RESET, None))  # None = the module's default indent ("    ")
        elif name == "lpar" and t is cst.ImportFrom:
            plan.append((name, _RESET, None))
        elif name == "rpar" and t is cst.ImportFrom:
            plan.append((name, _RESET, None))
        else:
            plan.append((name, _CHILD, None))
    result = tuple(plan)
    _PLANS[t] = result
    return result


_setattr = object.__setattr__  # libcst nodes are frozen dataclasses; we own this freshly parsed tree


def _walk(node: cst.CSTNode) -> cst.CSTNode:
    """Canonicalise `node` and its subtree in place; returns the node that replaces it."""
    t = type(node)
    if t is cst.FormattedStringExpression and node.equal is not None:  # type: ignore[attr-defined]
        return node  # f"{x = }" prints its own spelling: leave it exactly as written
    # `x[1,]` indexes with a tuple, `x[1]` does not: remember that comma before commas are reset
    keep_comma = t is cst.Subscript and len(node.slice) == 1 and isinstance(node.slice[0].comma, cst.Comma)  # type: ignore[attr-defined]
    for name, action, value in _PLANS.get(t) or _plan_for(t):
        if action == _RESET:
            _setattr(node, name, value)
        else:
            v = getattr(node, name)
            if isinstance(v, cst.CSTNode):
                nv = _walk(v)
                if nv is not v:
                    _setattr(node, name, nv)
            elif isinstance(v, (list, tuple)) and v and isinstance(v[0], cst.CSTNode):
                _setattr(node, name, tuple(_walk(c) for c in v))
    if keep_comma:
        _setattr(node.slice[0], "comma", _BARE_COMMA)  # type: ignore[attr-defined]
    fix_parens(node)
    special = _SPECIAL.get(t)
    return special(node) if special is not None else node


# -- structure ----------------------------------------------------------------------------------


def _split_lines(body: Sequence[cst.CSTNode]) -> tuple[cst.CSTNode, ...]:
    out: list[cst.CSTNode] = []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) > 1:
            out.extend(cst.SimpleStatementLine(body=[s]) for s in stmt.body)  # `a; b` -> two lines
        else:
            out.append(stmt)
    return tuple(out)


def _block(node: Any) -> Any:
    _setattr(node, "body", _split_lines(node.body))
    return node


def _suite(node: cst.SimpleStatementSuite) -> cst.IndentedBlock:
    # `if x: y` and its indented form are the same program
    return cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[s]) for s in node.body])


def _docstring(node: Any) -> Any:
    """Give the docstring of a def/class canonical indentation (inspect.cleandoc semantics)."""
    body = node.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return node
    first = body.body[0]
    if not (isinstance(first, cst.SimpleStatementLine) and isinstance(first.body[0], cst.Expr)):
        return node
    expr = first.body[0]
    if not isinstance(expr.value, cst.SimpleString):  # concatenations were merged by _concat
        return node
    value = decode_string(expr.value.value)
    if isinstance(value, str):
        _setattr(expr, "value", cst.SimpleString(render_str(inspect.cleandoc(value))))
    return node


def _tuple(node: cst.Tuple) -> cst.Tuple:
    if len(node.elements) == 1 and isinstance(node.elements[0], cst.Element):
        _setattr(node.elements[0], "comma", _BARE_COMMA)  # `(1,)`: the comma is what makes it a tuple
    return node


def _lambda(node: cst.Lambda) -> cst.Lambda:
    _setattr(node, "colon", _LAMBDA_COLON)  # `lambda x: x`, not libcst's bare Colon default
    return node


def _arg(node: cst.Arg) -> cst.Arg:
    if node.keyword is not None:
        _setattr(node, "equal", _NO_SPACE_EQUAL)  # f(a=1), as PEP 8 writes it
    return node


def _param(node: cst.Param) -> cst.Param:
    if node.default is not None:
        _setattr(node, "equal", cst.MaybeSentinel.DEFAULT if node.annotation is not None else _NO_SPACE_EQUAL)
    return node


def _comma(node: cst.Comma) -> cst.Comma:
    return _COMMA  # e.g. `def f(a, *, b)`: ParamStar's comma is required, so it is kept, spaced


# -- literals ------------------------------------------------------------------------------------


def _unparen(node: Any) -> Any:
    # Parentheses around a string literal never change meaning (a string is an atom).
    if node.lpar:
        _setattr(node, "lpar", ())
        _setattr(node, "rpar", ())
    return node


def _string(node: cst.SimpleString) -> cst.SimpleString:
    value = decode_string(node.value)
    rendered = render_str(value) if isinstance(value, str) else render_bytes(value)
    return _unparen(cst.SimpleString(rendered, lpar=node.lpar, rpar=node.rpar))


def _concat(node: cst.ConcatenatedString) -> cst.BaseExpression:
    """Merge implicit concatenations ("a" "b" == "ab", f"{x} " "y" == f"{x} y"): re-wrapping a long
    prompt over several lines is formatting."""
    parts: list[Any] = []
    stack: list[cst.CSTNode] = [node]
    while stack:  # ConcatenatedString is a binary tree: left, right
        n = stack.pop()
        if isinstance(n, cst.ConcatenatedString):
            stack.append(n.right)
            stack.append(n.left)
        else:
            parts.append(n)
    if all(isinstance(p, cst.SimpleString) for p in parts):
        values = [decode_string(p.value) for p in parts]
        if all(isinstance(v, str) for v in values):
            return _unparen(cst.SimpleString(render_str("".join(values))))  # type: ignore[arg-type]
        if all(isinstance(v, bytes) for v in values):
            return _unparen(cst.SimpleString(render_bytes(b"".join(values))))  # type: ignore[arg-type]
    merged = _merge_fstrings(parts)
    if merged is not None:
        return merged
    _setattr(node, "whitespace_between", _SPACE)
    return _unparen(node)


def _merge_fstrings(parts: list[Any]) -> Optional[cst.FormattedString]:
    """One f-string from str literals and f-strings (None for bytes or t-strings)."""
    out: list[cst.BaseFormattedStringContent] = []
    for p in parts:
        if isinstance(p, cst.SimpleString):
            value = decode_string(p.value)
            if not isinstance(value, str):
                return None
            # as f-string text: braces doubled, escaped as a non-raw literal body (decoded again below)
            text = value.replace("{", "{{").replace("}", "}}")
            out.append(cst.FormattedStringText(render_text_part(text, "'''", last=False)))
        elif isinstance(p, cst.FormattedString) and p.start.lower().lstrip("rf").startswith(("'", '"')):
            raw = "r" in p.start.lower()
            for q in p.parts:
                if isinstance(q, cst.FormattedStringText):
                    value = decode_body(q.value, raw=raw, is_bytes=False)
                    q = cst.FormattedStringText(render_text_part(value, "'''", last=False))
                out.append(q)
        else:
            return None
    merged: list[cst.BaseFormattedStringContent] = []
    for q in out:  # adjacent text parts become one
        if merged and isinstance(q, cst.FormattedStringText) and isinstance(merged[-1], cst.FormattedStringText):
            merged[-1] = cst.FormattedStringText(merged[-1].value + q.value)
        else:
            merged.append(q)
    return _fstring(cst.FormattedString(parts=merged, start="f'''", end="'''"))


def _fstring(node: cst.FormattedString) -> cst.FormattedString:
    """Re-spell an f-string with canonical quotes and escapes; its expressions are already canonical."""
    prefix, quote, _ = split_literal(node.start + node.end)
    raw = "r" in prefix
    texts: list[tuple[int, str]] = []
    code_quotes = ""
    for i, part in enumerate(node.parts):
        if isinstance(part, cst.FormattedStringText):
            value = decode_body(part.value, raw=raw, is_bytes=False)
            if value.count("{") != part.value.count("{") or value.count("}") != part.value.count("}"):
                return _unparen(node)  # an escape produced a brace: keep the literal as written
            texts.append((i, value))
        else:
            code_quotes += "".join(c for c in _EMPTY_MODULE.code_for_node(part) if c in "'\"")
    joined = "\0".join(v for _, v in texts)
    if is_multiline(joined):
        q = '"""' if "'" in code_quotes else "'''"
    elif "'" in code_quotes or ("'" in joined and '"' not in joined and '"' not in code_quotes):
        q = '"'
    else:
        q = "'"
    parts = list(node.parts)
    last_index = len(parts) - 1
    for i, value in texts:
        parts[i] = cst.FormattedStringText(render_text_part(value, q, last=i == last_index))
    letter = "t" if "t" in prefix else "f"
    return _unparen(cst.FormattedString(parts=parts, start=letter + q, end=q, lpar=node.lpar, rpar=node.rpar))


def _match_case(node: cst.MatchCase) -> cst.MatchCase:
    if node.guard is not None:  # libcst's defaults are empty here: `case x if y:` needs its spaces
        _setattr(node, "whitespace_before_if", _SPACE)
        _setattr(node, "whitespace_after_if", _SPACE)
    return node


def _fstring_expression(node: cst.FormattedStringExpression) -> cst.FormattedStringExpression:
    if isinstance(node.expression, (cst.Dict, cst.Set, cst.DictComp, cst.SetComp)) and not node.expression.lpar:
        _setattr(node, "whitespace_before_expression", _SPACE)  # f"{ {1} }": "{{" would be an escaped brace
        _setattr(node, "whitespace_after_expression", _SPACE)
    return node


def _integer(node: cst.Integer) -> cst.Integer:
    text = node.value.replace("_", "").lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(text[:2], 10)
    _setattr(node, "value", str(int(text, base)))  # 0x10, 1_6 and 16 are one number
    return node


def _float(node: cst.Float) -> cst.Float:
    _setattr(node, "value", repr(float(node.value.replace("_", ""))))
    return node


_SPECIAL: dict[type, Callable[[Any], Any]] = {
    cst.Module: _block,
    cst.IndentedBlock: _block,
    cst.SimpleStatementSuite: _suite,
    cst.FunctionDef: _docstring,
    cst.ClassDef: _docstring,
    cst.Tuple: _tuple,
    cst.Lambda: _lambda,
    cst.Arg: _arg,
    cst.Param: _param,
    cst.Comma: _comma,
    cst.SimpleString: _string,
    cst.ConcatenatedString: _concat,
    cst.FormattedString: _fstring,
    cst.FormattedStringExpression: _fstring_expression,
    cst.MatchCase: _match_case,
    cst.Integer: _integer,
    cst.Float: _float,
}


def parse_segment(text: str) -> cst.CSTNode:
    """Parse one statement (a def, class or simple statement), indented or not, as libcst nodes."""
    if not text.endswith("\n"):
        text += "\n"
    indented = text[:1] in (" ", "\t")
    try:
        module = cst.parse_module("if 1:\n" + text if indented else text)
    except cst.ParserSyntaxError as exc:
        raise NormalizeError(f"libcst could not parse the source: {str(exc).splitlines()[0]}") from None
    if indented:
        block = module.body[0].body  # type: ignore[attr-defined]
        return cst.Module(body=list(block.body))
    return module


def normalize(text: str) -> str:
    """The canonical text of a definition or statement (see the module docstring)."""
    tree = parse_segment(text)
    try:
        out = _walk(tree)
    except (ValueError, KeyError, RecursionError) as exc:  # e.g. a malformed \N{...} escape
        raise NormalizeError(f"could not normalise: {exc}") from None
    module = out if isinstance(out, cst.Module) else cst.Module(body=[out])  # type: ignore[list-item]
    _setattr(module, "default_indent", "    ")
    _setattr(module, "default_newline", "\n")
    _setattr(module, "has_trailing_newline", True)
    return module.code
