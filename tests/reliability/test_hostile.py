"""Hostile and odd input through real LMP calls: the call behaves exactly as it does without
tracking (the same result, or the model's own error), and what is recorded is valid: it reads back
through `ell_git.Reader`, and every stored line parses as strict JSON with plain `git cat-file`.

Each case runs twice against the local model server (ell.testing): once with no store, once with
a git store; the two outcomes must be equal. Then the store must acknowledge a flush, and the new
invocations must load in full.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import functools
import math
import socket
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relhelpers import fsck, jsonl_lines, strict_json

import ell
from ell.testing import Reply, ToolCall
from ell_git import GitStore, Reader

MB = 1024 * 1024


# -- odd objects -----------------------------------------------------------------------------------


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")

    __str__ = __repr__


class RaisingGetattr:
    """Every attribute lookup the serialiser might try (model_dump, tolist, ...) raises."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"no attribute {name} for you")


class Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparisons")


class RaisingProperty:
    @property
    def value(self) -> int:
        raise RuntimeError("property raised")


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Holder:
    payload: Any


class StrangeStr(str):
    def __str__(self) -> str:
        raise RuntimeError("str() of a str subclass raised")


class Boom(Exception):
    def __str__(self) -> str:
        raise RuntimeError("the exception cannot be printed")


def _gen() -> Iterator[int]:
    yield 1


def _recursive_list() -> list[Any]:
    r: list[Any] = []
    r.append(r)
    return r


def _recursive_dict() -> dict[str, Any]:
    d: dict[str, Any] = {}
    d["self"] = d
    return d


def _deep(n: int) -> list[Any]:
    root: list[Any] = []
    cur = root
    for _ in range(n):
        nxt: list[Any] = []
        cur.append(nxt)
        cur = nxt
    return root


def _numpy(kind: str) -> Any:
    np = pytest.importorskip("numpy")
    return {"array": np.arange(6).reshape(2, 3), "nan": np.float64("nan"), "big": np.zeros(200_000)}[kind]


ARGUMENTS: dict[str, Callable[[], Any]] = {
    "socket": socket.socket,
    "generator": _gen,
    "recursive list": _recursive_list,
    "recursive dict": _recursive_dict,
    "raising repr": RaisingRepr,
    "raising getattr": RaisingGetattr,
    "unhashable, raising eq": Unhashable,
    "raising property": RaisingProperty,
    "lock": threading.Lock,
    "open file": lambda: open(__file__),
    "module": lambda: math,
    "class": lambda: dict,
    "builtin": lambda: len,
    "lambda": lambda: (lambda: 1),
    "nan": lambda: float("nan"),
    "inf": lambda: float("inf"),
    "-inf": lambda: float("-inf"),
    "2**200": lambda: 2**200,
    "-2**100": lambda: -(2**100),
    "decimal": lambda: decimal.Decimal("3.14159265358979323846264338327950288"),
    "complex": lambda: 1 + 2j,
    "datetime": lambda: datetime.datetime(2024, 2, 29, 12, 0, tzinfo=datetime.timezone.utc),
    "non-UTF-8 bytes": lambda: b"\xff\xfe\x00\x80abc",
    "bytearray": lambda: bytearray(b"\x80\x81\x82"),
    "memoryview": lambda: memoryview(b"\xc3\x28"),
    "lone surrogate": lambda: "a\ud800b\udfffc",
    "NUL and controls": lambda: "a\x00b\x1b[31mred\x07\r\n",
    "RTL and emoji": lambda: "\u202eevil\u202c 👩‍👩‍👧 \U0001f600",
    "10 MB string": lambda: "x" * (10 * MB),
    "50k-key dict": lambda: {f"k{i}": i for i in range(50_000)},
    "100k-item list": lambda: list(range(100_000)),
    "10k-deep nesting": lambda: _deep(10_000),
    "tuple and None keys": lambda: {(1, 2): "t", None: "n", 1.5: "f", True: "b"},
    "colliding keys": lambda: {1: "int", "1": "str"},
    "mixed set": lambda: {1, "a", (2, 3), None},
    "frozenset": lambda: frozenset({b"x", 2.5}),
    "enum": lambda: Colour.RED,
    "dataclass holding a socket": lambda: Holder(socket.socket()),
    "exception": lambda: ValueError("an exception as an argument"),
    "str subclass": lambda: StrangeStr("odd"),
    "numpy array": lambda: _numpy("array"),
    "numpy nan": lambda: _numpy("nan"),
    "numpy 200k zeros": lambda: _numpy("big"),
    "data URL image": lambda: "data:image/png;base64," + "A" * 100_000,
}

LMP_NAMES = [
    "a..b", "a~b^c:d?e*f[g\\h", "x.lock", ".hidden", "trailing.", "sp ace", "sl/ash", "ünï©ødé", "@", "@{u}",
    "-dash", "a" * 1000, "名前.関数", "a\nb", "a\x00b", "a\tb", "HEAD", "refs/heads/main", "%41%", "..",
]


@dataclasses.dataclass
class Case:
    name: str
    call: Callable[[], Any]
    replies: tuple[Any, ...] = ()
    calls: int = 1  # invocations recorded by the tracked run


def _show(value: Any) -> Any:
    """A comparable picture of what the user got back."""
    if isinstance(value, (list, tuple)):
        return [_show(v) for v in value]
    if isinstance(value, ell.Message):
        return ("message", value.role, value.text, [(t.tool.__name__, dict(t.params)) for t in value.tool_calls])
    return str(value)


# -- the LMPs ---------------------------------------------------------------------------------------


@ell.simple(model="gpt-4o-mini")
def echo(x):
    """You answer briefly."""
    return f"Tell me about {type(x).__name__}"


@ell.simple(model="gpt-4o-mini")
def plain(text: str):
    """You answer briefly."""
    return text


@ell.complex(model="gpt-4o-mini")
def conversation(n: int, size: int = 1):
    """You follow long conversations."""
    return [ell.user("u" * size) if i % 2 == 0 else ell.assistant(f"a{i}") for i in range(n)]


@ell.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@ell.tool()
def explode(a: int) -> int:
    """Always fails."""
    raise Boom()


@ell.tool()
def returns_socket(a: int) -> Any:
    """Returns something that is not data."""
    return socket.socket()


@ell.tool()
def returns_surrogate(a: int) -> str:
    """Returns text that is not valid UTF-8."""
    return "bad \ud800 text"


@ell.complex(model="gpt-4o-mini", tools=[add, explode, returns_socket, returns_surrogate])
def calculator(question: str):
    """You use tools."""
    return [ell.user(question)]


def _with_tools(question: str) -> Any:
    reply = calculator(question)
    return [reply, reply.call_tools_and_collect_as_message()]


def _named(name: str) -> Callable[..., Any]:
    def prompt(x: str):
        """You are nice."""
        return f"hi {x}"

    prompt.__qualname__ = name
    prompt.__name__ = name if name.isidentifier() else "prompt"
    return ell.simple(model="gpt-4o-mini")(prompt)


SOCK = socket.socket()
WEIRD = RaisingRepr()
CONFIG = {"weird": WEIRD, "sock": SOCK, "nan": float("nan"), "list": [1, 2]}


@ell.simple(model="gpt-4o-mini")
def uses_hostile_globals(x: str):
    """You are nice."""
    return f"{CONFIG['list']} {SOCK.family} {WEIRD is None} {x}"


def _make_closure_cases() -> dict[str, Callable[[], Any]]:
    ns: dict[str, Any] = {}
    exec("import ell\n@ell.simple(model='gpt-4o-mini')\ndef from_exec(x):\n    'doc'\n    return 'from exec'\n", ns)
    lam = ell.simple(model="gpt-4o-mini")(lambda x: "from a lambda")

    def outer() -> Callable[..., Any]:
        captured = socket.socket()

        @ell.simple(model="gpt-4o-mini")
        def inner(x: str):
            """Closure over a socket cell."""
            return f"{captured.family} {x}"

        return inner

    inner = outer()

    class Prompts:
        @ell.simple(model="gpt-4o-mini")
        def method_like(x: str):  # noqa: N805 - a function defined in a class body
            """In a class."""
            return f"class {x}"

    part = functools.partial(plain.__wrapped__, "partial text")
    return {
        "exec'd function (no source)": lambda: ns["from_exec"]("a"),
        "lambda": lambda: lam("a"),
        "closure over a socket": lambda: inner("a"),
        "hostile globals": lambda: uses_hostile_globals("a"),
        "function in a class body": lambda: Prompts.method_like("a"),
        "partial of a prompt": lambda: ell.simple(model="gpt-4o-mini")(part)(),
    }


def cases(slow_client: Any) -> list[Case]:
    out = [Case(f"argument: {k}", (lambda make: lambda: echo(make()))(make)) for k, make in ARGUMENTS.items()]
    out += [Case(f"LMP name {n[:40]!r}", (lambda n: lambda: _named(n)("x"))(n)) for n in LMP_NAMES]
    out += [Case(f"closure: {k}", fn) for k, fn in _make_closure_cases().items()]
    out += [
        Case("output: 10 MB", lambda: plain("big"), ("y" * (10 * MB),)),
        Case("output: NUL and controls", lambda: plain("c"), ("a\x00b\x1b[0m\x7f",)),
        Case("output: empty", lambda: plain("e"), ("",)),
        Case("output: JSON-looking", lambda: plain("j"), ('{"id": "inv-0", "$ell_blob": "x", "size": 1}',)),
        Case("output: refusal", lambda: plain("r"), (Reply(refusal="I won't."),)),
        Case("output: three choices", lambda: plain("n", api_params={"n": 3}), (["one", "two", "three"],)),
        Case("output: absurd usage", lambda: plain("u"), (Reply(text="ok", usage={"prompt_tokens": 2**62,
                                                                                  "completion_tokens": -5}),)),
        Case("prompt: 10,000 messages", lambda: conversation(10_000)),
        Case("prompt: 5 MB message", lambda: conversation(1, 5 * MB)),
        Case("tool: invalid JSON arguments", lambda: _with_tools("q"),
             (Reply(tool_calls=[ToolCall("add", "{not json")]),), calls=1),
        Case("tool: unknown tool name", lambda: _with_tools("q"),
             (Reply(tool_calls=[ToolCall("no_such_tool", {"a": 1})]),), calls=1),
        Case("tool: wrong argument types", lambda: _with_tools("q"),
             (Reply(tool_calls=[ToolCall("add", {"a": "x", "b": [1]})]),), calls=1),
        Case("tool: raises an unprintable exception", lambda: _with_tools("q"),
             (Reply(tool_calls=[ToolCall("explode", {"a": 1})]),), calls=2),
        Case("tool: returns a socket", lambda: _with_tools("q"),
             (Reply(tool_calls=[ToolCall("returns_socket", {"a": 1})]),), calls=2),
        Case("tool: returns a lone surrogate", lambda: _with_tools("q"),
             (Reply(tool_calls=[ToolCall("returns_surrogate", {"a": 1})]),), calls=2),
        Case("tool: 20 calls at once", lambda: _with_tools("q"),
             (Reply(tool_calls=[ToolCall("add", {"a": i, "b": i}) for i in range(20)]),), calls=21),
        Case("prompt raises an unprintable exception", lambda: ell.simple(model="gpt-4o-mini")(_raise_boom)("x")),
    ]
    for status in (400, 401, 404, 429, 500, 503):
        out.append(Case(f"model error {status}", lambda: plain("e"), (Reply(error=status, error_message="<b>no</b>"),)))
    out += [
        Case("model timeout", lambda: plain("t", client=slow_client), (Reply(text="late", delay=2),)),
        Case("stream: connection dropped after 0 events", lambda: "".join(plain("s", stream=True)),
             (Reply(text="streamed text " * 20, break_stream_after=0),)),
        Case("stream: connection dropped mid-way", lambda: "".join(plain("s", stream=True)),
             (Reply(text="streamed text " * 20, break_stream_after=3),)),
        Case("stream: timeout mid-way", lambda: "".join(plain("s", stream=True, client=slow_client)),
             (Reply(text="slow", delay=2),)),
        Case("stream: abandoned by the caller", lambda: _first_delta(plain("s", stream=True)),
             ("streamed text " * 20,)),
        Case("stream: model error", lambda: "".join(plain("s", stream=True)), (Reply(error=500),)),
    ]
    return out


def _raise_boom(x: str):
    """Raises before the model is called."""
    raise Boom()


def _first_delta(stream: Any) -> str:
    for delta in stream:
        stream.close()
        return delta
    return ""


# -- running them -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "repo"
    path.mkdir()
    return path


@pytest.fixture
def tracked(hostile_repo: Path, model_server: Any) -> Iterator[GitStore]:
    store = GitStore(hostile_repo, autocommit=False, flush_interval=0.05)
    ell.init(store=store, default_client=model_server.client(max_retries=0, timeout=30), autocommit=False)
    yield store


def outcome(server: Any, case: Case, store: Any) -> tuple[Any, ...]:
    ell.config.store = store
    server.queue(*case.replies)
    try:
        return ("ok", _show(case.call()))
    except Exception as exc:
        return ("error", type(exc).__name__)
    finally:
        server.reset()


def _ids() -> list[str]:
    return [c.name for c in cases(None)]


@pytest.mark.parametrize("index", range(len(_ids())), ids=_ids())
def test_hostile_input(index: int, tracked: GitStore, model_server: Any, hostile_repo: Path, figures: Any) -> None:
    case = cases(model_server.client(max_retries=0, timeout=0.5))[index]
    with Reader(hostile_repo) as reader:
        before = reader.invocations().total
    expected = outcome(model_server, case, None)
    got = outcome(model_server, case, tracked)
    assert got == expected, f"{case.name}: tracking changed the call's outcome"
    assert tracked.flush(timeout=120), f"{case.name}: not committed"
    with Reader(hostile_repo) as reader:
        page = reader.invocations(limit=case.calls + 5)
        assert page.total - before == case.calls, f"{case.name}: {page.total - before} recorded, not {case.calls}"
        for row in page.items[: case.calls]:
            record = reader.invocation(row.id).record
            assert record["id"] == row.id and isinstance(record["args"], dict)
            # ...and the version that ran is listed under the LMP's own name
            versions = {v.version_id for v in reader.versions(record["lmp_name"])}
            assert record["version_id"] in versions, f"{case.name}: version of {record['lmp_name']!r} not found"
    figures["hostile_inputs"] += 1
    figures["invocations_checked"] += case.calls


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.binary(max_size=64)
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=64),
    lambda children: st.lists(children, max_size=6) | st.tuples(children, children)
    | st.dictionaries(st.text(max_size=8) | st.integers() | st.booleans(), children, max_size=6)
    | st.frozensets(st.integers() | st.text(max_size=4), max_size=4),
    max_leaves=30,
)


def _plain_json(value: Any) -> Any:
    """`value` as JSON data if it is plain JSON (no NaN, 64-bit ints, str keys, UTF-8 text), else None."""
    import json

    def ok(v: Any) -> bool:
        if isinstance(v, bool) or v is None:
            return True
        if isinstance(v, int):
            return -(2**63) <= v < 2**63
        if isinstance(v, float):
            return math.isfinite(v)
        if isinstance(v, str):
            return not any(0xD800 <= ord(c) <= 0xDFFF for c in v)
        if isinstance(v, (list, tuple)):
            return all(ok(x) for x in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and ok(k) and ok(x) for k, x in v.items())
        return False

    return json.loads(json.dumps(value)) if ok(value) else None


def test_any_value_as_argument(tracked: GitStore, model_server: Any, hostile_repo: Path, figures: Any) -> None:
    seen: list[tuple[str, Any]] = []

    @settings(max_examples=50, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(value=JSON_VALUES)
    def one(value: Any) -> None:
        ell.config.store = None
        expected = str(echo(value))
        ell.config.store = tracked
        result = echo(value)
        assert str(result) == expected
        seen.append((next(iter(result.origin_trace)), _plain_json(value)))

    one()
    assert tracked.flush(timeout=60)
    with Reader(hostile_repo) as reader:
        for inv_id, plain_value in seen:
            args = reader.invocation(inv_id).record["args"]
            if plain_value is not None:
                assert args["x"] == plain_value  # plain JSON comes back as it went in
    figures["hostile_inputs"] += len(seen)
    figures["invocations_checked"] += len(seen)


def test_verbose_logging_never_replaces_the_outcome(tracked: GitStore, capsys: Any, figures: Any) -> None:
    """`verbose=True` prints each call; an exception that cannot be printed must still reach the caller."""
    ell.config.verbose = True
    with pytest.raises(Boom):
        ell.simple(model="gpt-4o-mini")(_raise_boom)("x")
    assert str(echo(RaisingRepr())) == "Echo: Tell me about RaisingRepr"
    shown = capsys.readouterr().out
    assert "Boom: <str() of this exception failed>" in shown and "echo(x=<RaisingRepr" in shown
    figures["hostile_inputs"] += 2


def test_odd_dict_keys_are_kept_not_dropped(tracked: GitStore, hostile_repo: Path, figures: Any) -> None:
    """Keys JSON cannot have become strings; the rest of the value (and the record) stays."""
    value = {2**70: "huge", -(2**64): "tiny", 1: "one", 2.5: "float", None: "none", False: "bool", (1, 2): "tuple"}
    result = echo(value)
    assert tracked.flush(timeout=30)
    with Reader(hostile_repo) as reader:
        args = reader.invocation(next(iter(result.origin_trace))).record["args"]
    assert args["x"] == {"1180591620717411303424": "huge", "-18446744073709551616": "tiny", "1": "one",
                         "2.5": "float", "null": "none", "false": "bool", "(1, 2)": "tuple"}
    figures["hostile_inputs"] += 1


def test_everything_recorded_is_valid_json_in_plain_git(hostile_repo: Path, figures: Any) -> None:
    """Runs last in this module: every stored line, read with git alone, is strict JSON."""
    from ell_git import validate

    lines = jsonl_lines(hostile_repo)
    assert len(lines) >= len(_ids())
    assert [(line[:200], validate.invocation(strict_json(line))) for line in lines
            if validate.invocation(strict_json(line))] == []  # every record ell writes is the storage format
    ids = [strict_json(line)["id"] for line in lines]
    assert len(ids) == len(set(ids))
    fsck(hostile_repo)
    with Reader(hostile_repo) as reader:
        assert reader.invocations().total == len(ids)
