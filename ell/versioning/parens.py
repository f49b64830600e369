"""Redundant parentheses: dropped, so that black's wrapping of a long line is not a new version.

black turns ``return a + b`` into ``return (\\n    a\\n    + b\\n)`` when the line is long; the
two are one program. A child's parentheses are dropped when its operator binds at least as
tightly as its position requires (the same precedence reasoning as `ast.unparse`), and kept
(one pair) otherwise. Tuples, generator expressions, ``yield``, ``:=`` and starred expressions
keep their parentheses as written: for them parentheses are syntax more often than not, and
keeping a redundant pair only costs a spurious new version, never a wrong one. (One exception,
``f((x for x in y))`` == ``f(x for x in y)``, is common enough to normalise.)
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import libcst as cst

__all__ = ["fix_parens"]

_LAMBDA, _TEST, _OR, _AND, _NOT, _CMP, _BOR, _BXOR, _BAND, _SHIFT, _ARITH, _TERM, _FACTOR, _POWER, _AWAIT, _ATOM = range(1, 17)

_BINARY = {
    cst.Power: _POWER, cst.Multiply: _TERM, cst.Divide: _TERM, cst.FloorDivide: _TERM, cst.Modulo: _TERM,
    cst.MatrixMultiply: _TERM, cst.Add: _ARITH, cst.Subtract: _ARITH, cst.LeftShift: _SHIFT,
    cst.RightShift: _SHIFT, cst.BitAnd: _BAND, cst.BitXor: _BXOR, cst.BitOr: _BOR,
}  # fmt: skip
_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float, cst.Imaginary,
          cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.List, cst.Dict, cst.Set,
          cst.ListComp, cst.SetComp, cst.DictComp, cst.Ellipsis)  # fmt: skip
_BRACES = (cst.Dict, cst.Set, cst.DictComp, cst.SetComp)
_LPAR = (cst.LeftParen(),)
_RPAR = (cst.RightParen(),)


def _precedence(node: Any) -> Optional[int]:
    """How tightly the node binds, or None when its parentheses are never touched."""
    if isinstance(node, _ATOMS):
        return _ATOM
    if isinstance(node, cst.BinaryOperation):
        return _BINARY.get(type(node.operator))
    if isinstance(node, cst.UnaryOperation):
        return _NOT if isinstance(node.operator, cst.Not) else _FACTOR
    if isinstance(node, cst.BooleanOperation):
        return _AND if isinstance(node.operator, cst.And) else _OR
    if isinstance(node, cst.Comparison):
        return _CMP
    if isinstance(node, cst.IfExp):
        return _TEST
    if isinstance(node, cst.Lambda):
        return _LAMBDA
    if isinstance(node, cst.Await):
        return _AWAIT
    return None


def _binary(node: cst.BinaryOperation) -> tuple[tuple[str, int], ...]:
    p = _BINARY.get(type(node.operator), _ATOM)
    if p == _POWER:  # right-associative; `-x ** 2` is -(x ** 2), `(-x) ** 2` needs its parentheses
        return (("left", _AWAIT), ("right", _FACTOR))
    return (("left", p), ("right", p + 1))  # left-associative


def _boolean(node: cst.BooleanOperation) -> tuple[tuple[str, int], ...]:
    p = _AND if isinstance(node.operator, cst.And) else _OR
    return (("left", p), ("right", p + 1))


def _unary(node: cst.UnaryOperation) -> tuple[tuple[str, int], ...]:
    return (("expression", _NOT if isinstance(node.operator, cst.Not) else _FACTOR),)


def _arg(node: cst.Arg) -> tuple[tuple[str, int], ...]:
    return (("value", _BOR if node.star else _LAMBDA),)


def _index(node: cst.Index) -> tuple[tuple[str, int], ...]:
    return (("value", _BOR if node.star else _LAMBDA),)


def _fixed(*rules: tuple[str, int]) -> Callable[[Any], tuple[tuple[str, int], ...]]:
    return lambda node: rules


# What each position requires: the lowest precedence that may stand there without parentheses.
_RULES: dict[type, Callable[[Any], tuple[tuple[str, int], ...]]] = {
    cst.BinaryOperation: _binary,
    cst.BooleanOperation: _boolean,
    cst.UnaryOperation: _unary,
    cst.Comparison: _fixed(("left", _BOR)),
    cst.ComparisonTarget: _fixed(("comparator", _BOR)),
    cst.IfExp: _fixed(("body", _OR), ("test", _OR), ("orelse", _LAMBDA)),
    cst.Lambda: _fixed(("body", _LAMBDA)),
    cst.Attribute: _fixed(("value", _ATOM)),
    cst.Call: _fixed(("func", _ATOM)),
    cst.Subscript: _fixed(("value", _ATOM)),
    cst.Await: _fixed(("expression", _ATOM)),
    cst.Arg: _arg,
    cst.Index: _index,
    cst.Element: _fixed(("value", _LAMBDA)),
    cst.StarredElement: _fixed(("value", _BOR)),
    cst.DictElement: _fixed(("key", _BOR), ("value", _LAMBDA)),
    cst.StarredDictElement: _fixed(("value", _BOR)),
    cst.Slice: _fixed(("lower", _LAMBDA), ("upper", _LAMBDA), ("step", _LAMBDA)),
    cst.Expr: _fixed(("value", _LAMBDA)),
    cst.Assign: _fixed(("value", _LAMBDA)),
    cst.AnnAssign: _fixed(("value", _LAMBDA)),
    cst.AugAssign: _fixed(("value", _LAMBDA)),
    cst.Return: _fixed(("value", _LAMBDA)),
    cst.If: _fixed(("test", _LAMBDA)),
    cst.While: _fixed(("test", _LAMBDA)),
    cst.Assert: _fixed(("test", _LAMBDA), ("msg", _LAMBDA)),
    cst.Raise: _fixed(("exc", _LAMBDA)),
    cst.From: _fixed(("item", _LAMBDA)),
    cst.Decorator: _fixed(("decorator", _LAMBDA)),
    cst.Param: _fixed(("default", _LAMBDA)),
    cst.Annotation: _fixed(("annotation", _LAMBDA)),
    cst.WithItem: _fixed(("item", _LAMBDA)),
    cst.For: _fixed(("iter", _LAMBDA)),
    cst.CompFor: _fixed(("iter", _OR)),
    cst.CompIf: _fixed(("test", _OR)),
    cst.NamedExpr: _fixed(("value", _LAMBDA)),
    cst.Yield: _fixed(("value", _LAMBDA)),
    cst.FormattedStringExpression: _fixed(("expression", _TEST)),  # a bare lambda's ':' would end it
}

_setattr = object.__setattr__


def _sole_generator(call: cst.Call) -> None:
    """`f(x for x in y)` is `f((x for x in y))`: a lone generator argument borrows the call's parentheses."""
    if len(call.args) == 1:
        arg = call.args[0]
        if isinstance(arg.value, cst.GeneratorExp) and not arg.star and arg.keyword is None and arg.value.lpar:
            _setattr(arg.value, "lpar", ())
            _setattr(arg.value, "rpar", ())


def fix_parens(parent: cst.CSTNode) -> None:
    """Drop or keep (one pair of) the parentheses of `parent`'s children, in place."""
    if type(parent) is cst.Call:
        _sole_generator(parent)
    rules = _RULES.get(type(parent))
    if rules is None:
        return
    for field, required in rules(parent):
        child = getattr(parent, field, None)
        lpar = getattr(child, "lpar", None)
        if not lpar:
            continue
        p = _precedence(child)
        if p is None:
            continue
        keep = p < required
        if field == "value" and isinstance(parent, cst.Attribute) and isinstance(child, cst.Integer):
            keep = True  # `(1).real`: without them `1.` would start a float
        if isinstance(parent, cst.FormattedStringExpression) and isinstance(child, _BRACES):
            keep = True  # f"{({1})}" -> f"{{1}}" would be an escaped brace
        if keep:
            _setattr(child, "lpar", _LPAR)
            _setattr(child, "rpar", _RPAR)
        else:
            _setattr(child, "lpar", ())
            _setattr(child, "rpar", ())
