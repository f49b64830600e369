"""Invocations: the list across all LMPs (search + filters) and one invocation with its trace."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from .. import tracegraph, tracing
from ..data import Data, NotFound
from .common import check_inv_id, data, found, invocation_filters, page_info, resolve_vn, respond, split_json

bp = Blueprint("invocations", __name__)

#: Bounds on the trace tree: an agent loop can make thousands of calls; the page stays small.
TRACE_UP = 50
TRACE_DEPTH = 4
TRACE_NODES = 200
TRACE_CHILDREN = 50


@bp.get("/invocations.json", endpoint="index_json")
@bp.get("/invocations")
def index() -> ResponseReturnValue:
    d = data()
    filters = invocation_filters(request.args)
    if filters["lmp"] and filters["version"]:
        resolve_vn(filters, d.versions(filters["lmp"]))
    invs = d.invocations(**filters)
    payload = {
        "state": d.state_token(),
        "filters": {k: v for k, v in filters.items() if k not in ("limit", "offset")},
        "invocations": {**invs, **page_info(invs["total"], invs["offset"], filters["limit"])},
        "lmps": _lmp_choices(d, filters["lmp"]),
    }
    return respond("invocations.html", payload, partials={"invocations": "_invocations_partial.html"},
                   vn_of=d.version_numbers({row["lmp"] for row in invs["items"]}))


#: Above this many LMPs the filter offers only the chosen one (5,000 options would be O(repository)).
LMP_CHOICES_MAX = 300


def _lmp_choices(d: Data, chosen: str | None) -> list[str]:
    names = d.lmp_names()
    if len(names) <= LMP_CHOICES_MAX:
        return names
    return [chosen] if chosen else []


def _node(row: dict[str, Any]) -> dict[str, Any]:
    """A trace node from an invocation row (or a detail's record)."""
    return {"id": row.get("id"), "lmp": row.get("lmp") or row.get("lmp_name"),
            "latency_ms": row.get("latency_ms"), "error": bool(row.get("error"))}


def trace(d: Data, detail: dict[str, Any]) -> dict[str, Any]:
    """The call tree around one invocation: from its root ancestor down, bounded in size.

    The path from the root to this invocation is always expanded; other branches go
    `TRACE_DEPTH` levels deep. Each level costs one `Reader.invocation` per expanded node.
    """
    here = detail["record"]["id"]
    cache: dict[str, dict[str, Any] | None] = {here: detail}

    def get(inv_id: str) -> dict[str, Any] | None:
        if inv_id not in cache:
            try:
                cache[inv_id] = d.invocation(inv_id)
            except NotFound:
                cache[inv_id] = None
        return cache[inv_id]

    path = [detail]  # this invocation and its ancestors, innermost first
    on_path = {here}
    while len(path) <= TRACE_UP and path[-1].get("parent"):
        parent = get(path[-1]["parent"]["id"])
        if parent is None or parent["record"]["id"] in on_path:  # a cycle would be corrupt data
            break
        path.append(parent)
        on_path.add(parent["record"]["id"])
    budget = [TRACE_NODES]

    def build(det: dict[str, Any], depth: int) -> dict[str, Any]:
        budget[0] -= 1
        node = _node(det["record"])
        kids = list(det.get("children") or [])
        node["child_count"] = len(kids)
        node["children"] = []
        for row in kids[:TRACE_CHILDREN]:
            expand = row["id"] in on_path or depth > 0
            child = get(row["id"]) if expand and budget[0] > 0 else None
            if child is not None:
                node["children"].append(build(child, depth - 1))
            else:  # shown, not expanded: its row says enough to link to it
                node["children"].append({**_node(row), "child_count": None, "children": []})
        node["more"] = max(len(kids) - len(node["children"]), 0)
        return node

    return build(path[-1], TRACE_DEPTH)


@bp.get("/invocation/<inv_id>")
def show(inv_id: str) -> ResponseReturnValue:
    inv_id, _ = split_json(inv_id)
    check_inv_id(inv_id)
    d = data()
    detail = found(d.invocation, inv_id, what=f"Invocation {inv_id!r}")
    payload = {"state": d.state_token(), **detail, "trace": trace(d, detail),
               "trace_url": tracing.trace_link(detail["record"])}  # the tracing UI (ell web --trace-url)
    # The same tree as a graph (no further reads); only when there is more than one call to draw.
    tree = payload["trace"]
    calls = tree.get("children") or tree.get("child_count")
    payload["trace_graph"] = tracegraph.build(tree, detail["record"]["id"]) if calls else None
    lmp = detail["record"].get("lmp_name")
    return respond("invocation.html", payload, vn_of=d.version_numbers({lmp} if lmp else set()),
                   draw_trace_graph=tracegraph.render)
