"""Recording policies (`ell.init(record=...)`): git keeps versions always and calls per the policy,
OpenTelemetry gets every call; `ell log`, `ell invocations --json` and the web say what they hold."""

from __future__ import annotations

import json
import re

import openai
import pytest
from click.testing import CliRunner

import ell
import ell.recording
from ell_git.cli import cli
from ell.testing import Reply
from ell_git import Reader
from webui.app import create_app


def _program():
    @ell.simple(model="gpt-4o-mini")
    def inner(x: str) -> str:
        return f"say {x}"

    @ell.simple(model="gpt-4o-mini")
    def outer(x: str) -> str:
        return f"wrap {inner(x)}"

    return inner, outer


def _init(repo, model_server, spans, record):
    ell.init(store=str(repo), default_client=model_server.client(max_retries=0), autocommit=False,
             otel=spans.provider, record=record)


def _records(repo):
    with Reader(repo) as reader:
        page = reader.invocations(limit=1000)
        return [reader.invocation(r.id).record for r in page.items], {l.name for l in reader.lmps()}


@pytest.mark.parametrize("spec, expected", [
    ("all", (1.0, True, None)), (None, (1.0, True, None)), (0.25, (0.25, False, "sample 0.25")),
    ("5%", (0.05, False, "sample 0.05")), ("errors", (0.0, True, "errors")), ("none", (0.0, False, "none")),
    ("errors+0.1", (0.1, True, "errors+sample 0.1")), (1, (1.0, True, None)),
])
def test_policy_forms(spec, expected, monkeypatch):
    monkeypatch.delenv("ELL_RECORD", raising=False)
    p = ell.recording.parse(spec)
    assert (p.fraction, p.errors, p.label) == expected


def test_bad_policy_says_what_is_accepted():
    with pytest.raises(ValueError, match="'errors'"):
        ell.init(record="sometimes")
    with pytest.raises(ValueError):
        ell.recording.parse(1.5)


def test_none_keeps_versions_and_spans_but_no_calls(git_repo, model_server, spans):
    _init(git_repo, model_server, spans, "none")
    inner, outer = _program()
    for _ in range(3):
        outer("x")
    ell.get_store().flush()
    records, lmps = _records(git_repo)
    assert records == [] and {n.rsplit(".", 1)[-1] for n in lmps} == {"inner", "outer"}
    assert len(spans.get_finished_spans()) == 6  # OpenTelemetry gets every call


def test_errors_only(git_repo, model_server, spans, monkeypatch):
    monkeypatch.setenv("ELL_RECORD", "errors")  # the environment's policy, with no record= given
    _init(git_repo, model_server, spans, None)
    inner, _ = _program()
    inner("ok")
    model_server.queue(Reply(error=500))
    with pytest.raises(openai.InternalServerError):
        inner("bad")
    inner("ok again")
    ell.get_store().flush()
    records, _ = _records(git_repo)
    assert [(bool(r["error"]), r["recording"]) for r in records] == [(True, "errors")]
    assert len(spans.get_finished_spans()) == 3


def test_sampling_keeps_whole_call_trees_and_says_so(git_repo, model_server, spans):
    _init(git_repo, model_server, spans, 0.5)
    inner, outer = _program()
    for _ in range(40):
        outer("x")
    ell.get_store().flush()
    records, _ = _records(git_repo)
    outers = [r for r in records if r["lmp_name"].endswith("outer")]
    ids = {r["id"] for r in records}
    assert 4 <= len(outers) <= 36  # about half of 40 trees (p of falling outside: < 1e-6)
    assert len(records) == 2 * len(outers)
    assert all(r["parent_id"] in ids for r in records if r["lmp_name"].endswith("inner"))  # no orphans
    assert {r["recording"] for r in records} == {"sample 0.5"}
    assert len(spans.get_finished_spans()) == 80

    runner = CliRunner()
    log = runner.invoke(cli, ["log", "--repo", str(git_repo)], catch_exceptions=False)
    assert re.search(r"note: calls of .*inner.*outer.* \(sample 0\.5\): counts are of recorded calls", log.output)
    listed = json.loads(runner.invoke(cli, ["invocations", "--repo", str(git_repo), "--json", "--limit", "100"],
                                      catch_exceptions=False).output)
    by_id = {r["id"]: r for r in records}
    assert listed["items"] and all(i["trace_id"] == by_id[i["id"]]["trace_id"] and
                                   i["span_id"] == by_id[i["id"]]["span_id"] for i in listed["items"])
    assert all(re.fullmatch(r"[0-9a-f]{32}", i["trace_id"]) for i in listed["items"])
    # one trace's calls (`--trace`), listed with their trace ids in the text too
    tree = outers[0]["trace_id"]
    text = runner.invoke(cli, ["invocations", "--repo", str(git_repo), "--trace", tree.upper()],
                         catch_exceptions=False).output
    shown = [line for line in text.splitlines() if line.startswith("inv-")]
    assert len(shown) == 2 and all(f"trace {tree[:12]}" in line for line in shown), text
    assert {line.split()[0] for line in shown} == {r["id"] for r in records if r["trace_id"] == tree}
    # `ell log --json` says what the counts are of
    logged = json.loads(runner.invoke(cli, ["log", "--repo", str(git_repo), "--json"], catch_exceptions=False).output)
    assert [i["recorded_under"] for i in logged] == [["sample 0.5"], ["sample 0.5"]]
    versions = json.loads(runner.invoke(cli, ["log", outers[0]["lmp_name"], "--repo", str(git_repo), "--json"],
                                        catch_exceptions=False).output)
    assert versions[0]["recorded_under"] == ["sample 0.5"]

    app = create_app(str(git_repo), testing=True, trace_url="http://localhost:16686/trace/{trace_id}")
    client = app.test_client()
    home = client.get("/.json").json
    assert len(home["sampled"]) == 2 and all(v == ["sample 0.5"] for v in home["sampled"].values())
    assert ">sampled</abbr>" in client.get("/").text
    name = outers[0]["lmp_name"]
    assert "recorded (sample 0.5)" in client.get(f"/lmp/{name}").text
    inv = outers[0]
    page = client.get(f"/invocation/{inv['id']}")
    assert f'href="http://localhost:16686/trace/{inv["trace_id"]}"' in page.text and 'id="recording"' in page.text
    assert client.get(f"/invocation/{inv['id']}.json").json["trace_url"].endswith(inv["trace_id"])


def test_all_says_nothing_about_sampling(git_repo, model_server, spans):
    _init(git_repo, model_server, spans, "all")
    _, outer = _program()
    outer("x")
    ell.get_store().flush()
    log = CliRunner().invoke(cli, ["log", "--repo", str(git_repo)], catch_exceptions=False)
    assert "note: calls of" not in log.output
    logged = json.loads(CliRunner().invoke(cli, ["log", "--repo", str(git_repo), "--json"]).output)
    assert logged and all(i["recorded_under"] == [] for i in logged)
    app = create_app(str(git_repo), testing=True)
    assert app.test_client().get("/.json").json["sampled"] == {}
    records, _ = _records(git_repo)
    assert app.test_client().get(f"/invocation/{records[0]['id']}.json").json["trace_url"] is None


def test_web_refuses_a_bad_trace_url(git_repo):
    r = CliRunner().invoke(cli, ["web", str(git_repo), "--trace-url", "javascript:alert(1)/{trace_id}"])
    assert r.exit_code != 0 and "http(s) URL" in r.output
