"""`ell.init(verbose=True)`: each call drawn on stdout (prompt, outputs, tools, nesting), through the
real openai SDK against ell.testing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pty
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image
from pydantic import BaseModel, Field

import ell
from ell.lmp import tracking, verbose
from ell.testing import Reply, ToolCall

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 80-column terminal, no colour preference from the environment."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setattr(ell.config, "override_wrapped_logging_width", None)
    monkeypatch.setattr(ell.config, "wrapped_logging", True)


@pytest.fixture
def store(memory_store: ell.MemoryStore) -> ell.MemoryStore:
    """ell against the local server, recording in memory, with `verbose=True`."""
    ell.config.verbose = True  # restored by conftest
    return memory_store


@ell.tool()
def get_weather(city: str = Field(description="City name")) -> str:
    """Current weather in a city."""
    return f"21 celsius in {city}"


class Review(BaseModel):
    title: str
    rating: int


def _box(out: str, name: str) -> list[str]:
    """The lines of the first box whose header names `name` (at any depth)."""
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if re.search(rf"║ {name}\(", l))
    indent = lines[start].index("║ " + name)
    end = next(i for i in range(start, len(lines)) if lines[i][indent:].startswith("╚"))
    return lines[start - 1 : end + 1]


def test_prompt_and_output_by_role_with_latency_tokens_and_version(model_server, store, capsys):
    @ell.simple(model="gpt-4o-mini", temperature=0.2)
    def hello(name: str):
        """You are a helpful assistant."""
        return f"Say hello to {name}."

    assert hello("Ada") == "Echo: Say hello to Ada."
    out, err = capsys.readouterr()
    assert err == ""
    lines = _box(out, "hello")
    text = "\n".join(lines)
    assert re.search(rf"║ hello\(name='Ada'\) +{ell.version_of(hello)}$", lines[1])
    assert "║ Prompt:  gpt-4o-mini · temperature=0.2" in text
    assert "│      system: You are a helpful assistant." in text
    assert "│        user: Say hello to Ada." in text
    assert "│   assistant: Echo: Say hello to Ada." in text
    usage = store.invocations[-1].usage
    assert re.search(rf"║ Output:  \d+ ms · {usage['prompt_tokens']} prompt \+ {usage['completion_tokens']} "
                     r"completion tokens", text)
    assert text.index("user: Say hello") < text.index("Output:") < text.index("assistant: Echo")
    assert lines[0].startswith("╔") and lines[-1].startswith("╚")


def test_the_prompt_shows_before_the_model_answers(model_server, store, monkeypatch):
    printed = io.StringIO()
    monkeypatch.setattr(sys, "stdout", printed)
    seen_by_the_model: list[str] = []
    model_server.queue(lambda request: seen_by_the_model.append(printed.getvalue()))  # None: the default echo

    @ell.simple(model="m")
    def ask(q: str):
        return f"Question: {q}"

    ask("why?")
    (before,) = seen_by_the_model
    assert "user: Question: why?" in before and "Output:" not in before
    assert "assistant: Echo: Question: why?" in printed.getvalue()


def test_tool_calls_and_tool_results(model_server, store, capsys):
    model_server.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"}, id="call_oslo")]))

    @ell.complex(model="gpt-4o-mini", tools=[get_weather])
    def agent(history: list[ell.Message]):
        return [ell.system("Use the tools.")] + history

    history = [ell.user("Weather in Oslo?")]
    reply = agent(history)
    first = capsys.readouterr().out
    assert "tools: get_weather" in first
    assert "│   assistant: → get_weather(city='Oslo') [call_oslo]" in first

    agent(history + [reply, reply.call_tools_and_collect_as_message()])
    second = capsys.readouterr().out
    assert "agent(history=[3 messages])" in second
    assert "│        user: ← get_weather result [call_oslo]: 21 celsius in Oslo" in second


def test_structured_output_is_shown_parsed(model_server, store, capsys):
    model_server.queue({"title": "Metropolis", "rating": 5})

    @ell.complex(model="gpt-4o-mini", response_format=Review)
    def review(movie: str):
        """You are a film critic."""
        return f"Review {movie}."

    assert review("Metropolis").parsed == Review(title="Metropolis", rating=5)
    out = capsys.readouterr().out
    assert "response_format=Review" in out
    assert '│   assistant: Review {"title":"Metropolis","rating":5}' in out


def test_a_nested_lmp_is_drawn_inside_its_parent(model_server, store, capsys):
    @ell.simple(model="m")
    def leaf(word: str):
        return f"leaf {word}"

    @ell.simple(model="m")
    def middle(word: str):
        return f"middle {leaf(word)}"

    @ell.simple(model="m")
    def top(word: str):
        """Top system."""
        return f"top {middle(word)}"

    top("x")
    lines = capsys.readouterr().out.splitlines()
    starts = [next(i for i, l in enumerate(lines) if f"║ {n}(word='x')" in l) for n in ("top", "middle", "leaf")]
    assert starts == sorted(starts)  # each header before the boxes inside it
    assert lines[starts[0]].startswith("║ top(")
    assert lines[starts[1]].startswith("║   ║ middle(")
    assert lines[starts[2]].startswith("║   ║   ║ leaf(")
    assert "║   ║   │        user: leaf x" in lines
    assert "║   │        user: middle Echo: leaf x" in lines
    assert "│        user: top Echo: middle Echo: leaf x" in lines
    # the parent's prompt comes after its children's boxes are closed
    assert lines.index("║   │        user: middle Echo: leaf x") > lines.index("║   ║   │        user: leaf x")
    assert lines.index("│        user: top Echo: middle Echo: leaf x") > max(
        i for i, l in enumerate(lines) if l.startswith("║   ╚"))
    assert len(lines[-1]) == 80 and all(len(l) <= 80 for l in lines)


def test_async_nesting_follows_the_tracking_context(model_server, store, capsys):
    @ell.simple(model="m")
    async def leaf(i: int):
        return f"leaf {i}"

    @ell.simple(model="m")
    async def root():
        parts = await asyncio.gather(*(leaf(i) for i in range(2)))
        return " ".join(parts)

    asyncio.run(root())
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("║ root(")
    assert sum(l.startswith("║   ║ leaf(i=") for l in lines) == 2
    assert "│        user: Echo: leaf 0 Echo: leaf 1" in lines


def test_long_text_is_cut_in_the_middle_with_a_count(model_server, store, capsys):
    body = "BEGIN " + "lorem ipsum " * 2000 + " END"

    @ell.simple(model="m")
    def summarise(text: str):
        return text

    summarise(body)
    out = capsys.readouterr().out
    assert re.search(rf"summarise\(text='BEGIN lorem ipsum [a-z ]+…' \({len(body):,} chars\)\)", out)
    prompt = out[out.index("Prompt:"):out.index("Output:")]
    assert "BEGIN lorem" in prompt and "ipsum  END" in prompt
    (cut,) = re.findall(r"… ([\d,]+) characters cut …", prompt)
    kept = "".join(re.sub(r"^│ +(user: )?", "", l) for l in prompt.splitlines() if l.startswith("│") and "cut" not in l)
    assert int(cut.replace(",", "")) > len(body) - 2500 and len(kept) < 2500
    assert len(out.splitlines()) < 100


def test_many_short_lines_are_cut_by_line_count(model_server, store, capsys):
    @ell.simple(model="m")
    def numbers():
        return "\n".join(str(i) for i in range(500))

    numbers()
    prompt = capsys.readouterr().out.split("Prompt:")[1].split("Output:")[0]
    (lines_cut,) = re.findall(r"… ([\d,]+) lines cut …", prompt)
    assert "user: 0" in prompt and "│              499" in prompt and int(lines_cut) > 400


def test_images_show_as_placeholders_with_their_size(model_server, store, capsys):
    @ell.complex(model="m")
    def look(image: Image.Image):
        return [ell.user(["What is this?", image, ell.ImageContent(url="data:image/png;base64," + "QUFB" * 5000)])]

    look(Image.new("RGB", (64, 48)))
    out = capsys.readouterr().out
    assert "look(image=<image 64×48>)" in out
    assert "│              [image 64×48 RGB]" in out and "│              [image image/png, 15.0 kB]" in out
    assert "QUFB" not in out and "base64" not in out


def test_several_choices_are_numbered(model_server, store, capsys):
    @ell.simple(model="m", n=2)
    def pick():
        return "pick"

    pick()
    out = capsys.readouterr().out
    assert "│   choice 1 of 2\n│   assistant: Echo: pick" in out and "│   choice 2 of 2" in out


def test_an_error_is_printed_and_still_raised(model_server, store, capsys):
    model_server.queue(Reply(error=400, error_message="bad things"))

    @ell.simple(model="m")
    def fails():
        return "go"

    with pytest.raises(Exception, match="bad things"):
        fails()
    out = capsys.readouterr().out
    assert "user: go" in out and re.search(r"║ Error:  \d+ ms", out) and "bad things" in out
    assert out.rstrip().endswith("╝")


def test_a_prompt_function_that_raises_is_shown_with_its_error(model_server, store, capsys):
    @ell.simple(model="m")
    def broken(x: int):
        raise KeyError("missing")

    with pytest.raises(KeyError):
        broken(1)
    box = "\n".join(_box(capsys.readouterr().out, "broken"))
    assert "broken(x=1)" in box and "KeyError: 'missing'" in box and "Prompt:" not in box


def test_a_stream_prints_its_output_when_it_ends(model_server, store, capsys):
    @ell.simple(model="m")
    def story():
        return "tell a story"

    stream = story(stream=True)
    before = capsys.readouterr().out
    assert "user: tell a story" in before and "Output:" not in before
    assert "".join(stream) == "Echo: tell a story"
    after = capsys.readouterr().out
    assert "Output:" in after and "assistant: Echo: tell a story" in after and after.rstrip().endswith("╝")


def test_a_frozen_call_shows_its_replayed_output(model_server, store, capsys):
    @ell.simple(model="m")
    def again(x: str):
        return f"again {x}"

    again("a")
    capsys.readouterr()
    with store.freeze(again):
        again("a")
    box = "\n".join(_box(capsys.readouterr().out, "again"))
    assert "replayed (frozen)" in box and "assistant: Echo: again a" in box and "Prompt:" not in box


def test_exempt_lmps_print_nothing_and_their_children_stay_at_their_depth(model_server, store, capsys):
    @ell.simple(model="m")
    def child():
        return "child"

    @ell.simple(model="m", exempt_from_tracking=True)
    def hidden():
        return f"hidden {child()}"

    hidden()
    out = capsys.readouterr().out
    assert "hidden(" not in out and "user: hidden" not in out
    assert out.splitlines()[1].startswith("║ child()")


def test_no_colour_unless_a_terminal_or_forced(model_server, store, capsys, monkeypatch):
    @ell.simple(model="m")
    def hi():
        return "hi"

    hi()
    assert not ANSI.search(capsys.readouterr().out)
    monkeypatch.setenv("FORCE_COLOR", "1")
    hi()
    coloured = capsys.readouterr().out
    assert "\x1b[34m╔" in coloured and "\x1b[34m│   \x1b[0m\x1b[32m     user: hi\x1b[0m" in coloured
    assert ANSI.sub("", coloured).splitlines()[0] == "╔" + "═" * 78 + "╗"
    monkeypatch.setenv("NO_COLOR", "1")
    hi()
    assert not ANSI.search(capsys.readouterr().out)


PROGRAM = textwrap.dedent("""
    import ell
    ell.init(verbose=True)

    @ell.simple(model="m")
    def hi():
        return "hi from a terminal"

    hi()
""")


def _run_in_a_terminal(env: dict[str, str]) -> str:
    """PROGRAM's stdout when that stdout is a pseudo-terminal."""
    main, child = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "NO_COLOR", "FORCE_COLOR", "COLUMNS"))},
           **env, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM], stdout=child, stderr=subprocess.PIPE, env=env)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=60) == 0, proc.stderr.read().decode()
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_unless_no_color(model_server):
    out = _run_in_a_terminal(model_server.env())
    assert "\x1b[34m╔" in out and "\x1b[33massistant: Echo: hi from a terminal\x1b[0m" in out
    plain = _run_in_a_terminal({**model_server.env(), "NO_COLOR": "1"})
    assert "assistant: Echo: hi from a terminal" in plain and "\x1b[" not in plain


def test_width_follows_the_terminal_and_the_override(model_server, store, capsys, monkeypatch):
    model_server.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo " * 30})]))

    @ell.complex(model="m", tools=[get_weather], temperature=0.5, max_tokens=100, top_p=0.9, seed=1)
    def chatty(text: str):
        """A system prompt that is long enough to need wrapping at sixty columns, surely."""
        return text

    monkeypatch.setenv("COLUMNS", "60")
    chatty("word " * 100 + "x" * 150)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "╔" + "═" * 58 + "╗"
    assert max(len(l) for l in lines) <= 60

    monkeypatch.setattr(ell.config, "override_wrapped_logging_width", 100)
    chatty("short")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines[0]) == 100 and max(len(l) for l in lines) <= 100

    monkeypatch.setattr(ell.config, "wrapped_logging", False)
    chatty("word " * 100)
    out = capsys.readouterr().out
    assert "│        user: " + ("word " * 100).strip() in out.splitlines()  # one line, not wrapped


def test_printing_never_breaks_the_call(model_server, store, monkeypatch, capsys):
    class RaisingRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    @ell.simple(model="m")
    def echo(x):
        return f"about {type(x).__name__}"

    assert echo(RaisingRepr()) == "Echo: about RaisingRepr"
    assert re.search(r"echo\(x=<RaisingRepr[^>]*>\)", capsys.readouterr().out)

    broken = io.StringIO()
    broken.close()  # every write raises ValueError
    monkeypatch.setattr(sys, "stdout", broken)
    first_failure = "verbose" not in ell.warn._warned  # ell warns once per kind of failure
    with pytest.warns(RuntimeWarning, match="could not print") if first_failure else contextlib.nullcontext():
        assert echo(1) == "Echo: about int"
    assert store.invocations[-1].outputs[0].text == "Echo: about int"
    assert not verbose._frames  # nothing left behind by the failed prints


def test_nothing_is_printed_when_verbose_is_off(model_server, store, capsys):
    ell.config.verbose = False

    @ell.simple(model="m")
    def quiet():
        return "shh"

    quiet()
    assert capsys.readouterr().out == "" and not verbose._frames

