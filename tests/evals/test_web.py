"""The evaluation pages and the feedback endpoints through Flask's test client: data through the
JSON twins, markup through selectors, and the guards on every write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from ell_git import Reader


def soup(resp: Any) -> BeautifulSoup:
    assert resp.status_code == 200, resp.data[:500]
    return BeautifulSoup(resp.data, "html.parser")


@pytest.fixture
def client(eval_repo: Path) -> Any:
    from webui import create_app

    return create_app(eval_repo, testing=True, feedback=True).test_client()


@pytest.fixture
def readonly(eval_repo: Path) -> Any:
    from webui import create_app

    return create_app(eval_repo, testing=True).test_client()


def token(client: Any) -> str:
    return client.application.config["ELL_FEEDBACK_TOKEN"]


def test_evaluations_list(readonly: Any) -> None:
    data = readonly.get("/evals.json").json
    assert [e["name"] for e in data["evaluations"]] == ["capitals", "graded"]
    page = soup(readonly.get("/evals"))
    rows = page.select("#eval-table tbody tr")
    assert [r["data-id"] for r in rows] == ["capitals", "graded"]
    assert "v2" in rows[0].select_one("td.best").get_text() and page.select_one("a.json-link")["href"] == "/evals.json"
    assert page.select_one("header nav a[aria-current=page]").get_text() == "Evaluations"


def test_versions_by_metrics_table(readonly: Any, facts: dict[str, Any]) -> None:
    data = readonly.get("/evals/capitals.json").json
    assert [(r["vn"], r["means"]["correct"]) for r in data["table"]] == [(2, pytest.approx(0.8)), (1, pytest.approx(0.6))]
    assert data["table"][0]["best"] == ["correct", "criterion"] and data["table"][1]["best"] == ["criterion"]
    page = soup(readonly.get("/evals/capitals"))
    head = [th.get_text() for th in page.select("#score-table thead th")]
    assert head[-2:] == ["correct", "criterion"]
    first = page.select("#score-table tbody tr")[0]
    assert first["data-version"] == facts["v2"] and "v2" in first.select_one("td.version").get_text()
    assert "★" in first.select_one("td.best[data-labeler=correct]").get_text()
    assert len(page.select("#run-table tbody tr")) == 2
    assert page.select_one("#compare-form select[name=a]") and page.select_one("#blind-button")
    assert "return float(datapoint" in page.select_one("section.labelers").get_text()
    # The live region alone, for HTMX.
    part = soup(readonly.get("/evals/capitals", headers={"HX-Request": "true", "HX-Target": "eval"}))
    assert part.find("header") is None and part.select_one("section#eval #score-table")
    assert readonly.get("/evals/nope").status_code == 404
    assert readonly.get("/evals/capitals?eval_id=bogus").status_code == 404


def test_run_and_side_by_side(readonly: Any, facts: dict[str, Any]) -> None:
    v1, v2 = facts["runs"]["v1"], facts["runs"]["v2"]
    run = readonly.get(f"/runs/{v1}.json").json
    assert [r["output"] for r in run["results"]] == facts["outputs_v1"]
    page = soup(readonly.get(f"/runs/{v1}"))
    assert len(page.select("#result-table tbody tr")) == 5 and "Kyoto" in page.select_one("#result-table").get_text()
    data = readonly.get(f"/compare.json?a={v1}&b={v2}").json
    assert data["wins"]["correct"] == {"a": 0, "b": 1, "tie": 4}
    page = soup(readonly.get(f"/compare?a={v1}&b={v2}"))
    japan = page.select("#compare-table tbody tr")[3]
    assert "Kyoto" in japan.select_one("td.side-a").get_text() and "Tokyo" in japan.select_one("td.side-b").get_text()
    assert "correct +1" in japan.get_text()
    assert readonly.get("/compare?a=run-nope&b=" + v2).status_code == 404
    assert readonly.get("/runs/run-00000000").status_code == 404


def test_read_only_without_feedback(readonly: Any, facts: dict[str, Any]) -> None:
    inv = facts["invocations_v1"][0]
    page = soup(readonly.get(f"/invocation/{inv}"))
    assert page.select_one("#feedback") and page.select_one("#feedback-form") is None
    assert readonly.post(f"/invocation/{inv}/feedback", data={"score": "1"}).status_code == 405
    assert readonly.post("/blind/vote").status_code in (404, 405)
    v1, v2 = facts["runs"]["v1"], facts["runs"]["v2"]
    assert soup(readonly.get(f"/blind?a={v1}&b={v2}")).select_one("#blind-vote") is None


def test_feedback_post_and_its_guards(client: Any, eval_repo: Path, facts: dict[str, Any]) -> None:
    inv = facts["invocations_v2"][0]
    url = f"/invocation/{inv}/feedback"
    good = {"score": "1", "comment": "nice", "token": token(client)}
    assert client.post(url, data={"score": "1"}).status_code == 403  # no token
    assert client.post(url, data={**good, "token": "x" * 43}).status_code == 403
    assert client.post(url, data=good, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post(url, data=good, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.post(url, data=good, headers={"Host": "rebound.example:8000"}).status_code == 403
    assert Reader(eval_repo).notes.feedback(inv)["count"] == 0  # none of those wrote anything
    resp = client.post(url, data=good, headers={"Origin": "http://localhost"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/invocation/{inv}")
    part = soup(client.post(url, data={"score": "-1", "token": token(client)},
                            headers={"HX-Request": "true", "HX-Target": "feedback", "X-Ell-Token": token(client)}))
    assert part.select_one("section#feedback .fb-down").get_text().strip() == "▼ 1"
    assert [e.select_one(".badge").get_text() for e in part.select(".fb-entry")] == ["-1", "+1"]
    assert client.post(url, data={"score": "", "token": token(client)}).status_code == 400  # nothing to say
    assert client.post(url, data={"score": "lots", "token": token(client)}).status_code == 400
    assert client.post("/invocation/inv-0123456789abcdef/feedback", data=good).status_code == 404
    fb = client.get(f"/invocation/{inv}/feedback.json").json["feedback"]
    assert (fb["up"], fb["down"], fb["count"]) == (0, 1, 2)  # the newest thumb of this clone counts
    # The invocation list filters by feedback.
    commented = client.get("/invocations.json?feedback=comment").json
    assert [i["id"] for i in commented["invocations"]["items"]] == [inv] and commented["filters"]["feedback"] == "comment"
    assert client.get("/invocations.json?feedback=up").json["invocations"]["total"] == 0
    html = soup(client.get("/invocations?feedback=down"))
    assert [tr["data-id"] for tr in html.select("#invocation-table tbody tr")] == [inv]
    assert html.select_one("#filters select[name=feedback] option[selected]")["value"] == "down"


def test_blind_votes_become_feedback(client: Any, eval_repo: Path, facts: dict[str, Any]) -> None:
    v1, v2 = facts["runs"]["v1"], facts["runs"]["v2"]
    state = client.get(f"/blind.json?a={v1}&b={v2}").json
    assert (state["total"], state["voted"], state["done"], state["runs"]) == (5, 0, False, None)
    assert set(state["item"]) == {"key", "sample", "index", "input", "outputs"}  # nothing names a run
    outputs_v2 = dict(zip(facts["outputs_v1"], facts["outputs_v2"]))
    picks_v2 = 0
    while state["item"]:
        item = state["item"]
        one, two = item["outputs"]["1"], item["outputs"]["2"]
        if one == two:
            pick = "tie"
        else:  # always prefer v2's answer, wherever it is shown
            pick = "1" if one in outputs_v2.values() and two in outputs_v2 else "2"
            picks_v2 += 1
        resp = client.post("/blind/vote", data={"a": v1, "b": v2, "key": item["key"], "sample": item["sample"],
                                                "pick": pick, "token": token(client)})
        assert resp.status_code == 303
        state = client.get(f"/blind.json?a={v1}&b={v2}").json
    assert state["done"] and state["tally"] == {"a": 0, "b": picks_v2, "tie": 5 - picks_v2}
    assert state["runs"]["b"]["vn"] == 2
    page = soup(client.get(f"/blind?a={v1}&b={v2}"))
    assert page.select_one("#reveal") and page.select_one("#blind-vote") is None
    # Each vote is feedback on both invocations, naming the other.
    reader = Reader(eval_repo)
    japan_v2 = facts["invocations_v2"][3]
    (entry,) = reader.notes.feedback(japan_v2)["entries"]
    assert entry["source"] == "blind" and entry["score"] == 1.0
    assert entry["labels"]["against"] == facts["invocations_v1"][3] and entry["labels"]["blind"] == "win"
    assert reader.notes.feedback(facts["invocations_v1"][3])["down"] == 1
    bad = client.post("/blind/vote", data={"a": v1, "b": v2, "key": "nope", "sample": 0, "pick": "1",
                                           "token": token(client)})
    assert bad.status_code == 404
    assert client.post("/blind/vote", data={"a": v1, "b": v2, "key": "x", "sample": 0, "pick": "3",
                                            "token": token(client)}).status_code == 400


def test_security_headers_on_eval_pages(readonly: Any, facts: dict[str, Any]) -> None:
    for url in ("/evals", "/evals/capitals", f"/runs/{facts['runs']['v1']}"):
        resp = readonly.get(url)
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert " style=" not in resp.get_data(as_text=True)  # the CSP allows no inline style


def test_empty_repository_and_names_with_slashes(git_store: Any, tmp_path: Path) -> None:
    from webui import create_app

    import ell

    repo = tmp_path / "repo"
    client = create_app(repo, testing=True).test_client()
    page = soup(client.get("/evals"))
    assert page.select_one("#evals p.empty") and client.get("/evals.json").json["evaluations"] == []

    @ell.simple(model="gpt-4o-mini")
    def echo(text: str):
        return text

    ell.Evaluation("team/a b", dataset=[{"input": ["hi"]}], criterion=lambda d, o: "hi" in o).run(echo)
    data = client.get("/evals.json").json
    assert [e["name"] for e in data["evaluations"]] == ["team/a b"]
    href = soup(client.get("/evals")).select_one("#eval-table td.name a")["href"]
    assert href == "/evals/team/a%20b"
    assert client.get(href + ".json").json["name"] == "team/a b"
