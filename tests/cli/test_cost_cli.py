"""Cost in the terminal (issue 18): `ell invocations`, `ell log`, `ell prices`, `ell export --cost`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ell_git.cli import cli


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _mini(prompt: int, completion: int) -> float:
    return (prompt * 0.15 + completion * 0.60) / 1e6  # gpt-4o-mini list price, no cached tokens here


def test_invocations_json_and_column_carry_cost(history_repo) -> None:
    items = json.loads(run("invocations", "--json", "--repo", str(history_repo)).output)["items"]
    assert len(items) == 4
    for i in items:
        assert i["cost_usd"] == pytest.approx(_mini(i["prompt_tokens"], i["completion_tokens"]))
    text = run("invocations", "--repo", str(history_repo)).output
    assert text.count("$0.0000") == 4 or text.count("  $0.") == 4
    none = json.loads(run("invocations", "--json", "--min-cost", "1", "--repo", str(history_repo)).output)
    assert none["items"] == [] and none["total"] == 0


def test_log_json_has_cost_per_lmp_and_per_version(history_repo) -> None:
    items = json.loads(run("invocations", "--json", "--repo", str(history_repo)).output)["items"]
    total = sum(_mini(i["prompt_tokens"], i["completion_tokens"]) for i in items)
    lmps = json.loads(run("log", "--json", "--repo", str(history_repo)).output)
    (story,) = [l for l in lmps if l["name"] == "story.write"]
    assert story["cost_usd"] == pytest.approx(total) and story["unpriced_calls"] == 0
    versions = json.loads(run("log", "story.write", "--json", "--repo", str(history_repo)).output)
    assert len(versions) == 2
    for v in versions:
        mine = [i for i in items if i["version_id"] == v["version_id"]]
        assert v["cost_usd"] == pytest.approx(sum(_mini(i["prompt_tokens"], i["completion_tokens"]) for i in mine))
    assert "$" in run("log", "story.write", "--repo", str(history_repo)).output


def test_prices_set_list_unset_change_what_log_shows(history_repo) -> None:
    repo = str(history_repo)
    before = json.loads(run("log", "--json", "--repo", repo).output)[0]["cost_usd"]
    run("prices", "set", "gpt-4o-mini", "--input", "150", "--output", "600", "--from", "2020-01-01", "--repo", repo)
    listed = json.loads(run("prices", "list", "--local", "--json", "--repo", repo).output)
    assert [(p["model"], p["input"], p["from"], p["local"]) for p in listed] == [("gpt-4o-mini", 150.0, "2020-01-01", True)]
    assert json.loads(run("log", "--json", "--repo", repo).output)[0]["cost_usd"] == pytest.approx(before * 1000)
    resolved = json.loads(run("prices", "list", "gpt-4o-mini-2024-07-18", "--json", "--repo", repo).output)
    assert resolved[0]["model"] == "gpt-4o-mini" and resolved[0]["input"] == 150.0
    run("prices", "unset", "gpt-4o-mini", "--repo", repo)
    assert json.loads(run("log", "--json", "--repo", repo).output)[0]["cost_usd"] == pytest.approx(before)
    missing = CliRunner().invoke(cli, ["prices", "unset", "gpt-4o-mini", "--repo", repo])
    assert missing.exit_code != 0 and "no price" in missing.output
    bad = CliRunner().invoke(cli, ["prices", "set", "x", "--input", "1", "--output", "1", "--from", "soon", "--repo", repo])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_export_can_include_cost(history_repo, tmp_path) -> None:
    out = tmp_path / "x.jsonl"
    run("export", "story.write", "--format", "jsonl", "--cost", "-o", str(out), "--repo", str(history_repo))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and all(l["cost_usd"] == pytest.approx(_mini(l["usage"]["prompt_tokens"], l["usage"]["completion_tokens"]))
                         for l in lines)
    plain = tmp_path / "y.jsonl"
    run("export", "story.write", "-o", str(plain), "--repo", str(history_repo))
    assert all("cost_usd" not in json.loads(line) for line in plain.read_text().splitlines())
