"""`ell demo`: a real prompt history built offline, then browsed in `ell web`.

It writes a small ell program into a fresh repository and runs it, as a user would, in separate
processes against `ell.testing`'s local model server, editing the program between runs so that
several versions (with their commit messages), tool calls and nested LMPs are recorded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click

PROGRAM = '''"""ell demo program: edited between runs by `ell demo` to make new versions."""

import ell
from pydantic import BaseModel, Field

ell.init(store=".", autocommit={autocommit})

STYLE = "{style}"


def shout(text: str) -> str:
    return text{shout}


@ell.simple(model="gpt-4o-mini", temperature={temperature})
def hello(name: str):
    """{hello_doc}"""
    return f"Say hello to {{shout(name)}}."


@ell.simple(model="gpt-4o-mini", temperature=1.0)
def brainstorm(topic: str):
    """You invent short, vivid ideas."""
    return f"Give one surprising idea about {{topic}}."


@ell.simple(model="gpt-4o-mini")
def poem(topic: str):
    """You are a poet."""
    idea = brainstorm(topic)
    return f"Write a {{STYLE}} about: {{idea}}"


@ell.tool()
def get_weather(city: str = Field(description="City name")) -> str:
    """Current weather in a city."""
    return f"21 degrees and sunny in {{city}}"


@ell.complex(model="gpt-4o-mini", tools=[get_weather])
def weather_agent(history: list[ell.Message]):
    return [ell.system("You answer weather questions with the tools.")] + history


class Review(BaseModel):
    title: str
    rating: int = Field(description="1 to 10")


@ell.complex(model="gpt-4o-mini", response_format=Review)
def review(movie: str):
    """You are a film critic."""
    return f"Review {{movie}}."


if __name__ == "__main__":
    for name in ["Ada", "Grace", "Linus"]:
        print(hello(name))
    critique = poem("the sea")
    print(critique)
    history = [ell.user("Weather in Paris?")]
    reply = weather_agent(history)
    history += [reply, reply.call_tools_and_collect_as_message()]
    print(weather_agent(history).text)
    print(review("Metropolis").parsed)
'''

STAGES = [
    dict(style="haiku", shout="", temperature=0.7, hello_doc="You are a helpful assistant."),
    dict(style="haiku", shout="", temperature=0.2, hello_doc="You are a warm, concise assistant."),
    dict(style="limerick", shout=".upper()", temperature=0.2, hello_doc="You are a warm, concise assistant."),
]


def build(target: Path, server_env: dict[str, str], autocommit: bool = False, out=print) -> None:
    """Write and run each stage of the demo program in `target` (a fresh git repository)."""
    import pygit2

    pygit2.init_repository(str(target))
    env = {**os.environ, **server_env, "PYTHONDONTWRITEBYTECODE": "1"}
    program = target / "prompts.py"
    for i, stage in enumerate(STAGES, 1):
        program.write_text(PROGRAM.format(autocommit=autocommit, **stage), encoding="utf-8")
        done = subprocess.run([sys.executable, str(program)], cwd=target, env=env, capture_output=True, text=True,
                              timeout=180)
        if done.returncode != 0:
            raise click.ClickException(f"demo run {i} failed:\n{done.stderr.strip()[-2000:]}")
        out(f"  run {i}/{len(STAGES)}: {len(done.stdout.splitlines())} answers")


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-serve", is_flag=True, help="Only build the demo repository; do not start `ell web`.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def demo(directory: Path | None, no_serve: bool, host: str, port: int) -> None:
    """Build a demo prompt history offline (no API key) in DIRECTORY, then browse it."""
    from ell.testing import serve

    target = directory or Path(tempfile.mkdtemp(prefix="ell-demo-"))
    if target.exists() and any(target.iterdir()):
        raise click.ClickException(f"{target} is not empty: give a new or empty directory")
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    click.echo(f"building a demo prompt history in {target} (offline, local model server)")
    with serve() as server:
        build(target, server.env(), out=click.echo)

    from ell_git import Reader

    with Reader(target) as reader:
        lmps = reader.lmps()
        versions = sum(l.versions for l in lmps)
        calls = sum(l.invocation_count for l in lmps)
    click.echo(f"done: {len(lmps)} LMPs, {versions} versions, {calls} invocations")
    click.echo(f"try:  ell log --repo {target}   ·   git -C {target} log --oneline --glob='refs/ell/lmp/*'")
    if no_serve:
        return
    from webui.server import serve as serve_web

    serve_web(str(target), host=host, port=port)
