"""Cost of evaluation runs on the web (issue 18): a run's cost, and cost per point of score when
comparing two runs, through the JSON twins and the pages' markup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from ell_git import Reader


@pytest.fixture
def readonly(eval_repo: Path) -> Any:
    from webui import create_app

    return create_app(eval_repo, testing=True).test_client()


def test_a_run_shows_what_its_calls_cost(readonly: Any, eval_repo: Path, facts: dict[str, Any]) -> None:
    run_id = facts["runs"]["v1"]
    data = readonly.get(f"/runs/{run_id}.json").json
    with Reader(eval_repo) as r:
        expected = r.cost_of(facts["invocations_v1"])
    assert expected.priced_calls == len(facts["invocations_v1"]) > 0  # gpt-4o-mini has a list price
    assert data["cost"]["lmp"]["cost_usd"] == pytest.approx(expected.cost_usd)
    assert data["cost"]["lmp"]["cost_usd"] > 0
    page = BeautifulSoup(readonly.get(f"/runs/{run_id}").data, "html.parser")
    assert page.select_one("#run-cost dd").get_text().strip().startswith("$")


def test_comparing_runs_shows_cost_per_point_of_score(readonly: Any, facts: dict[str, Any]) -> None:
    a, b = facts["runs"]["v1"], facts["runs"]["v2"]
    data = readonly.get(f"/compare.json?a={a}&b={b}").json
    for side in ("a", "b"):
        usd = data[f"cost_{side}"]["lmp"]["cost_usd"]
        mean = data[side]["summaries"]["correct"]["mean"]
        assert usd > 0 and data[f"cost_per_point_{side}"]["correct"] == pytest.approx(usd / mean)
    page = BeautifulSoup(readonly.get(f"/compare?a={a}&b={b}").data, "html.parser")
    cells = page.select("#cost-table tr[data-cost-per-point=correct] td.num")
    assert len(cells) == 2 and all(c.get_text().startswith("$") for c in cells)
