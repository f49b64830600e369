"""Fixtures for the web UI: a real repository filled by running LMPs, the Flask app and test
client over it, and (for `@pytest.mark.browser` tests) `ell web` in a subprocess plus chromium.

The repository is built once per session (running LMPs is the slow part); tests that write to a
repository (live updates) work on a copy.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

import web_repo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory: pytest.TempPathFactory, model_server_session: Any) -> tuple[Path, dict[str, Any]]:
    """(path, facts) of a repository with several LMPs, versions, nested calls, a tool, an image."""
    base = tmp_path_factory.mktemp("webrepo")
    repo = base / "repo"
    repo.mkdir()
    facts = web_repo.build(repo, model_server_session, base / "src")
    facts["src"] = base / "src"
    return repo, facts


@pytest.fixture(scope="session")
def repo(built_repo: tuple[Path, dict[str, Any]]) -> Path:
    return built_repo[0]


@pytest.fixture(scope="session")
def facts(built_repo: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return built_repo[1]


@pytest.fixture(scope="session")
def app(repo: Path) -> Any:
    from webui import create_app

    return create_app(repo, testing=True)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def repo_copy(repo: Path, tmp_path: Path) -> Path:
    """A private copy of the built repository, for tests that write to it."""
    dst = tmp_path / "repo"
    shutil.copytree(repo, dst, symlinks=True)
    return dst


# -- a real server and a real browser ---------------------------------------------------------


def _cli_has_web() -> bool:
    try:
        from ell.cli import cli
    except ImportError:
        return False
    commands = getattr(cli, "commands", None)  # a click group
    return isinstance(commands, dict) and "web" in commands


def _server_command(repo: Path) -> list[str]:
    """`ell web PATH --port 0` once the CLI has it; until then webui.server.serve directly."""
    if _cli_has_web():
        code = "import sys; from ell.cli import main; sys.exit(main())"
        return [sys.executable, "-c", code, "web", str(repo), "--host", "127.0.0.1", "--port", "0"]
    code = f"from webui.server import serve; serve({str(repo)!r}, host='127.0.0.1', port=0)"
    return [sys.executable, "-c", code]


class LiveServer:
    """`ell web` running as a subprocess on 127.0.0.1 with a free port."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            _server_command(repo), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        self.url = ""
        try:
            while not self.url:
                line = lines.get(timeout=30)
                for word in line.split():
                    if word.startswith("http://127.0.0.1:"):
                        self.url = word.rstrip("/")
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"ell web did not print its URL; stderr: {self.proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # only the process this fixture started
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def live_server(repo_copy: Path) -> Iterator[LiveServer]:
    server = LiveServer(repo_copy)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install chromium) for browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records every JS dialog (an XSS would open one), page error and console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.dialogs = []
    pg.errors = []

    def on_dialog(d: Any) -> None:
        pg.dialogs.append(d.message)
        d.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    # Console errors include CSP violations (an inline style or script we should not have).
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.set_default_timeout(10_000)
    try:
        yield pg
    finally:
        context.close()
