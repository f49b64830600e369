"""The call tree of an invocation as a graph: boxes (short LMP name, short id, latency) linked to
their invocation pages, edges caller → callee, drawn left to right so that deep agent runs grow
downwards (one row per leaf) rather than off the side of the page.

It draws the tree `views.invocations.trace` already read (no further reads), and keeps it readable
by cutting it again: below `MAX_DEPTH`, past `MAX_CHILDREN` siblings or `MAX_NODES` boxes, callees
fold into one "+N more" box that links to the caller's page (where they unfold). The path from the
root to the invocation shown is never folded.
"""

from __future__ import annotations

from typing import Any, Callable

from markupsafe import Markup, escape

from . import format as fmt

#: Levels below the root drawn off the path to the current invocation.
MAX_DEPTH = 4
#: Callees drawn per caller (the current invocation's own callees: `MAX_CHILDREN_HERE`).
MAX_CHILDREN = 6
MAX_CHILDREN_HERE = 20
#: Boxes in all; past this every further caller folds its callees.
MAX_NODES = 60

_W, _H = 168, 36  # a box: two lines of text and a latency bar
_COL_GAP, _ROW_GAP, _PAD = 36, 8, 6
_NAME_CHARS = 21  # what fits in a box at 12px monospace


def _path_to(node: dict[str, Any], current: str) -> set[str]:
    """Ids of `current` and its ancestors within the tree (empty when it is not in it)."""
    if node.get("id") == current:
        return {current}
    for c in node.get("children") or ():
        found = _path_to(c, current)
        if found:
            return found | {node.get("id")}
    return set()


def build(trace: dict[str, Any], current: str) -> dict[str, Any]:
    """Nodes (with depth and row) and edges of the graph; `hidden` counts the calls folded away.

    A node is ``{key, id, lmp, label, sub, latency_ms, error, current, depth, row, more}``; ``more``
    is the number of calls a "+N more" box stands for (``id`` then names the caller to open)."""
    path = _path_to(trace, current)
    nodes: list[dict[str, Any]] = []
    edges: list[list[str]] = []
    hidden = [0]
    next_row = [0.0]

    def add_more(parent: dict[str, Any], n: int, depth: int) -> float:
        hidden[0] += n
        key = f"more:{parent['id']}"
        nodes.append({"key": key, "id": parent["id"], "lmp": None, "label": f"+{n} more",
                      "sub": f"calls of {fmt.short_id(parent['id'])}", "latency_ms": None, "error": False,
                      "current": False, "depth": depth, "row": next_row[0], "more": n})
        next_row[0] += 1
        edges.append([parent["key"], key])
        return nodes[-1]["row"]

    def walk(t: dict[str, Any], depth: int) -> dict[str, Any]:
        inv = t.get("id")
        node = {"key": str(inv), "id": inv, "lmp": t.get("lmp"), "label": fmt.short_name(t.get("lmp")) or "?",
                "sub": f"{fmt.short_id(inv)} · {fmt.duration(t.get('latency_ms'))}", "latency_ms": t.get("latency_ms"),
                "error": bool(t.get("error")), "current": inv == current, "depth": depth, "row": 0.0, "more": 0}
        nodes.append(node)
        kids = list(t.get("children") or ())
        unlisted = int(t.get("more") or 0)  # callees the trace itself did not list
        if not kids and t.get("child_count"):
            unlisted = int(t["child_count"])  # listed by the trace, not expanded: a leaf with calls
        if inv == current:
            room = MAX_CHILDREN_HERE
        elif inv in path or depth < MAX_DEPTH:
            room = MAX_CHILDREN
        else:
            room = 0
        rows: list[float] = []
        others, folded = 0, unlisted
        for c in kids:  # in call order; the path to the current invocation always shows
            if c.get("id") not in path:
                if others >= room or len(nodes) >= MAX_NODES:
                    folded += 1
                    continue
                others += 1
            child = walk(c, depth + 1)
            edges.append([node["key"], child["key"]])
            rows.append(child["row"])
        if folded:
            rows.append(add_more(node, folded, depth + 1))
        if rows:  # a caller sits level with the middle of its callees
            node["row"] = (min(rows) + max(rows)) / 2
        else:  # a leaf takes the next row
            node["row"] = next_row[0]
            next_row[0] += 1
        return node

    walk(trace, 0)
    return {"nodes": nodes, "edges": edges, "hidden": hidden[0],
            "depth": max(n["depth"] for n in nodes), "rows": int(next_row[0])}


def _cut(text: str, n: int = _NAME_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def svg(graph: dict[str, Any], href: Callable[[str], str]) -> Markup:
    """The graph as inline SVG that scales to its box (viewBox; CSS max-width: 100%)."""
    nodes = graph["nodes"]
    pos = {n["key"]: (_PAD + n["depth"] * (_W + _COL_GAP), _PAD + n["row"] * (_H + _ROW_GAP)) for n in nodes}
    width = _PAD * 2 + (graph["depth"] + 1) * (_W + _COL_GAP) - _COL_GAP
    height = _PAD * 2 + graph["rows"] * (_H + _ROW_GAP) - _ROW_GAP
    calls = sum(1 for n in nodes if not n["more"])
    aria = f"Call tree as a graph: {calls} calls" + (f", {graph['hidden']} more folded" if graph["hidden"] else "")
    root_ms = next((n["latency_ms"] for n in nodes if n["latency_ms"]), None)
    wide = " wide" if graph["depth"] > 5 else ""  # too deep to shrink legibly: it scrolls in its box instead
    out = [f'<svg class="trace-graph-svg{wide}" role="group" aria-label="{escape(aria)}" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">']
    for a, b in graph["edges"]:
        (ax, ay), (bx, by) = pos[a], pos[b]
        x1, y1, x2, y2 = ax + _W, ay + _H / 2, bx, by + _H / 2
        mx = (x1 + x2) / 2
        out.append(f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{mx:.1f},{y1:.1f} {mx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"/>')
    for n in nodes:
        x, y = pos[n["key"]]
        cls = "node" + (" current" if n["current"] else "") + (" error" if n["error"] else "") + (" more" if n["more"] else "")
        tip = (f"{n['more']} more calls: open {n['id']}" if n["more"]
               else f"{n['lmp']} · {n['id']} · {fmt.duration(n['latency_ms'])}" + (" · error" if n["error"] else ""))
        bar = ""
        if root_ms and isinstance(n["latency_ms"], (int, float)):  # share of the root's time
            bw = (_W - 2) * min(max(n["latency_ms"] / root_ms, 0.0), 1.0)
            bar = f'<rect class="lat" x="{x + 1:.1f}" y="{y + _H - 5:.1f}" width="{bw:.1f}" height="4"/>'
        current = ' aria-current="true"' if n["current"] else ""
        out.append(f'<a href="{escape(href(n["id"]))}" class="{cls}" data-id="{escape(n["id"])}" '
                   f'data-more="{n["more"]}"{current}><title>{escape(tip)}</title>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{_W}" height="{_H}" rx="5"/>{bar}'
                   f'<text x="{x + 7:.1f}" y="{y + 14:.1f}">{escape(_cut(n["label"]))}</text>'
                   f'<text class="sub" x="{x + 7:.1f}" y="{y + 27:.1f}">{escape(_cut(n["sub"], 26))}</text></a>')
    out.append("</svg>")
    return Markup("".join(out))


def render(graph: dict[str, Any]) -> Markup:
    """`svg` with every box linked to its invocation page (inside a request)."""
    from flask import url_for

    return svg(graph, lambda inv_id: url_for("invocations.show", inv_id=inv_id))
