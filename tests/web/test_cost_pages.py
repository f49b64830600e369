"""Cost on the web pages (issue 18), through the JSON twins and selectors: a repository with calls of
a priced model and of a model without a price."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

import ell
from ell.testing import Reply
from ell_git import prices

USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "prompt_tokens_details": {"cached_tokens": 400}}
MINI = (600 * 0.15 + 400 * 0.075 + 200 * 0.60) / 1e6  # gpt-4o-mini's list price since 2024-10-01


@pytest.fixture
def cost_client(tmp_path: Path, model_server: Any) -> Any:
    import importlib.util
    import sys

    from webui import create_app

    repo = tmp_path / "repo"
    repo.mkdir()
    ell.init(store=repo, default_client=model_server.client(max_retries=0), autocommit=False)
    path = tmp_path / "webcost.py"
    path.write_text(textwrap.dedent('''
        import ell

        @ell.simple(model="gpt-4o-mini")
        def known(x: str):
            return f"say {x}"

        @ell.simple(model="acme-private-7b")
        def unknown(x: str):
            return f"say {x}"
    '''))
    spec = importlib.util.spec_from_file_location("webcost", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["webcost"] = mod
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop("webcost", None)
    for x in ("a", "b"):
        model_server.queue(Reply(text=x, usage=USAGE))
        mod.known(x)
    mod.unknown("c")
    ell.get_store().flush()
    return create_app(repo, testing=True).test_client()


def _soup(resp: Any) -> BeautifulSoup:
    assert resp.status_code == 200, resp.data[:300]
    return BeautifulSoup(resp.data, "html.parser")


def test_invocation_lists_carry_cost_and_filter_by_minimum_cost(cost_client: Any) -> None:
    items = cost_client.get("/invocations.json").json["invocations"]["items"]
    costs = {i["lmp"]: i["cost_usd"] for i in items}
    assert costs == {"webcost.known": pytest.approx(MINI), "webcost.unknown": None}
    cheap = cost_client.get(f"/invocations.json?min_cost={MINI / 2}").json["invocations"]
    assert cheap["total"] == 2 and {i["lmp"] for i in cheap["items"]} == {"webcost.known"}
    page = _soup(cost_client.get("/invocations"))
    assert page.select("#invocation-table thead th")[-1].get_text() == "Cost"
    shown = sorted(td.get_text() for td in page.select("#invocation-table td.cost"))
    assert shown == ["$0.00024", "$0.00024", "–"]
    assert page.select_one("#filters input[name=min_cost]") is not None


def test_invocation_page_shows_its_cost_or_a_dash(cost_client: Any) -> None:
    items = cost_client.get("/invocations.json").json["invocations"]["items"]
    by = {i["lmp"]: i["id"] for i in items}
    known = cost_client.get(f"/invocation/{by['webcost.known']}.json").json
    assert known["cost_usd"] == pytest.approx(MINI)
    assert "$0.00024" in _soup(cost_client.get(f"/invocation/{by['webcost.known']}")).select_one("#cost dd").get_text()
    assert cost_client.get(f"/invocation/{by['webcost.unknown']}.json").json["cost_usd"] is None
    dd = _soup(cost_client.get(f"/invocation/{by['webcost.unknown']}")).select_one("#cost dd").get_text()
    assert dd.strip().startswith("–") and "$0" not in dd


def test_home_and_lmp_pages_total_cost_and_unpriced_calls(cost_client: Any) -> None:
    home = cost_client.get("/.json").json
    by = {l["name"]: l["cost"] for l in home["lmps"]}
    assert by["webcost.known"]["cost_usd"] == pytest.approx(2 * MINI)
    assert by["webcost.unknown"] == {"cost_usd": None, "priced_calls": 0, "unpriced_calls": 1,
                                     "label": "1 unpriced call"}
    assert home["cost"]["label"] == "$0.00048 + 1 unpriced call"
    assert "$0.00048 + 1 unpriced call" in _soup(cost_client.get("/")).select_one("#total-cost").get_text()
    lmp = cost_client.get("/lmp/webcost.known.json").json
    assert lmp["cost"]["cost_usd"] == pytest.approx(2 * MINI)
    assert [(v["vn"], v["cost_usd"]) for v in lmp["cost_per_version"]] == [(1, pytest.approx(2 * MINI))]
    page = _soup(cost_client.get("/lmp/webcost.known"))
    assert page.select_one("#cost-card dd").get_text() == "$0.00048"
    assert page.select_one("#cost-chart svg") is not None


def test_a_price_set_after_the_calls_shows_on_the_pages_at_once(cost_client: Any) -> None:
    assert cost_client.get("/lmp/webcost.unknown.json").json["cost"]["cost_usd"] is None
    repo = cost_client.application.config["ELL_REPO"]
    import pygit2

    prices.set_price(pygit2.Repository(pygit2.discover_repository(str(repo))), "acme-private-7b", 1000, 1000)
    cost = cost_client.get("/lmp/webcost.unknown.json").json["cost"]
    assert cost["cost_usd"] > 0 and cost["unpriced_calls"] == 0
