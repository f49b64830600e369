"""The libcst normalisation: formatting disappears, meaning stays (checked against `ast`)."""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import tokenize
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ell.versioning.literals import decode_string, render_bytes, render_str, render_value
from ell.versioning.normalize import NormalizeError, normalize


def same(*variants: str) -> str:
    outs = {normalize(v) for v in variants}
    assert len(outs) == 1, "\n----\n".join(sorted(outs))
    return outs.pop()


@pytest.mark.parametrize(
    "variants",
    [
        pytest.param(['x = "a"\n', "x = 'a'\n", "x = u'a'\n", "x = ('a')\n", "x = 'a'  # note\n"], id="quotes"),
        pytest.param(["x = 'it\\'s'\n", 'x = "it\'s"\n', "x = '''it's'''\n"], id="apostrophe"),
        pytest.param(['x = r"\\d+"\n', 'x = "\\\\d+"\n', "x = R'\\d+'\n"], id="raw"),
        pytest.param(['x = b"\\x00a"\n', "x = b'\\0a'\n", "x = B'\\x00\\x61'\n"], id="bytes"),
        pytest.param(['x = "a" "b"\n', "x = ('a'\n     'b')\n", "x = 'ab'\n"], id="implicit-concat"),
        pytest.param(['x = f"{a} " "b"\n', "x = f'{a} b'\n", "x = (f'{a}'\n     ' b')\n"], id="fstring-concat"),
        pytest.param(['x = f"{d[\'k\']}"\n', "x = f'{d[\"k\"]}'\n"], id="fstring-inner-quotes"),
        pytest.param(['x = """line1\nline2"""\n', "x = 'line1\\nline2'\n"], id="multiline"),
        pytest.param(["x = 0x10 + 1_000 + 1.50 + 1e3\n", "x = 16 + 1000 + 1.5 + 1000.0\n"], id="numbers"),
        pytest.param(["a = 1; b = 2\n", "a = 1\nb = 2\n", "a=1\n\n\nb=2\n"], id="semicolons"),
        pytest.param(["if x: y = 1\n", "if x:\n    y = 1\n", "if x:\n\ty = 1\n", "if (x):\n  y=1\n"], id="suite"),
        pytest.param(["f(a, b,)\n", "f(\n    a,\n    b,\n)\n", "f(a,b)\n", "f( a , b )\n"], id="trailing-comma"),
        pytest.param(["x = (1,)\n", "x = ( 1, )\n"], id="one-tuple"),
        pytest.param(["def f(a, *, b=1, **k) -> int: pass\n", "def f(a,*,b = 1,**k)->int:\n    pass\n"], id="def"),
        pytest.param(["return_ = (\n    a\n    + b\n)\n", "return_ = a + b\n", "return_ = ((a) + (b))\n"], id="black-parens"),
        pytest.param(["x = lambda y,z=2:y+z\n", "x = (lambda y, z = 2 : (y + z))\n"], id="lambda"),
        pytest.param(["@deco( 1 )\ndef f(): ...\n", "@deco(1)\n\ndef f():\n    ...\n"], id="decorator"),
        pytest.param(["x = y \\\n    + 1\n", "x = y + 1\n"], id="backslash"),
    ],
)
def test_formatting_variants_normalise_the_same(variants):
    same(*variants)


@pytest.mark.parametrize(
    "a,b",
    [
        ("x = 'a'\n", "x = 'b'\n"),
        ("x = 'a b'\n", "x = 'a  b'\n"),
        ("x = x[1,]\n", "x = x[1]\n"),  # a tuple index
        ("x = (1,)\n", "x = (1)\n"),
        ("x = a - (b - c)\n", "x = a - b - c\n"),
        ("x = (a < b) < c\n", "x = a < b < c\n"),
        ("x = (-a) ** 2\n", "x = -a ** 2\n"),
        ("x = f'{x!r}'\n", "x = f'{x}'\n"),
        ("x = f'{x = }'\n", "x = f'{x=}'\n"),  # the self-documenting form prints its spacing
        ("@d(a=1, b=2)\ndef f(): pass\n", "@d(b=2, a=1)\ndef f(): pass\n"),
        ("def f():\n    'doc'\n", "def f():\n    'Doc'\n"),
        ("x = b'a'\n", "x = 'a'\n"),
    ],
)
def test_meaning_changes_are_kept(a, b):
    assert normalize(a) != normalize(b)


def test_comments_and_blank_lines_vanish():
    out = same(
        "def f(x):\n    # leading\n\n    return x  # trailing\n",
        "def f(x):\n    return x\n",
        "def f(x):\n\n\n    return (x)\n",
    )
    assert out == "def f(x):\n    return x\n"


def test_docstrings_get_cleandoc_indentation():
    a = 'def f():\n    """Summary.\n\n    Details\n      more.\n    """\n    return 1\n'
    b = 'def f():\n        """Summary.\n\n        Details\n          more."""\n        return 1\n'
    out = same(a, b, a.replace("    ", "\t"))
    assert "'''Summary.\n\nDetails\n  more.'''" in out
    assert normalize("class A:\n    'x'\n") == normalize('class A:\n    """x"""\n')


def test_strings_render_canonically():
    assert normalize("x = 'a\\tb\\x01\\u00e9\u00e9'\n") == "x = 'a\\tb\\x01éé'\n"
    assert normalize('x = "don\'t"\n') == 'x = "don\'t"\n'
    assert normalize("x = 'say \"hi\"'\n") == "x = 'say \"hi\"'\n"
    assert normalize('x = """a\nb\'"""\n') == "x = '''a\nb\\''''\n"


def test_match_statements_and_fstring_braces_stay_valid():
    src = "match x:\n    case [a, *rest] if a > 0:\n        y = f'{ {a: 1} }'\n    case _:\n        pass\n"
    out = normalize(src)
    compile(out, "<t>", "exec")
    assert "case [a, *rest] if a > 0:" in out and "f'{ {a: 1} }'" in out


def test_indented_segments_parse_without_dedenting():
    method = "    def m(self):\n        s = '''\nkeep\n'''\n        return s\n"
    assert normalize(method) == "def m(self):\n    s = '\\nkeep\\n'\n    return s\n"


def test_unparseable_text_raises_normalize_error():
    with pytest.raises(NormalizeError):
        normalize("def f(:\n")


# -- properties --------------------------------------------------------------------------------


def _dump(src: str) -> str:
    tree = ast.parse(src)
    for n in ast.walk(tree):  # docstrings are compared after cleandoc, as normalisation promises
        body = getattr(n, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            v = body[0].value
            if isinstance(v, ast.Constant) and isinstance(v.value, str) and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                v.value = inspect.cleandoc(v.value)
    return ast.dump(tree)


@pytest.mark.parametrize("module", ["textwrap", "json.encoder", "string", "dataclasses", "argparse",
                                    "enum", "difflib", "fractions", "urllib.parse", "logging"])
def test_stdlib_definitions_keep_their_meaning_and_are_idempotent(module):
    """Every top-level def/class of a stdlib module: same AST after normalising, and a fixed point."""
    src = inspect.getsource(importlib.import_module(module))
    lines = src.splitlines(True)
    for node in ast.parse(src).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        first = min([d.lineno for d in node.decorator_list] + [node.lineno])
        seg = "".join(lines[first - 1 : node.end_lineno])
        out = normalize(seg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            assert _dump(out) == _dump(seg), f"{module}.{node.name}"
        assert normalize(out) == out, f"{module}.{node.name}"


def test_ast_unparse_formatting_is_the_same_program():
    """`ast.unparse` re-spells everything (quotes, numbers, parentheses, layout, no comments)."""
    src = (
        "@decorator(key='value', n=0x1F)\n"
        "def prompt(topic: str, items=(1, 2,), *, style: str = 'plain') -> str:\n"
        '    """You are a poet.\n\n       Be brief."""\n'
        "    # build the prompt\n"
        '    text = ("Write about "\n'
        '            f"{topic!r} in a {style} style")   # implicit concatenation\n'
        "    if not items: return text\n"
        "    total = (\n"
        "        sum(i * 2 for i in items)\n"
        "        + len(text)\n"
        "    )\n"
        '    return f"{text} ({total}) " + {"a": 1}.get(style, "-") + str([x for x in items if (x > 1)])\n'
    )
    assert normalize(src) == normalize(ast.unparse(ast.parse(src)) + "\n")


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("'\"\\\n\r\t{}"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(_text)
def test_render_str_round_trips(value):
    literal = render_str(value)
    assert ast.literal_eval(literal) == value
    assert decode_string(literal) == value
    assert normalize(f"x = {literal}\n") == f"x = {literal}\n"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=30))
def test_render_bytes_round_trips(value):
    literal = render_bytes(value)
    assert ast.literal_eval(literal) == value and decode_string(literal) == value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "'", '"', "\\n", "\\t", "\\x41", "\\101", "\\u00e9", "\\N{BULLET}",
                                 "\\d", "\\\\", "\\\n", "é", "{"]), max_size=8),
       st.sampled_from(["", "r", "b", "rb", "u"]), st.sampled_from(["'", '"', "'''", '"""']))
def test_decode_string_agrees_with_python(parts, prefix, quote):
    body = "".join(parts)
    if "b" in prefix:
        body = body.replace("é", "e").replace("\\N{BULLET}", "").replace("\\u00e9", "")
    token = prefix + quote + body + quote
    try:  # only single literals: '"a"""' is two literals, "a" "", concatenated
        kinds = [t.type for t in tokenize.generate_tokens(io.StringIO(token).readline)]
    except (tokenize.TokenError, SyntaxError):
        return
    if kinds.count(tokenize.STRING) != 1:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = ast.literal_eval(token)
        except (SyntaxError, ValueError):
            return  # not a valid literal (e.g. a quote that closes it early)
    assert decode_string(token) == expected


def test_render_value_is_hash_seed_independent_and_exact():
    assert render_value(frozenset({"b", "a", "c"})) == "frozenset({'a', 'b', 'c'})"
    assert render_value((1,)) == "(1,)" and render_value(()) == "()"
    assert render_value(0.1) == "0.1" and render_value(float("-inf")) == "-float('inf')"
    assert render_value(complex(1, -2)) == "complex(1.0, -2.0)"
    assert render_value("\u0378") == "'\u0378'"  # unassigned code point: kept, not escaped per Unicode version
