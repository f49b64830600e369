"""The LMP page's "did it get better" chart: evaluation means, thumbs and cost per version, through
the JSON twin (data) and the page (markup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup


@pytest.fixture
def client(eval_repo: Path) -> Any:
    from webui import create_app

    return create_app(eval_repo, testing=True, feedback=True).test_client()


def thumb(client: Any, inv: str, score: str) -> None:
    tok = client.application.config["ELL_FEEDBACK_TOKEN"]
    resp = client.post(f"/invocation/{inv}/feedback", data={"score": score, "token": tok},
                       headers={"Origin": "http://localhost"})
    assert resp.status_code == 303, resp.data[:300]


def test_scores_and_feedback_per_version(client: Any, facts: dict[str, Any]) -> None:
    thumb(client, facts["invocations_v1"][0], "-1")
    thumb(client, facts["invocations_v2"][0], "1")
    thumb(client, facts["invocations_v2"][1], "1")
    thumb(client, facts["invocations_v2"][2], "-1")
    data = client.get(f"/lmp/{facts['lmp']}.json").json
    rows = data["per_version"]
    assert [(r["vn"], r["version_id"]) for r in rows] == [(1, facts["v1"]), (2, facts["v2"])]
    assert rows[0]["scores"] == {"capitals/correct": pytest.approx(0.6), "capitals/criterion": pytest.approx(1.0)}
    assert rows[1]["scores"]["capitals/correct"] == pytest.approx(0.8)
    assert "graded/graded" in rows[1]["scores"] and "graded/graded" not in rows[0]["scores"]
    assert [r["feedback"] for r in rows] == [{"up": 0, "down": 1}, {"up": 2, "down": 1}]
    assert all("cost_usd" in r for r in rows)

    page = BeautifulSoup(client.get(f"/lmp/{facts['lmp']}").data, "html.parser")
    svg = page.select_one("#progress #version-chart svg.version-chart")
    assert svg is not None and svg["viewbox"].startswith("0 0 ") and "v1 to v2" in svg["aria-label"]
    assert "capitals/correct" in svg["aria-label"]  # two evaluations scored it: metrics keep their evaluation
    lines = svg.select("g.series")
    assert sorted(g["data-metric"] for g in lines) == ["capitals/correct", "capitals/criterion", "graded/graded"]
    correct = svg.select_one('g.series[data-metric="capitals/correct"]')
    assert [t.get_text() for t in correct.select("circle title")] == ["v1 · capitals/correct: 0.6",
                                                                       "v2 · capitals/correct: 0.8"]
    assert [g.select_one("title").get_text() for g in svg.select("g.thumbs")] == ["v1: 0 up, 1 down", "v2: 2 up, 1 down"]
    assert [t.get_text() for t in svg.select("text.tick")] == ["v1", "v2"]
    table = page.select("#version-table tbody tr")
    assert [r["data-version"] for r in table] == [facts["v2"], facts["v1"]]  # newest first, like History
    assert table[0].select_one('td[data-metric="capitals/correct"]').get_text() == "0.8"
    assert (table[0].select_one(".fb-up").get_text(), table[0].select_one(".fb-down").get_text()) == ("2", "1")
    assert page.select_one("#cost-chart") is None  # the per-version chart carries cost: no second chart
    thumb(client, facts["invocations_v1"][1], "1")  # new feedback shows at once (the memo follows the state)
    assert client.get(f"/lmp/{facts['lmp']}.json").json["per_version"][0]["feedback"] == {"up": 1, "down": 1}
    # Live: the invocations region's refresh brings the chart along out of band, as it does the stats.
    live = BeautifulSoup(client.get(f"/lmp/{facts['lmp']}", headers={"HX-Request": "true",
                                                                    "HX-Target": "invocations"}).data, "html.parser")
    oob = live.select_one("section#progress[hx-swap-oob]")
    assert oob is not None and not oob.has_attr("hidden")
    assert oob.select_one("g.thumbs title").get_text() == "v1: 1 up, 1 down"


def test_no_chart_without_scores_or_feedback(client: Any, facts: dict[str, Any]) -> None:
    from webui import versionchart

    rows = versionchart.per_version([{"version_id": "a", "vn": 1}], {}, {}, [{"version_id": "a", "cost_usd": 0.5}])
    assert rows == [{"vn": 1, "version_id": "a", "scores": {}, "feedback": {"up": 0, "down": 0}, "cost_usd": 0.5}]
    assert not versionchart.has_signal(rows)
    # The critic LMP is called by the graded evaluation, never evaluated itself.
    data = client.get("/lmp/evalfix_prompts.critic.json").json
    assert all(not r["scores"] and r["feedback"] == {"up": 0, "down": 0} for r in data["per_version"])
    page = BeautifulSoup(client.get("/lmp/evalfix_prompts.critic").data, "html.parser")
    empty = page.select_one("section#progress")
    assert empty.has_attr("hidden") and empty.find("svg") is None  # a place for live updates to fill


def test_many_versions_stay_readable() -> None:
    from webui import versionchart

    versions = [{"version_id": f"v{i}", "vn": i} for i in range(1, 41)]
    scores = {f"v{i}": {"e/acc": i / 40} for i in range(1, 41, 3)}
    rows = versionchart.per_version(versions, scores, {"v5": {"up": 1, "down": 0}}, [])
    svg = BeautifulSoup(str(versionchart.chart(rows)), "html.parser").select_one("svg")
    ticks = [t.get_text() for t in svg.select("text.tick")]
    assert 5 <= len(ticks) <= 14 and ticks[0] == "v1" and ticks[-1] == "v40"
    assert len(svg.select("circle")) == len(scores) and svg.select_one("g.panel-cost") is None
    assert svg["width"] == "320" and "acc" in svg["aria-label"]  # one evaluation: the labeler's name alone
