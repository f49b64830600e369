"""Fixtures for evaluations, feedback and export: a git store on the local model server, a shared
repository with evaluations (copied for tests that write), `ell web --feedback` in a subprocess, and
Debian's chromium through Playwright."""

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

import ell
from evaltools import build_repo, fake_model

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{kind}_NAME", "ell tests")
        monkeypatch.setenv(f"GIT_{kind}_EMAIL", "tests@localhost")


@pytest.fixture
def fake(model_server: Any) -> Any:
    """The model server answering with `evaltools.fake_model`."""
    model_server.script(fake_model)
    return model_server


@pytest.fixture
def git_store(tmp_path: Path, fake: Any) -> Any:
    """ell on a fresh git repository at tmp_path/repo (autocommit off: messages from the diff)."""
    ell.init(store=str(tmp_path / "repo"), default_client=fake.client(max_retries=0, timeout=10), autocommit=False)
    return ell.get_store()


@pytest.fixture
def memory(fake: Any) -> ell.MemoryStore:
    store = ell.MemoryStore()
    ell.init(store=store, default_client=fake.client(max_retries=0, timeout=10))
    return store


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(path, facts) of a repository with evaluations, built once (see evaltools.build_repo)."""
    base = tmp_path_factory.mktemp("evalrepo")
    return base / "repo", build_repo(base / "repo", base / "src")


@pytest.fixture
def eval_repo(built: tuple[Path, dict[str, Any]], tmp_path: Path) -> Path:
    """A private copy of the shared repository (tests here write feedback into it)."""
    dst = tmp_path / "repo"
    shutil.copytree(built[0], dst, symlinks=True)
    return dst


@pytest.fixture
def facts(built: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return built[1]


class LiveServer:
    """`ell web PATH --port 0 [args]` as a subprocess on 127.0.0.1, stopped by its own pid."""

    def __init__(self, repo: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        code = "import sys; from ell.cli import main; sys.exit(main())"
        self.proc = subprocess.Popen([sys.executable, "-c", code, "web", str(repo), "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        self.url = ""
        try:
            while not self.url:
                self.url = next((w.rstrip("/") for w in lines.get(timeout=30).split()
                                 if w.startswith("http://127.0.0.1:")), "")
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"ell web did not start: {self.proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def feedback_server(eval_repo: Path) -> Iterator[LiveServer]:
    server = LiveServer(eval_repo, "--feedback")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent: apt-get install chromium for the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page recording JS errors and console errors (CSP violations show up there)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.set_default_timeout(10_000)
    try:
        yield pg
    finally:
        context.close()
