"""Did the prompt get better? One row per version (evaluation means, thumbs, cost) and its SVG.

The rows come from aggregates only: evaluation runs' summaries (`Reader.version_scores`), the
feedback notes' index (`FeedbackIndex.by_version`) and the cost per version the LMP page already
reads with its stats; no invocation is scanned. The chart shares one x axis (v1 … vN) across
panels: scores (one line per metric), thumbs up/down, cost.
"""

from __future__ import annotations

from typing import Any, Sequence

from markupsafe import Markup, escape

from . import format as fmt

_W = 320  # the side column's width; the SVG scales down (viewBox) on phones
_PAD = 4
_AXIS_H = 14
_PANEL_H = {"scores": 90, "feedback": 44, "cost": 36}
_GAP = 10
_SERIES = 6  # colour classes series-0 … series-5 (ell.css), reused beyond that


def per_version(versions: Sequence[dict[str, Any]], scores: dict[str, dict[str, float]],
                feedback: dict[str, dict[str, int]], cost: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`[{vn, version_id, scores: {metric: mean}, feedback: {up, down}, cost_usd}]`, oldest first."""
    cost_of = {c.get("version_id"): c.get("cost_usd") for c in cost}
    rows = []
    for v in versions:
        vid = v["version_id"]
        fb = feedback.get(vid) or {}
        rows.append({"vn": v.get("vn"), "version_id": vid, "scores": dict(scores.get(vid) or {}),
                     "feedback": {"up": int(fb.get("up") or 0), "down": int(fb.get("down") or 0)},
                     "cost_usd": cost_of.get(vid)})
    return rows


def metrics(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every metric some version has a score for, sorted."""
    return sorted({m for r in rows for m in r["scores"]})


def has_signal(rows: Sequence[dict[str, Any]]) -> bool:
    """Worth a chart of its own: some version was evaluated or judged (cost alone has its chart)."""
    return any(r["scores"] or r["feedback"]["up"] or r["feedback"]["down"] for r in rows)


def _label(m: str, names: Sequence[str]) -> str:
    """"evaluation/labeler" reads as just "labeler" while only one evaluation scored this LMP."""
    evals = {n.split("/", 1)[0] for n in names}
    return m.split("/", 1)[-1] if len(evals) == 1 else m


def legend(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """(metric, label, colour class) of each line, for the HTML legend beside the chart."""
    names = metrics(rows)
    return [{"metric": m, "label": _label(m, names), "cls": f"series-{i % _SERIES}"} for i, m in enumerate(names)]


def chart(rows: Sequence[dict[str, Any]]) -> Markup:
    """Panels over v1 … vN: each metric's mean (0–1, or its own scale from 0), thumbs up above
    and down below a line, and cost; every mark has a <title> with its value."""
    n = len(rows)
    names = metrics(rows)
    panels = [p for p, on in (("scores", bool(names)),
                              ("feedback", any(r["feedback"]["up"] or r["feedback"]["down"] for r in rows)),
                              ("cost", any(r["cost_usd"] for r in rows))) if on]
    if not n or not panels:
        return Markup('<svg class="chart empty version-chart" width="320" height="40" role="img" '
                      'aria-label="per version: no scores, feedback or cost yet"></svg>')
    height = sum(_PANEL_H[p] for p in panels) + _GAP * (len(panels) - 1) + _AXIS_H + 2 * _PAD
    slot = (_W - 2 * _PAD) / n

    def x(i: int) -> float:
        return _PAD + slot * (i + 0.5)

    def vn(r: dict[str, Any]) -> str:
        return f"v{r['vn']}" if r.get("vn") is not None else fmt.short_id(r["version_id"])

    what = ", ".join({"scores": f"evaluation scores ({', '.join(_label(m, names) for m in names)})",
                      "feedback": "thumbs up and down", "cost": "cost"}[p] for p in panels)
    aria = f"Per version, {vn(rows[0])} to {vn(rows[-1])}: {what}"
    out = [f'<svg class="chart version-chart" role="img" width="{_W}" height="{height}" '
           f'viewBox="0 0 {_W} {height}" aria-label="{escape(aria)}"><title>{escape(aria)}</title>']
    top = _PAD
    bar_w = max(min(slot * 0.6, 24), 1.0)
    for p in panels:
        h = _PANEL_H[p]
        out.append(f'<g class="panel panel-{p}" data-panel="{p}">'
                   f'<text class="panel-label" x="{_PAD}" y="{top + 8}">{p}</text>')
        if p == "scores":
            for k, m in enumerate(names):
                pts = [(i, r["scores"][m]) for i, r in enumerate(rows) if r["scores"].get(m) is not None]
                vals = [v for _, v in pts]
                # Rates and accuracies share one 0–1 scale; any other metric gets its own, from 0.
                lo, hi = (0.0, 1.0) if all(0 <= v <= 1 for v in vals) else (min(0.0, *vals), max(vals))
                span = (hi - lo) or 1.0
                xy = [(x(i), top + 10 + (h - 12) * (1 - (v - lo) / span), i, v) for i, v in pts]
                cls = f"series-{k % _SERIES}"
                out.append(f'<g class="series {cls}" data-metric="{escape(m)}">')
                if len(xy) > 1:
                    out.append('<polyline class="line" points="'
                               + " ".join(f"{a:.1f},{b:.1f}" for a, b, _, _ in xy) + '"/>')
                for a, b, i, v in xy:
                    out.append(f'<circle class="dot" cx="{a:.1f}" cy="{b:.1f}" r="2.5">'
                               f"<title>{escape(vn(rows[i]))} · {escape(_label(m, names))}: {v:.3g}</title></circle>")
                out.append("</g>")
        elif p == "feedback":
            mid = top + h / 2
            peak = max(max(r["feedback"]["up"], r["feedback"]["down"]) for r in rows) or 1
            out.append(f'<line class="axis" x1="{_PAD}" x2="{_W - _PAD}" y1="{mid:.1f}" y2="{mid:.1f}"/>')
            for i, r in enumerate(rows):
                up, down = r["feedback"]["up"], r["feedback"]["down"]
                if not (up or down):
                    continue
                hu, hd = (h / 2 - 2) * up / peak, (h / 2 - 2) * down / peak
                out.append(f'<g class="thumbs" data-vn="{r.get("vn")}"><title>{escape(vn(r))}: {up} up, {down} down'
                           f'</title><rect class="up" x="{x(i) - bar_w / 2:.1f}" y="{mid - hu:.1f}" '
                           f'width="{bar_w:.1f}" height="{hu:.1f}"/><rect class="down" x="{x(i) - bar_w / 2:.1f}" '
                           f'y="{mid:.1f}" width="{bar_w:.1f}" height="{hd:.1f}"/></g>')
        else:
            peak_usd = max(float(r["cost_usd"] or 0.0) for r in rows) or 1.0
            for i, r in enumerate(rows):
                if r["cost_usd"] is None:
                    continue  # unpriced: no bar rather than a misleading zero
                bh = (h - 10) * float(r["cost_usd"]) / peak_usd
                out.append(f'<rect class="bar lo" x="{x(i) - bar_w / 2:.1f}" y="{top + h - bh:.1f}" '
                           f'width="{bar_w:.1f}" height="{bh:.1f}"><title>{escape(vn(r))}: '
                           f"{escape(fmt.usd(r['cost_usd']))}</title></rect>")
        out.append("</g>")
        top += h + _GAP
    # Axis labels: every version while they fit, else evenly spaced ones (always the last).
    step = max(1, -(-n // 12))
    base = top - _GAP + _AXIS_H - 2
    for i, r in enumerate(rows):
        if i % step == 0 or (i == n - 1 and i % step > step // 2):
            out.append(f'<text class="tick" x="{x(i):.1f}" y="{base:.1f}" text-anchor="middle">{escape(vn(r))}</text>')
    out.append("</svg>")
    return Markup("".join(out))
