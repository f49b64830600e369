"""`ell export`: invocations as fine-tuning (openai-jsonl) or preference-ready (jsonl) data, checked
line by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ell
from ell_git.cli import cli
from ell.testing import Reply, ToolCall
from ell_git import Reader
from ell_git.export import export
from evaltools import DOCS

ROLES = {"system", "user", "assistant", "tool"}


def lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def check_openai_line(row: dict[str, Any]) -> None:
    """What OpenAI's chat fine-tuning format requires of one example."""
    assert set(row) <= {"messages", "tools"} and row["messages"]
    for m in row["messages"]:
        assert m["role"] in ROLES
        assert isinstance(m["content"], (str, list)) or (m["role"] == "assistant" and m.get("tool_calls"))
    assert row["messages"][-1]["role"] == "assistant"


def run_export(repo: Path, *args: str) -> tuple[Any, Path]:
    out = repo.parent / "out.jsonl"
    result = CliRunner().invoke(cli, ["export", *args, "--repo", str(repo), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return result, out


def test_openai_jsonl(eval_repo: Path, facts: dict[str, Any]) -> None:
    result, out = run_export(eval_repo, facts["lmp"])
    rows = lines(out)
    assert len(rows) == 12  # 5 + 5 evaluated calls, 2 in the graded evaluation
    assert "wrote 12 examples (openai-jsonl)" in result.output
    for row in rows:
        check_openai_line(row)
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    by_system = {}
    for row in rows:
        by_system.setdefault(row["messages"][0]["content"], []).append(row["messages"][-1]["content"])
    assert sorted(by_system[DOCS[0]][:5]) == sorted(facts["outputs_v1"])
    # Oldest first: the same calls in the same order as the jsonl export, whose start times never decrease.
    _, out = run_export(eval_repo, facts["lmp"], "--format", "jsonl")
    full = lines(out)
    assert [r["messages"] + [r["completion"]] for r in full] == [r["messages"] for r in rows]
    starts = [r["started_at"] for r in full]
    assert starts == sorted(starts)
    # The run has two workers, so its first two calls start together: France's is one of them.
    assert "What is the capital of France?" in [r["messages"][1]["content"] for r in rows[:2]]


def test_version_filter_and_min_score(eval_repo: Path, facts: dict[str, Any]) -> None:
    _, out = run_export(eval_repo, facts["lmp"], "--version", "v1")
    assert [r["messages"][0]["content"] for r in lines(out)] == [DOCS[0]] * 5
    good, bad = facts["invocations_v2"][:2]
    ell.init(store=str(eval_repo), autocommit=False)
    ell.feedback(good, score=1, comment="crisp")
    ell.feedback(bad, score=-1)
    ell.set_store(None)
    _, out = run_export(eval_repo, facts["lmp"], "--min-score", "1")
    assert [r["messages"][-1]["content"] for r in lines(out)] == [facts["outputs_v2"][0]]
    _, out = run_export(eval_repo, facts["lmp"], "--min-score", "-1", "--format", "jsonl")
    rows = lines(out)
    assert [r["id"] for r in rows] == [good, bad] or [r["id"] for r in rows] == [bad, good]
    crisp = next(r for r in rows if r["id"] == good)
    assert crisp["feedback"] == {"score": 1.0, "up": 1, "down": 0, "comments": ["crisp"]}
    assert crisp["completion"] == {"role": "assistant", "content": facts["outputs_v2"][0]}
    assert crisp["version_id"] == facts["v2"] and crisp["args"] == {"country": "France"}
    assert [m["role"] for m in crisp["messages"]] == ["system", "user"]


def test_tools_and_errors(git_store: Any, fake: Any, tmp_path: Path) -> None:
    @ell.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @ell.complex(model="gpt-4o-mini", tools=[add])
    def calculator(question: str):
        """You add."""
        return [ell.user(question)]

    fake.queue(Reply(tool_calls=[ToolCall("add", {"a": 2, "b": 3})]), Reply(error=500))
    calculator("2 + 3?").call_tools_and_collect_as_message()
    with pytest.raises(Exception):
        calculator("broken")
    git_store.flush()
    reader = Reader(tmp_path / "repo")
    name = next(l.name for l in reader.lmps() if l.name.endswith("calculator"))
    out = tmp_path / "tools.jsonl"
    with out.open("w") as f:
        assert export(reader, name, f) == 1  # the failed call is not training data
    (row,) = lines(out)
    check_openai_line(row)
    call = row["messages"][-1]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 2, "b": 3}
    assert row["tools"][0]["function"]["name"] == "add"


def test_export_errors(eval_repo: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "no.such.lmp", "--repo", str(eval_repo)])
    assert result.exit_code == 1 and "no LMP named 'no.such.lmp'" in result.output
    result = CliRunner().invoke(cli, ["export", "x", "--format", "csv", "--repo", str(eval_repo)])
    assert result.exit_code == 2 and "csv" in result.output
