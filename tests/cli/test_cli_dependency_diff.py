"""`ell diff` of a version made only by a dependency shows the dependency's own change (issue 17, item 4)."""

from __future__ import annotations

import json

import triage_repo
from click.testing import CliRunner

from ell_git.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_dependency_change_is_shown_under_its_own_header(tmp_path, model_server):
    repo = triage_repo.build(tmp_path / "repo", model_server, tmp_path / "src")
    r = run("diff", "triage.classify", "v2", "v3", "--repo", str(repo))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "triage.classify: v2 → v3  (+0 -0)" and "  • triage.summarize changed" in lines
    # the dependency's diff, indented under a header naming it and the two versions used
    head = lines.index("    used triage.summarize: v1 → v2  (+1 -1)")
    below = lines[head + 1:]
    assert all(line.startswith("    ") for line in below)
    assert f'    -    """{triage_repo.SUMMARIZE_DOCS[0]}"""' in below
    assert f'    +    """{triage_repo.SUMMARIZE_DOCS[1]}"""' in below

    data = json.loads(run("diff", "triage.classify", "v2", "v3", "--repo", str(repo), "--json").output)
    (dep,) = data["dependencies"]
    assert dep["name"] == "triage.summarize" and (dep["a"]["vn"], dep["b"]["vn"]) == (1, 2)
    assert triage_repo.SUMMARIZE_DOCS[1] in dep["source_diff"] and dep["summary"]
    assert dep["dependencies"] == []
    # a version's own change carries no dependency diff
    own = json.loads(run("diff", "triage.classify", "v1", "v2", "--repo", str(repo), "--json").output)
    assert own["dependencies"] == []
