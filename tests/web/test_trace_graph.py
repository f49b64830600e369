"""The invocation page's trace as a graph: folded for deep and wide agent runs, every box linked,
collapsed by default, the tree list kept."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bs4 import BeautifulSoup

from webui import tracegraph


def node(i: str, children: list[dict[str, Any]] = (), more: int = 0, child_count: int | None = None) -> dict[str, Any]:
    kids = list(children)
    return {"id": f"inv-{i}", "lmp": f"pkg.agent.{'step' if kids else 'tool'}{i}", "latency_ms": 100.0,
            "error": False, "children": kids, "more": more,
            "child_count": len(kids) + more if child_count is None else child_count}


def chain(depth: int, prefix: str = "c") -> dict[str, Any]:
    n = node(f"{prefix}{depth}")
    for d in range(depth - 1, -1, -1):
        n = node(f"{prefix}{d}", [n])
    return n


def test_deep_and_wide_runs_fold_into_more_boxes() -> None:
    wide = node("w", [node(f"w{k}") for k in range(30)], more=5)  # the trace listed 30 of 35 calls
    root = node("root", [chain(12), wide, node("leaf", child_count=7)])
    g = tracegraph.build(root, "inv-root")
    ids = {n["id"] for n in g["nodes"] if not n["more"]}
    assert "inv-c3" in ids and "inv-c4" not in ids  # off the current path: MAX_DEPTH levels below the root
    mores = {n["id"]: n["more"] for n in g["nodes"] if n["more"]}
    assert mores["inv-c3"] == 1  # c3's callee folds into "+1 more", which opens c3
    assert mores["inv-w"] == 30 - tracegraph.MAX_CHILDREN + 5
    assert mores["inv-leaf"] == 7  # a call the trace did not expand keeps its count
    assert g["hidden"] == sum(mores.values())
    assert len(g["nodes"]) <= tracegraph.MAX_NODES + len(mores)
    keys = {n["key"] for n in g["nodes"]}
    assert all(a in keys and b in keys for a, b in g["edges"]) and len(g["edges"]) == len(g["nodes"]) - 1


def test_the_path_to_the_current_invocation_never_folds() -> None:
    root = chain(12)
    g = tracegraph.build(root, "inv-c10")
    shown = [n["id"] for n in g["nodes"] if not n["more"]]
    assert shown[:11] == [f"inv-c{d}" for d in range(11)]  # the whole path, below MAX_DEPTH too
    here = next(n for n in g["nodes"] if n["current"])
    assert here["id"] == "inv-c10" and here["depth"] == 10
    svg = BeautifulSoup(str(tracegraph.svg(g, lambda i: f"/invocation/{i}")), "html.parser").select_one("svg")
    assert "wide" in svg["class"]  # too deep to shrink: it scrolls inside its own box


def test_svg_links_labels_and_escaping() -> None:
    root = node("r", [node("a"), node("b")])
    root["lmp"] = "pkg.<script>x</script>"
    g = tracegraph.build(root, "inv-a")
    svg = BeautifulSoup(str(tracegraph.svg(g, lambda i: f"/invocation/{i}")), "html.parser").select_one("svg")
    assert svg.find("script") is None and svg["viewbox"].startswith("0 0 ")
    boxes = svg.select("a.node")
    assert [a["href"] for a in boxes] == ["/invocation/inv-r", "/invocation/inv-a", "/invocation/inv-b"]
    assert svg.select_one("a.node.current")["data-id"] == "inv-a"
    texts = [t.get_text() for t in boxes[1].select("text")]
    assert texts[0] == "toola" and texts[1].endswith("100 ms") and "·" in texts[1]
    assert len(svg.select("path.edge")) == 2 and svg["aria-label"] == "Call tree as a graph: 3 calls"


def invocation_ids(client: Any, lmp: str) -> list[str]:
    data = client.get(f"/invocations.json?lmp={quote(lmp)}").get_json()
    return [i["id"] for i in data["invocations"]["items"]]


def test_invocation_page_has_a_collapsed_graph_beside_the_tree(client: Any, facts: dict[str, Any]) -> None:
    story = invocation_ids(client, facts["names"]["story"])[0]
    data = client.get(f"/invocation/{story}.json").get_json()
    child = data["children"][0]["id"]
    graph = data["trace_graph"]
    assert [(n["id"], n["depth"], n["current"]) for n in graph["nodes"]] == [(story, 0, True), (child, 1, False)]
    assert graph["edges"] == [[story, child]] and graph["hidden"] == 0
    page = BeautifulSoup(client.get(f"/invocation/{child}").data, "html.parser")
    details = page.select_one("details#trace-graph")
    assert details is not None and not details.has_attr("open")  # collapsed until asked for
    assert "2 calls" in details.select_one("summary").get_text()
    links = [a["href"] for a in details.select("svg a.node")]
    assert links == [f"/invocation/{story}", f"/invocation/{child}"]
    assert details.select_one("a.node.current")["data-id"] == child
    assert page.select_one("#trace ul.tree a.trace-link")  # the tree list is still there
    # A call with no callees and no caller has nothing to draw.
    shout = invocation_ids(client, facts["names"]["shout"])[0]
    assert client.get(f"/invocation/{shout}.json").get_json()["trace_graph"] is None
    assert BeautifulSoup(client.get(f"/invocation/{shout}").data, "html.parser").select_one("#trace-graph") is None
