"""Home: the LMPs (a page at a time, searchable by name) with their latest version and usage, and the
dependency graph between them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from .. import tracing
from .common import data, page_info, respond

#: LMPs per home page, and the most boxes the dependency graph draws.
PAGE_SIZE = 50
GRAPH_MAX = 100

bp = Blueprint("home", __name__)


# The `.json` twins are separate endpoints so that url_for("home.index") is always the page.
@bp.get("/.json", endpoint="index_json")
@bp.get("/index.json", endpoint="index_json_alias")
@bp.get("/")
def index() -> ResponseReturnValue:
    d = data()
    state = d.state_token()
    # One page of LMPs (by name, optionally filtered): the page costs O(page) at 5,000 LMPs.
    q = (request.args.get("q") or "").strip()[:200] or None
    page = _page(request.args.get("page"))
    found = d.lmp_page(q, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    if found["total"] and found["offset"] >= found["total"]:  # past the end: the last page
        found = d.lmp_page(q, PAGE_SIZE, (found["total"] - 1) // PAGE_SIZE * PAGE_SIZE)
    lmps = found["items"]
    names = [l["name"] for l in lmps]
    payload = {
        "state": state,
        "lmps": lmps,
        "paging": {**page_info(found["total"], found["offset"], PAGE_SIZE), "q": q or ""},
        "graph": _graph(lmps),
        "cost": _all_calls(d, lmps),  # every call, priced now
        "running": d.running(names),  # LMPs reverted to an older version (no commit is made for it)
        "sharing": d.sharing(),
        "sampled": tracing.sampled(),  # LMP → recording policies: their counts are of recorded calls
        "problems": d.problems(),
    }
    return respond("home.html", payload, partials={"lmps": "_home_partial.html"})


def _page(raw: str | None) -> int:
    try:
        return min(max(int(raw or 1), 1), 10**9)  # a 25-digit page is the last page, not an error
    except ValueError:
        return 1


def _graph(lmps: list[dict[str, Any]]) -> dict[str, Any]:
    """The dependency graph of the LMPs on this page (and what they use): the newest versions' `uses`.
    Above `GRAPH_MAX` boxes it is left out with a note (a picture of thousands of boxes reads as none)."""
    edges = [[l["name"], u] for l in lmps for u in l.get("uses") or []]
    nodes = [l["name"] for l in lmps]
    nodes += sorted({u for _, u in edges} - set(nodes))
    if len(nodes) > GRAPH_MAX:
        return {"nodes": [], "edges": [], "omitted": len(nodes)}
    return {"nodes": nodes, "edges": edges}


def _all_calls(d: Any, lmps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Cost of every call in the repository (one query over versions' sums, not the page's LMPs)."""
    total = d.cost()
    if total is None:  # a reader without costs: the page's own summaries
        return _total([l.get("cost") for l in lmps])
    return total if total.get("priced_calls") or total.get("unpriced_calls") else None


def _total(summaries: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """The sum of cost summaries (`ell_git.costs.CostSummary` as JSON); None when the reader has none."""
    from ell_git.costs import money

    found = [s for s in summaries if isinstance(s, dict)]
    if not found:
        return None
    priced = sum(s["priced_calls"] for s in found)
    unpriced = sum(s["unpriced_calls"] for s in found)
    usd = round(sum(s["cost_usd"] or 0.0 for s in found), 12) if priced else None
    return {"cost_usd": usd, "priced_calls": priced, "unpriced_calls": unpriced, "label": money(usd, unpriced)}
