"""Model prices: the dated table shipped with the package, and a team's own prices in the repository.

    ell_git/data/prices.json         list prices (USD per 1M tokens), each from a date, with a source
    refs/notes/ell/prices            the team's prices: one JSON line per `ell prices set/unset`, as a
                                     git note on the empty tree (a fixed object every clone agrees on)

Why a note: `ell sync` already fetches ``refs/notes/ell*`` and merges them by line union, and the push
check, sharing and `ell forget` already handle them, so prices travel like feedback with no new merge
code. Each line carries its own id and time; the newest line per (model, from date) wins, so two clones
setting the same price concurrently merge without conflict.

Prices are applied when history is READ (`costs.py` builds a rates table in the read cache from
`timelines()`), never when a call is recorded: a corrected price applies to every past call at once.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import functools
import hashlib
import json
import re
import secrets as _secrets
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterable

import orjson
import pygit2

from . import notes
from .layout import lookup
from .repo import signature, writer_id

__all__ = ["PRICES_REF", "Price", "shipped", "local_entries", "set_price", "unset_price", "resolve",
           "timeline", "rates", "shipped_digest", "parse_date"]

PRICES_REF = "refs/notes/ell/prices"
#: The annotated object: git's empty tree, the same id in every repository (it need not be stored).
TARGET = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
#: The start of time for prices without a date, and the end of the last interval.
BEGIN, END = 0.0, 1e13
# Snapshot suffixes: -2024-07-18, -20241022, @20241022 (Vertex), -0613 / -2411, -001 (Gemini), -latest.
_SNAPSHOT = re.compile(r"(?:[-@]\d{4}-\d{2}-\d{2}|[-@]\d{8}|-\d{4}|-\d{3}|-latest)$")


@dataclass(frozen=True)
class Price:
    """One price from `since` (epoch seconds, UTC midnight); USD per million tokens."""

    model: str
    since: float
    input: float
    output: float
    cached_input: float | None = None
    reasoning: float | None = None
    source: str = ""
    local: bool = False
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "from": _date(self.since), "input": self.input, "output": self.output,
                "cached_input": self.cached_input, "reasoning": self.reasoning, "source": self.source,
                "local": self.local, "note": self.note}


def parse_date(text: str | None) -> float:
    """``YYYY-MM-DD`` (UTC) as epoch seconds; None or empty: the start of time."""
    if not text:
        return BEGIN
    try:
        d = _dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date: write it as YYYY-MM-DD (e.g. 2025-01-31)") from None
    return float(calendar.timegm(d.timetuple()))


def _date(since: float) -> str | None:
    return None if since <= BEGIN else time.strftime("%Y-%m-%d", time.gmtime(since))


# -- the shipped table ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _shipped_bytes() -> bytes:
    return resources.files("ell_git").joinpath("data/prices.json").read_bytes()


def shipped_digest() -> str:
    """Changes when the shipped table does (the read cache rebuilds its rates then)."""
    return hashlib.sha1(_shipped_bytes()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _table() -> tuple[dict[str, list[Price]], dict[str, str]]:
    doc = json.loads(_shipped_bytes())
    models = {
        name.lower(): sorted((Price(name, parse_date(e.get("from")), float(e["input"]), float(e["output"]),
                                    _opt(e.get("cached_input")), _opt(e.get("reasoning")), e.get("source", ""),
                                    False, e.get("note", "")) for e in entries), key=lambda p: p.since)
        for name, entries in doc["models"].items()
    }
    return models, {k.lower(): v.lower() for k, v in doc.get("aliases", {}).items()}


def shipped() -> dict[str, list[Price]]:
    """The shipped table: model -> its prices, oldest first."""
    return dict(_table()[0])


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)


# -- the team's prices (a note) -------------------------------------------------------------------


def _lines(repo: pygit2.Repository) -> list[dict[str, Any]]:
    out = []
    for tip in notes.notes_refs(repo, PRICES_REF).values():  # local, and fetched copies not yet merged
        commit = repo[tip]
        for path in (TARGET, f"{TARGET[:2]}/{TARGET[2:]}"):
            oid = lookup(repo, commit.tree_id, path)
            if oid is not None:
                for line in repo[oid].data.splitlines():
                    try:
                        d = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(d, dict) and isinstance(d.get("model"), str):
                        out.append(d)
    return out


def local_entries(repo: pygit2.Repository) -> dict[str, list[Price]]:
    """The team's prices in force: per model (lower case), oldest first. The newest line per
    (model, from date) wins; an unset without a date drops every older line of its model."""
    latest: dict[tuple[str, float], dict[str, Any]] = {}
    cleared: dict[str, tuple[float, str]] = {}
    for d in sorted(_lines(repo), key=lambda d: (d.get("t") or 0, str(d.get("id")))):
        model = d["model"].lower()
        if d.get("op") == "unset" and not d.get("from"):
            cleared[model] = (d.get("t") or 0, str(d.get("id")))
            latest = {k: v for k, v in latest.items() if k[0] != model}
            continue
        try:
            latest[(model, parse_date(d.get("from")))] = d
        except ValueError:
            continue
    out: dict[str, list[Price]] = {}
    for (model, since), d in sorted(latest.items(), key=lambda kv: kv[0][1]):
        if d.get("op") == "unset":
            continue
        try:
            p = Price(d["model"], since, float(d["input"]), float(d["output"]), _opt(d.get("cached_input")),
                      _opt(d.get("reasoning")), f"set by {d.get('author') or d.get('by') or '?'}", True)
        except (KeyError, TypeError, ValueError):
            continue
        out.setdefault(model, []).append(p)
    return out


def _append(repo: pygit2.Repository, entry: dict[str, Any], what: str) -> None:
    entry = {"id": "price-" + _secrets.token_hex(8), "t": time.time(), "by": writer_id(repo),
             "author": signature(repo).name, "format": 1, **entry}
    notes.append(repo, PRICES_REF, [(TARGET, entry)], f"{what}\n\nEll-Notes: prices\n")


def set_price(repo: pygit2.Repository, model: str, input: float, output: float, cached_input: float | None = None,
              since: str | None = None, reasoning: float | None = None) -> Price:
    """Record the team's price of `model` (USD per million tokens) from `since` (YYYY-MM-DD; None: always)."""
    when = parse_date(since)
    for name, v in (("input", input), ("output", output), ("cached input", cached_input), ("reasoning", reasoning)):
        if v is not None and not (v >= 0 and v < 1e6):
            raise ValueError(f"the {name} price must be a number of USD per million tokens, ≥ 0 (got {v})")
    model = model.strip()
    if not model:
        raise ValueError("name the model to price, e.g. `ell prices set gpt-4o-mini --input 0.15 --output 0.6`")
    _append(repo, {"op": "set", "model": model, "from": _date(when), "input": float(input), "output": float(output),
                   "cached_input": _opt(cached_input), "reasoning": _opt(reasoning)},
            f"Price {model}: input {input}, output {output} USD/1M" + (f" from {_date(when)}" if since else ""))
    return Price(model, when, float(input), float(output), _opt(cached_input), _opt(reasoning), "", True)


def unset_price(repo: pygit2.Repository, model: str, since: str | None = None) -> int:
    """Drop the team's price of `model` (only the one from `since` if given); returns how many were in force."""
    when = parse_date(since) if since else None
    had = [p for p in local_entries(repo).get(model.lower(), []) if when is None or p.since == when]
    if had:
        _append(repo, {"op": "unset", "model": model, "from": _date(when) if when is not None else None},
                f"Unprice {model}" + (f" from {since}" if since else ""))
    return len(had)


# -- resolution -----------------------------------------------------------------------------------


def candidates(model: str) -> list[str]:
    """Names to look `model` up by, most specific first: itself, without a provider prefix, through
    an alias, without dated snapshot suffixes (gpt-4o-mini-2024-07-18 → gpt-4o-mini)."""
    aliases = _table()[1]
    name = model.strip().lower()
    out = [name]
    if name.startswith("ft:"):
        return out  # fine-tuned models cost more than their base: priced only by `ell prices set`
    for prefix in ("models/", "openai/", "anthropic/", "google/", "mistralai/", "mistral/", "deepseek/", "gemini/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            out.append(name)
    while True:
        if name in aliases:
            name = aliases[name]
            out.append(name)
        stripped = _SNAPSHOT.sub("", name)
        if stripped == name or not stripped:
            break
        name = stripped
        out.append(name)
    return list(dict.fromkeys(out))


def timeline(model: str, local: dict[str, list[Price]], table: dict[str, list[Price]] | None = None
             ) -> list[tuple[float, float, Price]]:
    """(from, until, price) intervals for `model`, or [] when it is unpriced. The first candidate name
    with any price decides; there, a team price overrides shipped ones from its date on."""
    table = _table()[0] if table is None else table
    for name in candidates(model):
        mine, theirs = local.get(name, []), table.get(name, [])
        if not mine and not theirs:
            continue
        # The earliest price also covers earlier calls (previews, clock skew): better than none.
        points = sorted({p.since for p in mine} | {p.since for p in theirs})
        points[0] = min(points[0], BEGIN)
        out: list[tuple[float, float, Price]] = []
        for i, t in enumerate(points):
            until = points[i + 1] if i + 1 < len(points) else END
            best = _in_force(mine, t) or _in_force(theirs, t)
            if best is None:  # before the earliest date: the earliest price
                best = min(mine + theirs, key=lambda p: (p.since, not p.local))
            if best is not None:
                out.append((t, until, best))
        return out
    return []


def _in_force(prices: list[Price], t: float) -> Price | None:
    found = None
    for p in prices:  # oldest first
        if p.since <= t:
            found = p
    return found


def resolve(model: str, at: float | None = None, repo: pygit2.Repository | None = None) -> Price | None:
    """The price of `model` in force at `at` (epoch seconds; None: now), or None (unpriced)."""
    at = time.time() if at is None else at
    local = local_entries(repo) if repo is not None else {}
    for since, until, price in timeline(model, local):
        if since <= at < until:
            return price
    return None


def rates(models: Iterable[str], local: dict[str, list[Price]]) -> list[tuple[str, float, float, float, float, float, float]]:
    """Rows of the read cache's rates table: (model as recorded, from, until, input, cached input,
    output, reasoning), USD per token, the optional prices filled in."""
    rows = []
    for model in models:
        for since, until, p in timeline(model, local):
            cached = p.input if p.cached_input is None else p.cached_input
            reasoning = p.output if p.reasoning is None else p.reasoning
            rows.append((model, since, until, p.input / 1e6, cached / 1e6, p.output / 1e6, reasoning / 1e6))
    return rows
