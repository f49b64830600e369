"""Inline SVG drawn on the server: the LMP dependency graph and small charts.

No JavaScript library: a layered (Sugiyama-style, simplified) layout for the graph, and
polylines/rects for charts. Every piece of text that came from a user (LMP names) goes through
`escape`, so the returned `Markup` is safe to insert as is.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Callable, Iterable, Sequence

from markupsafe import Markup, escape

_CHAR_W = 7.2  # approx. width of one character at 12px monospace
_NODE_H = 26
_LAYER_GAP = 56
_NODE_GAP = 18
_PAD = 12


def _layers(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the callers: a node sits one layer below every LMP that uses it.

    Cycles (possible in principle across versions) are broken by ignoring back edges met
    during the depth-first walk, so the layout always terminates.
    """
    callers: dict[str, list[str]] = defaultdict(list)
    for src, dst in edges:
        callers[dst].append(src)
    layer: dict[str, int] = {}
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(n: str) -> int:
        if state.get(n) == 2:
            return layer[n]
        if state.get(n) == 1:
            return -1  # back edge: ignore
        state[n] = 1
        depth = 0
        for c in callers.get(n, ()):
            depth = max(depth, visit(c) + 1)
        state[n] = 2
        layer[n] = depth
        return depth

    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * len(nodes) + 100))
    try:
        for n in nodes:
            visit(n)
    finally:
        sys.setrecursionlimit(limit)
    return layer


def dependency_graph(
    nodes: Sequence[str],
    edges: Iterable[tuple[str, str]],
    href: Callable[[str], str],
    label: Callable[[str], str] = lambda n: n,
) -> Markup:
    """An SVG of LMPs (boxes linking to their pages) and `uses` edges (caller → callee, downwards)."""
    node_list = list(dict.fromkeys(nodes))
    known = set(node_list)
    edge_list = [(a, b) for a, b in dict.fromkeys(edges) if a in known and b in known and a != b]
    if not node_list:
        return Markup('<p class="muted">No LMPs yet.</p>')
    layer = _layers(node_list, edge_list)
    rows: dict[int, list[str]] = defaultdict(list)
    for n in node_list:
        rows[layer[n]].append(n)

    # Two barycenter passes (down then up) cut most crossings for the small graphs people have.
    callers: dict[str, list[str]] = defaultdict(list)
    callees: dict[str, list[str]] = defaultdict(list)
    for a, b in edge_list:
        callees[a].append(b)
        callers[b].append(a)
    order = {n: i for r in rows.values() for i, n in enumerate(sorted(r, key=label))}
    for r in rows:
        rows[r].sort(key=lambda n: order[n])
    depth = max(rows) + 1
    for neighbours, sweep in ((callers, range(1, depth)), (callees, range(depth - 2, -1, -1))):
        for r in sweep:
            def bary(n: str) -> float:
                ns = neighbours.get(n)
                return sum(order[m] for m in ns) / len(ns) if ns else order[n]

            rows[r].sort(key=bary)
            for i, n in enumerate(rows[r]):
                order[n] = i

    widths = {n: max(60.0, len(label(n)) * _CHAR_W + 20) for n in node_list}
    row_w = {r: sum(widths[n] for n in ns) + _NODE_GAP * (len(ns) - 1) for r, ns in rows.items()}
    total_w = max(row_w.values()) + 2 * _PAD
    pos: dict[str, tuple[float, float]] = {}
    for r, ns in rows.items():
        x = _PAD + (total_w - 2 * _PAD - row_w[r]) / 2
        y = _PAD + r * (_NODE_H + _LAYER_GAP)
        for n in ns:
            pos[n] = (x, y)
            x += widths[n] + _NODE_GAP
    total_h = _PAD * 2 + depth * _NODE_H + (depth - 1) * _LAYER_GAP

    parts = [
        f'<svg class="graph" role="img" aria-label="LMP dependency graph" '
        f'width="{total_w:.0f}" height="{total_h:.0f}" viewBox="0 0 {total_w:.0f} {total_h:.0f}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" class="arrowhead"/></marker></defs>',
    ]
    for a, b in edge_list:
        ax, ay = pos[a]
        bx, by = pos[b]
        x1, x2 = ax + widths[a] / 2, bx + widths[b] / 2
        if layer[b] > layer[a]:
            y1, y2 = ay + _NODE_H, by
        else:  # a back edge of a cycle: route it from the side, upwards
            y1, y2 = ay, by + _NODE_H
        my = (y1 + y2) / 2
        parts.append(
            f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{x1:.1f},{my:.1f} {x2:.1f},{my:.1f} {x2:.1f},{y2:.1f}" '
            f'marker-end="url(#arrow)"><title>{escape(a)} uses {escape(b)}</title></path>'
        )
    for n in node_list:
        x, y = pos[n]
        w = widths[n]
        parts.append(
            f'<a href="{escape(href(n))}" class="node" data-name="{escape(n)}">'
            f"<title>{escape(n)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{_NODE_H}" rx="5"/>'
            f'<text x="{x + w / 2:.1f}" y="{y + _NODE_H / 2 + 4:.1f}" text-anchor="middle">{escape(label(n))}</text></a>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _downsample(values: Sequence[float], n: int) -> list[float]:
    """Bucket means, so thousands of points draw as a readable line of `n` points."""
    if len(values) <= n:
        return list(values)
    step = len(values) / n
    out = []
    for i in range(n):
        chunk = values[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)]
        out.append(sum(chunk) / len(chunk))
    return out


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 320,
    height: int = 60,
    label: str = "",
    fmt: Callable[[float], str] = lambda v: f"{v:.0f}",
    marks: Sequence[tuple[str, float]] = (),
) -> Markup:
    """A line chart of a series (oldest left), with optional horizontal marks such as p50/p95."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return Markup(f'<svg class="chart empty" width="{width}" height="{height}" role="img" '
                      f'aria-label="{escape(label)}: no data"></svg>')
    vals = _downsample(vals, max(2, width // 3))
    hi = max(max(vals), *(m for _, m in marks)) if marks else max(vals)
    hi = hi or 1.0
    pad = 4
    w, h = width - 2 * pad, height - 2 * pad
    n = len(vals)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (w * i / (n - 1) if n > 1 else w / 2)
        return x, pad + h - h * v / hi

    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(vals)))
    area = f"{pad},{pad + h} {pts} {pad + w},{pad + h}" if n > 1 else ""
    parts = [
        f'<svg class="chart sparkline" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(label)}">',
        f"<title>{escape(label)}: max {escape(fmt(max(vals)))}</title>",
    ]
    if area:
        parts.append(f'<polygon class="area" points="{area}"/>')
    parts.append(f'<polyline class="line" points="{pts}"/>')
    if n == 1:
        x, y = xy(0, vals[0])
        parts.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>')
    for i, (name, v) in enumerate(marks):
        y = pad + h - h * v / hi
        # Labels step left one by one: p50 and p95 are often a pixel apart.
        parts.append(
            f'<line class="mark" x1="{pad}" x2="{pad + w}" y1="{y:.1f}" y2="{y:.1f}">'
            f"<title>{escape(name)} {escape(fmt(v))}</title></line>"
            f'<text class="mark-label" x="{pad + w - 2 - 26 * i}" y="{max(y - 2, 9):.1f}" text-anchor="end">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    bars: Sequence[tuple[str, float, float]],
    *,
    width: int = 320,
    height: int = 60,
    label: str = "",
    fmt: Callable[[float], str] = lambda v: f"{v:.0f}",
) -> Markup:
    """Stacked bars (label, lower part, upper part), e.g. prompt and completion tokens per bucket."""
    if not bars:
        return Markup(f'<svg class="chart empty" width="{width}" height="{height}" role="img" '
                      f'aria-label="{escape(label)}: no data"></svg>')
    if len(bars) > width // 3:  # merge neighbours so every bar stays at least ~2px wide
        k = math.ceil(len(bars) / (width // 3))
        merged = []
        for i in range(0, len(bars), k):
            chunk = bars[i : i + k]
            merged.append((f"{chunk[0][0]} … {chunk[-1][0]}", sum(c[1] for c in chunk), sum(c[2] for c in chunk)))
        bars = merged
    pad = 4
    w, h = width - 2 * pad, height - 2 * pad
    hi = max((a + b) for _, a, b in bars) or 1.0
    bw = w / len(bars)
    parts = [
        f'<svg class="chart bars" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(label)}">'
    ]
    for i, (name, lo, up) in enumerate(bars):
        x = pad + i * bw
        h_lo = h * lo / hi
        h_up = h * up / hi
        tip = f"{name}: {fmt(lo)} + {fmt(up)}"
        parts.append(
            f'<g><title>{escape(tip)}</title>'
            f'<rect class="bar lo" x="{x:.1f}" y="{pad + h - h_lo:.1f}" width="{max(bw - 1, 1):.1f}" height="{h_lo:.1f}"/>'
            f'<rect class="bar hi" x="{x:.1f}" y="{pad + h - h_lo - h_up:.1f}" width="{max(bw - 1, 1):.1f}" '
            f'height="{h_up:.1f}"/></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
