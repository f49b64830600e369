"""Messages, content blocks, tool calls/results, images and lstr print exactly as in ell-ai 0.0.17.

ell-ai programs print these (`print(response)`, `print(history)`), so the output is part of the API.
`print_cases.py` prints a broad set of them; it runs under our `ell` and under the real ell-ai, and the
outputs must be equal up to object addresses. The ell-ai interpreter is ELL_AI_PYTHON or, when present,
bench/.venv-peer/bin/python. The in-process tests below pin the exact strings without ell-ai.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

import ell
from peer import MISSING, ell_ai_python, program_env
from ell.types import ContentBlock, ImageContent, Message, ToolCall, ToolResult, lstr

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parent / "print_cases.py"
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")


def _print_cases(python: str, cwd: Path, server_env: dict[str, str]) -> list[str]:
    """print_cases.py's output under `python`, run outside the checkout (so ell-ai's Python sees its own
    `ell`), with object addresses blanked."""
    env = program_env(python, server_env)
    cwd.mkdir()
    done = subprocess.run([python, str(CASES)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{python} {CASES.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return _ADDRESS.sub("0x…", done.stdout).splitlines()


def test_printing_matches_ell_ai(model_server, tmp_path):
    peer = ell_ai_python()
    if peer is None:
        pytest.skip(MISSING)
    ours = _print_cases(sys.executable, tmp_path / "ours", model_server.env())
    model_server.reset()  # the same tool call ids for the second run
    theirs = _print_cases(peer, tmp_path / "ell-ai", model_server.env())
    assert any(line.startswith("model history") for line in ours), "the model section did not run"
    assert ours == theirs


# -- the exact strings, checked without ell-ai ---------------------------------------------------------

class Person(BaseModel):
    name: str
    age: int


@ell.tool()
def add(a: int, b: int = 2) -> int:
    """Adds."""
    return a + b


URL = "https://example.com/cat.png"
IMAGE = "image=None url='https://example.com/cat.png' detail=None"


def test_content_block_shows_only_its_content():
    assert repr(ContentBlock(text="hi")) == str(ContentBlock(text="hi")) == "ContentBlock(text=hi)"
    assert repr(ContentBlock(text="")) == "ContentBlock(text=)"
    assert repr(ContentBlock(text=lstr("x", "inv-1"))) == "ContentBlock(text=x)"
    assert repr(ContentBlock(image=URL)) == f"ContentBlock(image={IMAGE})"
    assert repr(ContentBlock(parsed=Person(name="Ann", age=3))) == "ContentBlock(parsed=name='Ann' age=3)"
    assert repr(ContentBlock()) == "ContentBlock()"


def test_image_content_is_pydantic_default():
    assert repr(ImageContent(url=URL)) == f"ImageContent(image=None, url='{URL}', detail=None)"
    assert str(ImageContent(url=URL, detail="low")) == f"image=None url='{URL}' detail='low'"


def test_message_is_pydantic_default():
    m = Message(role="user", content=["look:", ImageContent(url=URL)])
    assert repr(m) == f"Message(role='user', content=[ContentBlock(text=look:), ContentBlock(image={IMAGE})])"
    assert str(m) == f"role='user' content=[ContentBlock(text=look:), ContentBlock(image={IMAGE})]"
    assert str([ell.system("s"), ell.user("u")]) == (
        "[Message(role='system', content=[ContentBlock(text=s)]), Message(role='user', content=[ContentBlock(text=u)])]"
    )


def test_tool_call_and_result():
    call = ToolCall(tool=add, params={"a": 1, "b": 5}, tool_call_id="call_1")
    assert repr(call) == "ToolCall(add(a=1 b=5), tool_call_id='call_1')"
    assert repr(ToolCall(tool=add, params={"a": 1})) == "ToolCall(add(a=1 b=2), tool_call_id='None')"
    function = re.escape(repr(add))
    assert re.fullmatch(rf"tool={function} tool_call_id='call_1' params=add\(a=1, b=5\)", str(call))
    assert re.fullmatch(rf"ContentBlock\(tool_call=tool={function} tool_call_id='call_1' params=add\(a=1, b=5\)\)",
                        repr(ContentBlock(tool_call=call)))

    result = ToolResult(tool_call_id="call_1", result=[ContentBlock(text="a"), ContentBlock(text="b")])
    assert repr(result) == "ToolResult(tool_call_id=call_1, result=a\nb)"
    assert str(result) == "tool_call_id='call_1' result=[ContentBlock(text=a), ContentBlock(text=b)]"
    assert repr(ell.user(result)) == (
        "Message(role='user', content=[ContentBlock(tool_result=tool_call_id='call_1' "
        "result=[ContentBlock(text=a), ContentBlock(text=b)])])"
    )
    assert Message(role="assistant", content=["x", call]).text == "x\nToolCall(add(a=1 b=5), tool_call_id='call_1')"
