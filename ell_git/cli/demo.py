"""`ell demo`: a real prompt history built offline, then browsed in `ell web`.

It writes a small ell program into a fresh repository and runs it, as a user would, in separate
processes against `ell.testing`'s local model server, editing the program between runs so that
several versions (with their commit messages), tool calls and nested LMPs are recorded.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import click

PROGRAM = '''"""ell demo program: edited between runs by `ell demo` to make new versions."""

import ell
import ell.evaluation
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


def uses_the_name(datapoint, output):
    return float(datapoint["expected_output"] in output)


greeting = ell.evaluation.Evaluation(
    name="greets_by_name",
    dataset=[{{"input": {{"name": n}}, "expected_output": n}} for n in ["Ada", "Grace", "Linus", "Margaret"]],
    metrics={{"uses_the_name": uses_the_name}},
)


if __name__ == "__main__":
    for name in ["Ada", "Grace", "Linus"]:
        print(hello(name))
    if {evaluate}:
        run = greeting.run(hello)
        print("greets_by_name:", run.results.metrics["uses_the_name"].mean())
    critique = poem("the sea")
    print(critique)
    history = [ell.user("Weather in Paris?")]
    reply = weather_agent(history)
    history += [reply, reply.call_tools_and_collect_as_message()]
    print(weather_agent(history).text)
    print(review("Metropolis").parsed)
'''

# The last two stages evaluate hello: the shouting helper of the third makes its score drop, so the
# evaluation pages have a story to tell (which version is better, and why).
STAGES = [
    dict(style="haiku", shout="", temperature=0.7, hello_doc="You are a helpful assistant.", evaluate=False),
    dict(style="haiku", shout="", temperature=0.2, hello_doc="You are a warm, concise assistant.", evaluate=True),
    dict(style="limerick", shout=".upper()", temperature=0.2, hello_doc="You are a warm, concise assistant.",
         evaluate=True),
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
    """Build a demo prompt history offline (no API key) in DIRECTORY, then browse it.

    Without DIRECTORY the history is built in a temporary folder, removed when the server stops."""
    if directory is not None and directory.exists() and any(directory.iterdir()):
        raise click.ClickException(f"{directory} is not empty: give a new or empty directory")
    if not no_serve:
        port = _port_to_serve(host, port)  # before building: a taken port is known in a millisecond
    # Without DIRECTORY the history lives in a temporary folder, removed when the server stops.
    temporary = directory is None and not no_serve
    target = directory or Path(tempfile.mkdtemp(prefix="ell-demo-"))
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    try:
        _build_and_serve(target, no_serve, host, port, temporary)
    finally:
        if temporary:
            shutil.rmtree(target, ignore_errors=True)


def _port_to_serve(host: str, port: int) -> int:
    """`port` if it can be bound on `host`, else a free one (said on the terminal)."""
    try:
        with socket.create_server((host, port)):
            return port
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    with socket.create_server((host, 0)) as probe:
        free = int(probe.getsockname()[1])
    click.echo(f"port {port} is taken: serving on port {free} instead (or choose one with --port)")
    return free


def _build_and_serve(target: Path, no_serve: bool, host: str, port: int, temporary: bool) -> None:
    from ell.testing import serve

    where = f"{target} (temporary: removed when you stop the server; give a DIRECTORY to keep it)" if temporary \
        else str(target)
    click.echo(f"building a demo prompt history in {where} (offline, local model server)")
    with serve() as server:
        build(target, server.env(), out=click.echo)

    from ..reader import Reader

    with Reader(target) as reader:
        lmps = reader.lmps()
        versions = sum(l.versions for l in lmps)
        calls = sum(l.invocation_count for l in lmps)
        runs = sum(e.runs for e in reader.evals.evaluations())
    click.echo(f"done: {len(lmps)} LMPs, {versions} versions, {calls} invocations, {runs} evaluation runs")
    click.echo(f"try:  ell log --repo {target}   ·   git -C {target} log --oneline --glob='refs/ell/lmp/*'")
    if no_serve:
        return
    from webui.server import serve as serve_web

    serve_web(str(target), host=host, port=port)
