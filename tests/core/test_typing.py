"""The decorators are typed: a user's program passes `mypy --strict`, decorated calls keep their
parameters and give the answer's type, and the LMP object still looks like the function.

mypy runs once for the whole module (it takes tens of seconds on a loaded machine); ell's own
modules are analysed for their types but only the user's files are reported (follow-imports=silent).
"""

from __future__ import annotations

import inspect
import pickle
import re
import textwrap
from pathlib import Path

import pytest

import ell
from ell.types.lmp import LMPType, lmp_of

ROOT = Path(__file__).resolve().parents[2]

# Each `reveal_type` line states what mypy must say; lines marked ERROR must be rejected.
REVEALS = '''
from __future__ import annotations

import ell

@ell.simple(model="m")
def hello(name: str) -> str:
    return name

@ell.lm(model="m")
def old(name: str) -> str:
    return name

@ell.complex(model="m")
def chat(history: list[ell.Message]) -> list[ell.Message]:
    return history

@ell.complex(model="m", post_callback=lambda m: len(m.text))
def count(text: str) -> str:
    return text

@ell.tool()
def add(a: int, b: int = 1) -> int:
    return a + b

@ell.simple(model="m")
async def later(name: str) -> str:
    return name

class Agent:
    @ell.simple(model="m")
    def speak(self, topic: str) -> str:
        return topic

reveal_type(hello("x"))  # ell.types.lstr.lstr
reveal_type(old("x"))  # ell.types.lstr.lstr
reveal_type(chat([]))  # ell.types.message.Message
reveal_type(count("x"))  # int
reveal_type(add(1))  # int
reveal_type(later)  # ell.lmp.lmp.AsyncLMP[[name: str], ell.types.lstr.lstr]

async def use() -> None:
    reveal_type(await later("x"))  # ell.types.lstr.lstr
    later("x")  # ERROR: a coroutine not awaited
reveal_type(Agent().speak("x"))  # ell.types.lstr.lstr
reveal_type(Agent.speak)  # ell.lmp.lmp.LMP[[self: reveals.Agent, topic: str], ell.types.lstr.lstr]
reveal_type(hello)  # ell.lmp.lmp.LMP[[name: str], ell.types.lstr.lstr]
hello(1)  # ERROR
hello("x", "y")  # ERROR
add("1")  # ERROR
Agent().speak(2)  # ERROR
'''


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """mypy's output for the example file and the reveal file, run once, by file name."""
    api = pytest.importorskip("mypy.api")
    tmp = tmp_path_factory.mktemp("typing")
    reveals = tmp / "reveals.py"
    reveals.write_text(textwrap.dedent(REVEALS))
    example = ROOT / "examples" / "typed.py"
    out, err, _ = api.run(["--strict", "--follow-imports=silent", "--no-error-summary", "--show-absolute-path",
                           "--cache-dir", str(tmp / "cache"), str(example), str(reveals)])
    assert not err, err
    lines = out.splitlines()
    return {"example": "\n".join(l for l in lines if l.startswith(str(example))),
            "reveals": "\n".join(l for l in lines if l.startswith(str(reveals)))}


def test_the_typed_example_passes_mypy_strict(mypy_report: dict[str, str]) -> None:
    assert mypy_report["example"] == ""


def test_decorated_calls_reveal_their_types(mypy_report: dict[str, str]) -> None:
    source = textwrap.dedent(REVEALS).splitlines()
    found: dict[int, list[str]] = {}
    for line in mypy_report["reveals"].splitlines():
        m = re.match(r".*?:(\d+): (\w+): (.*)$", line)
        assert m, line
        found.setdefault(int(m.group(1)), []).append(f"{m.group(2)}: {m.group(3)}")
    for number, text in enumerate(source, 1):
        said = found.pop(number, [])
        if "reveal_type(" in text:
            expected = text.split("# ", 1)[1]  # mypy before 2.0 says "builtins.int" for "int"
            assert [s.replace("builtins.", "") for s in said] == [f'note: Revealed type is "{expected}"'], (text, said)
        elif "# ERROR" in text:
            assert any(s.startswith("error:") for s in said), (text, said)
    assert not found, found  # nothing else was reported


@ell.simple(model="m", exempt_from_tracking=True)
def module_level(name: str, excited: bool = False) -> str:
    """Doc."""
    return name


def test_an_lmp_looks_like_its_function() -> None:
    assert module_level.__name__ == "module_level" and module_level.__doc__ == "Doc."
    assert module_level.__module__ == __name__ and module_level.__qualname__ == "module_level"
    assert list(inspect.signature(module_level).parameters) == ["name", "excited"]
    assert module_level.__wrapped__ is module_level.__ell_func__
    assert pickle.loads(pickle.dumps(module_level)) is module_level  # by reference, like a function


def test_an_async_lmp_is_a_coroutine_function() -> None:
    @ell.simple(model="m", exempt_from_tracking=True)
    async def later(name: str) -> str:
        return name

    assert inspect.iscoroutinefunction(later) and not inspect.iscoroutinefunction(module_level)


def test_ell_ai_attribute_names_are_readable() -> None:
    @ell.tool()
    def add(a: int) -> int:
        return a

    @ell.complex(model="m", tools=[add], temperature=0.5)
    def chat(text: str) -> str:
        return text

    assert chat.__ell_type__ is LMPType.LM and add.__ell_type__ is LMPType.TOOL
    assert chat.__ell_api_params__ == {"temperature": 0.5} and chat.__ell_tools__ == [add]
    assert add.__ell_params_model__.model_json_schema()["required"] == ["a"]
    version = ell.version_of(chat)  # lazy versioning: computed now (ell-ai sets these on versioning too)
    assert chat.__ell_hash__ == version and chat.__ell_uses__ == (add,)  # its tools are among its uses
    assert chat.__ell_name__.endswith("chat") and chat.__ell_kind__ == "complex"


def test_lmp_of_finds_the_lmp_behind_methods_and_wrappers() -> None:
    import functools

    class Agent:
        @ell.simple(model="m", exempt_from_tracking=True)
        def speak(self, topic: str) -> str:
            return topic

    @functools.wraps(module_level)
    def logged(*args: object, **kwargs: object) -> object:
        return module_level(*args, **kwargs)  # type: ignore[arg-type]

    assert lmp_of(Agent().speak) is Agent.__dict__["speak"] and Agent.speak is Agent.__dict__["speak"]
    assert lmp_of(logged) is module_level and logged.__name__ == "module_level"
    assert lmp_of(len) is None and lmp_of("text") is None
