"""`ell eval list`, `ell eval show`, and `ell web --feedback`'s refusal to leave loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ell_git.cli import cli


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_eval_list(eval_repo: Path, facts: dict[str, Any]) -> None:
    r = run("eval", "list", "--repo", str(eval_repo))
    assert r.exit_code == 0, r.output
    capitals = next(line for line in r.output.splitlines() if line.startswith("capitals"))
    assert "5 datapoints" in capitals and "correct, criterion" in capitals and "2 runs" in capitals
    assert "best evalfix_prompts.capital v2 (correct 0.8)" in capitals
    data = json.loads(run("eval", "list", "--json", "--repo", str(eval_repo)).output)
    assert [e["name"] for e in data] == ["capitals", "graded"]


def test_eval_show(eval_repo: Path, facts: dict[str, Any]) -> None:
    r = run("eval", "show", "capitals", "--repo", str(eval_repo))
    assert r.exit_code == 0, r.output
    out = r.output.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("version"))
    assert out[header].split() == ["version", "params", "runs", "n", "correct", "criterion"]
    assert out[header + 1].split()[:7] == ["evalfix_prompts.capital", "v2", "-", "1", "5", "0.8", "*"]
    assert out[header + 2].split()[:6] == ["evalfix_prompts.capital", "v1", "-", "1", "5", "0.6"]
    assert facts["runs"]["v1"] in r.output and facts["runs"]["v2"] in r.output
    one = run("eval", "show", "capitals", "--run", facts["runs"]["v1"][:10], "--repo", str(eval_repo))
    assert one.exit_code == 0 and "Kyoto" in one.output and "{'country': 'Atlantis'}" in one.output
    data = json.loads(run("eval", "show", "capitals", "--json", "--repo", str(eval_repo)).output)
    assert data["table"][0]["vn"] == 2 and data["labelers"] == ["correct", "criterion"]


def test_eval_errors(eval_repo: Path, tmp_path: Path) -> None:
    r = run("eval", "show", "nope", "--repo", str(eval_repo))
    assert r.exit_code == 1 and "no evaluation named 'nope'" in r.output and "ell eval list" in r.output
    r = run("eval", "show", "capitals", "--run", "run-ffff", "--repo", str(eval_repo))
    assert r.exit_code == 1 and "no single evaluation run" in r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("eval", "list", "--repo", str(empty))
    assert r.exit_code == 1 and "not a git repository" in r.output


def test_web_feedback_stays_on_loopback(eval_repo: Path) -> None:
    r = run("web", str(eval_repo), "--feedback", "--host", "0.0.0.0", "--port", "0")
    assert r.exit_code == 1 and "loopback only" in r.output and "--host 127.0.0.1" in r.output
    assert "--feedback" in run("web", "--help").output
    for args in (("eval", "--help"), ("eval", "list", "--help"), ("eval", "show", "--help"), ("export", "--help")):
        assert run(*args).exit_code == 0
