"""Precision: a false positive hides part of a prompt, so the project's own examples, `ell demo` and
the public ell-ai programs (tests/compat/programs) must produce no redaction at all. Each runs as a
user runs it; then every object it recorded is searched for a placeholder, and each process reports
how many values it hid (`ell.redaction.counts()`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from privacy_tools import ROOT, all_objects, git

EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if p.name != "run_offline.py")
COMPAT = sorted((ROOT / "tests" / "compat" / "programs").glob("*.py"))
RUNNER = Path(__file__).with_name("precision_runner.py")


def _report(stdout: str) -> dict:
    line = next(l for l in reversed(stdout.splitlines()) if l.startswith("PRECISION "))
    return json.loads(line[len("PRECISION "):])


def _placeholders(repo: Path) -> int:
    return all_objects(repo).count(b"<redacted:")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_record_no_redaction(example: Path, tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    env = {**os.environ, "ELL_STORE": str(tmp_path), "PYTHONPATH": str(ROOT)}
    code = ("import os, runpy, sys; from ell.testing import serve\n"
            "with serve() as s:\n    os.environ.update(s.env()); sys.argv = ['precision_runner', sys.argv[1]]\n"
            f"    runpy.run_path({str(RUNNER)!r}, run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", code, str(example)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = _report(done.stdout)
    assert report["hidden"] == {} and report["store"] == "GitStore"
    assert git(tmp_path, "for-each-ref", "refs/ell/inv").stdout  # it did record
    assert _placeholders(tmp_path) == 0


def test_ell_demo_records_no_redaction(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from ell_git.cli import main; main()", "demo", str(tmp_path / "demo"),
                           "--no-serve"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert git(tmp_path / "demo", "for-each-ref", "refs/ell/inv").stdout
    assert _placeholders(tmp_path / "demo") == 0


@pytest.mark.parametrize("program", COMPAT, ids=lambda p: p.stem)
def test_ell_ai_programs_produce_no_redaction(program: Path, tmp_path: Path, model_server) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "compat"))
    try:
        from peer import program_env
    finally:
        sys.path.pop(0)
    requires = [l.split(":", 1)[1].split() for l in program.read_text().splitlines() if l.startswith("# requires:")]
    missing = [m for m in (requires[0] if requires else []) if __import__("importlib.util").util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    git(tmp_path, "init", "-q")
    work = tmp_path / "project"
    work.mkdir()
    done = subprocess.run([sys.executable, str(RUNNER), str(program)], cwd=work, capture_output=True, text=True,
                          timeout=120, env=program_env(sys.executable, model_server.env()))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = _report(done.stdout)
    assert report["hidden"] == {} and report["placeholders_in_memory"] == 0, report
    assert _placeholders(tmp_path) == 0  # what it recorded with its own store, if it has one
