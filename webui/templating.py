"""Template globals: URL helpers, highlighting, and the SVG pieces fed from page data."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sequence

from urllib.parse import urlencode

from flask import Flask, current_app, g, request, url_for
from flask.templating import Environment
from markupsafe import Markup

from . import format as fmt
from . import svg
from .highlight import highlight_python
from .views.common import url_with

# Pages that have a `.json` twin (endpoint names); the link in the header points there.
_TWINNED = {"home.index", "lmp.page", "lmp.diff", "invocations.index", "invocations.show", "evals.index",
            "evals.show", "evals.run", "evals.compare", "evals.blind_page"}


def json_url() -> str | None:
    if request.endpoint not in _TWINNED or request.path.endswith(".json"):
        return None
    path = "/.json" if request.path == "/" else request.path + ".json"
    qs = request.query_string.decode("latin-1")
    return f"{path}?{qs}" if qs else path


_DICT_ATTRIBUTES = frozenset(dir(dict))


class DictFirstEnvironment(Environment):
    """Jinja's ``x.name`` on a dict tries ``getattr`` first, raising and catching AttributeError
    each time (~1 µs; a home page of 50 LMPs does it 1,200 times). A name that is no attribute of
    dict can only be a key: look it up at once. Same results (dict methods still win, as in Jinja)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def _route(endpoint: str, arg: str) -> tuple[str, str, Any]:
    """(before, after, quote) of `endpoint`'s URL around its one argument `arg`, built once per
    request: each value then goes through the route's own converter (the quoting url_for does)."""
    memo: dict[str, tuple[str, str, Any]] = g.setdefault("routes", {})
    parts = memo.get(endpoint)
    if parts is None:
        head, _, tail = url_for(endpoint, **{arg: "ELLVALUE"}).partition("ELLVALUE")
        parts = memo[endpoint] = (head, tail, current_app.url_map.converters["default"](current_app.url_map).to_url)
    return parts


def lmp_url(name: str, **query: Any) -> str:
    """``url_for("lmp.page", name=name, **query)`` at a tenth of the cost: home and the invocation
    lists link ~100 LMPs a page, and url_for costs ~10 µs a call."""
    head, tail, quote = _route("lmp.page", "name")
    args = {k: v for k, v in query.items() if v is not None}
    return f"{head}{quote(name)}{tail}?{urlencode(args)}" if args else f"{head}{quote(name)}{tail}"


def inv_url(inv_id: str) -> str:
    """``url_for("invocations.show", inv_id=inv_id)``, as `lmp_url`."""
    head, tail, quote = _route("invocations.show", "inv_id")
    return f"{head}{quote(inv_id)}{tail}"


def dependency_graph(nodes: Sequence[str], edges: Iterable[Sequence[str]]) -> Markup:
    # Short names read best; fall back to the full name where two LMPs share a short one.
    counts = Counter(fmt.short_name(n) for n in nodes)

    def label(n: str) -> str:
        s = fmt.short_name(n)
        return s if counts[s] == 1 else n

    return svg.dependency_graph(
        nodes, [(e[0], e[1]) for e in edges], href=lmp_url, label=label
    )


def _series(stats: dict[str, Any]) -> list[dict[str, Any]]:
    series = stats.get("series") or stats.get("time_series") or []
    return [p for p in series if isinstance(p, dict)]


def latency_chart(stats: dict[str, Any]) -> Markup:
    values = [p.get("latency_ms") for p in _series(stats)]
    marks = [(name, float(stats[key])) for name, key in (("p50", "latency_p50"), ("p95", "latency_p95"))
             if isinstance(stats.get(key), (int, float))]
    return svg.sparkline(values, label="latency", fmt=fmt.duration, marks=marks)


def tokens_chart(stats: dict[str, Any]) -> Markup:
    bars = []
    for p in _series(stats):
        lo = p.get("prompt_tokens") or 0
        hi = p.get("completion_tokens") or 0
        if not (lo or hi) and p.get("total_tokens"):
            lo = p["total_tokens"]
        bars.append((fmt.iso_time(p.get("t") or p.get("started_at")), float(lo), float(hi)))
    return svg.bar_chart(bars, label="tokens", fmt=fmt.tokens)


def cost_chart(per_version: list[dict[str, Any]]) -> Markup:
    """Cost of each version's calls, oldest version first (unpriced versions show no bar)."""
    bars = [(f"v{v.get('vn')}", float(v.get("cost_usd") or 0.0), 0.0) for v in per_version]
    return svg.bar_chart(bars, label="cost per version", fmt=lambda x: fmt.usd(x))


def register(app: Flask) -> None:
    app.jinja_env.globals.update(
        cost_chart=cost_chart,
        lmp_url=lmp_url,
        inv_url=inv_url,
        url_with=url_with,
        highlight_python=highlight_python,
        dependency_graph=dependency_graph,
        latency_chart=latency_chart,
        tokens_chart=tokens_chart,
    )

    @app.context_processor
    def _page_links() -> dict[str, Any]:
        return {"json_url": json_url(), "share_note": _share_note, "read_problems": _read_problems}


def _read_problems() -> str:
    """"N records could not be read — run `ell doctor`" when the reader skipped bad data ("" otherwise)."""
    from .views.common import data

    try:
        return data().problems()["summary"]
    except Exception:  # the error page itself shows this banner: it must never fail in turn
        return ""


def _share_note() -> str | None:
    """The footer's line on what this clone does not share (called only by full pages)."""
    from .views.common import data

    return data().sharing()["note"]
