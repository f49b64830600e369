"""What calls cost, priced when history is read: the read cache's rates table and `Reader`'s cost methods.

The rates table holds, for every model name recorded (`models`), the price intervals `prices.timeline`
gives it, in USD per token. It is rebuilt when the team's prices (``refs/notes/ell/prices``, or a fetched
copy), the shipped table or the set of recorded models change, so a corrected price applies to every
past call at the next read. A call's cost is one SQL expression over its token columns joined to the
rate in force at its time; totals join the per-(version, model, day) usage aggregates (``uagg``) instead
of scanning calls. A model without a price is *unpriced*: its cost is NULL and totals count it apart.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable

import pygit2

from . import prices
from .views import _Json

__all__ = ["RATE_JOIN", "COST", "refresh_rates", "CostSummary", "Costs", "money"]

#: Joins the rate in force when invocation `i` started (intervals are disjoint: at most one row).
RATE_JOIN = " LEFT JOIN rates r ON r.model=i.model AND r.since<=coalesce(i.started, 0) AND coalesce(i.started, 0)<r.until"
#: USD of invocation `i` under `r`; NULL when unpriced. Cached input and reasoning tokens are parts of
#: the prompt and completion counts (as OpenAI reports them), priced at their own rates.
_PRICE = ("max(coalesce(i.ptok, 0)-coalesce(i.cptok, 0), 0)*r.inp + coalesce(i.cptok, 0)*r.cin"
          " + max(coalesce(i.ctok, 0)-coalesce(i.rtok, 0), 0)*r.out + coalesce(i.rtok, 0)*r.rsn")
COST_JOINED = f"(CASE WHEN r.model IS NULL THEN NULL ELSE {_PRICE} END)"
#: The same as a scalar subquery (no join): SQLite computes it only for rows it returns, so a page
#: far down a list (OFFSET 50,000) does not look up 50,000 rates.
COST = (f"(SELECT {_PRICE} FROM rates r WHERE r.model=i.model AND r.since<=coalesce(i.started, 0)"
        " AND coalesce(i.started, 0)<r.until)")
_UJOIN = " LEFT JOIN rates r ON r.model=u.model AND r.since<=u.day*86400.0 AND u.day*86400.0<r.until"
_UCOST = "(max(u.ptok-u.cptok, 0)*r.inp + u.cptok*r.cin + max(u.ctok-u.rtok, 0)*r.out + u.rtok*r.rsn)"
#: Totals over versions' sums (`vcost`).
_VTOTALS = "coalesce(sum(c.cost), 0), coalesce(sum(c.priced), 0), coalesce(sum(c.unpriced), 0)"
#: sum(cost), priced calls, unpriced calls (a model but no price; tools and other model-less calls are neither).
_TOTALS = (f"coalesce(sum(CASE WHEN r.model IS NOT NULL THEN {_UCOST} END), 0), "
           "coalesce(sum(CASE WHEN r.model IS NOT NULL THEN u.n END), 0), "
           "coalesce(sum(CASE WHEN r.model IS NULL AND u.model<>'' THEN u.n END), 0)")


def _price_key(repo: pygit2.Repository, current: dict[str, str], db: sqlite3.Connection) -> str:
    h = hashlib.sha1(prices.shipped_digest().encode())
    try:
        ref = repo.references.get(prices.PRICES_REF)
    except pygit2.GitError:
        ref = None
    h.update(str(ref.target if ref is not None else "").encode())
    suffix = "/notes/" + prices.PRICES_REF[len("refs/notes/"):]
    for name in sorted(n for n in current if n.endswith(suffix)):  # fetched copies not yet merged
        h.update(f"{name} {current[name]}".encode())
    h.update(str(db.execute("SELECT count(*) FROM models").fetchone()[0]).encode())
    return h.hexdigest()


def refresh_rates(repo: pygit2.Repository, db: sqlite3.Connection, current: dict[str, str]) -> bool:
    """Rebuild the rates table if prices or recorded models changed; returns whether it did."""
    key = _price_key(repo, current, db)
    row = db.execute("SELECT value FROM meta WHERE key='prices'").fetchone()
    if row is not None and row[0] == key:
        if db.execute("SELECT 1 FROM vdirty LIMIT 1").fetchone() is not None:
            _sum_versions(db, all_versions=False)
        return False
    models = [m for (m,) in db.execute("SELECT name FROM models")]
    rows = prices.rates(models, prices.local_entries(repo))
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM rates")
        db.executemany("INSERT OR REPLACE INTO rates VALUES(?,?,?,?,?,?,?)", rows)
        db.execute("INSERT OR REPLACE INTO meta VALUES('prices', ?)", (key,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    _sum_versions(db, all_versions=True)
    return True


def _sum_versions(db: sqlite3.Connection, *, all_versions: bool) -> None:
    """Each version's cost, summed from its usage by day (`vcost`): after new prices, every version;
    else the versions whose usage changed (`vdirty`). Pages then read one row per version."""
    db.execute("BEGIN IMMEDIATE")
    try:
        scope = "" if all_versions else " WHERE u.ver IN (SELECT ver FROM vdirty)"
        if all_versions:
            db.execute("DELETE FROM vcost")
        else:
            db.execute("DELETE FROM vcost WHERE ver IN (SELECT ver FROM vdirty)")
        db.execute(f"INSERT INTO vcost SELECT u.ver, {_TOTALS} FROM uagg u{_UJOIN}{scope} GROUP BY u.ver")
        db.execute("DELETE FROM vdirty")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def money(usd: float | None, unpriced: int = 0) -> str:
    """"$1.23", "$1.23 + 40 unpriced calls", "–" (never "$0" for what has no price)."""
    if usd is None:
        text = "–"
    elif usd == 0:
        text = "$0"
    elif usd < 0.01:  # small calls: two significant digits ($0.00048), never rounded to "$0.00"
        digits = min(10, 1 - math.floor(math.log10(usd)))
        text = f"${usd:.{digits}f}".rstrip("0")
    else:
        text = f"${usd:,.2f}"
    if unpriced:
        extra = f"{unpriced} unpriced call{'s' * (unpriced != 1)}"
        return extra if usd is None else f"{text} + {extra}"
    return text


@dataclass(frozen=True)
class CostSummary(_Json):
    """What some calls cost: `cost_usd` sums the priced ones (None when none is priced)."""

    cost_usd: float | None
    priced_calls: int
    unpriced_calls: int

    @property
    def label(self) -> str:
        return money(self.cost_usd, self.unpriced_calls)

    def to_json(self) -> dict[str, Any]:  # by hand: the home page makes one per LMP (5,000)
        return {"cost_usd": self.cost_usd, "priced_calls": self.priced_calls, "unpriced_calls": self.unpriced_calls,
                "label": money(self.cost_usd, self.unpriced_calls)}


def _uscope(lmp: str | None, version: str | None) -> tuple[list[str], list[Any]]:
    """Conditions on the versions' sums ``c`` for an LMP name and a version id or prefix."""
    where: list[str] = []
    args: list[Any] = []
    if lmp is not None:
        where.append("c.ver IN (SELECT id FROM vers WHERE lmp=(SELECT id FROM lmps WHERE name=?))")
        args.append(lmp)
    if version is not None:
        where.append("c.ver IN (SELECT id FROM vers WHERE vid=? OR vid LIKE ? ESCAPE '\\')")
        args += [version, version.replace("%", "").replace("_", "\\_") + "%"]
    return where, args


def _summary(row: tuple[Any, ...]) -> CostSummary:
    cost, priced, unpriced = row
    return CostSummary(round(float(cost), 12) if priced else None, int(priced), int(unpriced))


# -- queries on an up-to-date cache (no refresh: `lmps()` and `stats()` add these to what they return,
# so a page pays no extra refresh, which lists every ref: ~60 ms with 5,000 LMPs) -----------------


def total(db: sqlite3.Connection, lmp: str | None = None, version: str | None = None) -> CostSummary:
    where, args = _uscope(lmp, version)
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    return _summary(db.execute(f"SELECT {_VTOTALS} FROM vcost c{clause}", args).fetchone())


def by_lmp(db: sqlite3.Connection, where: str = "1", args: Iterable[Any] = ()) -> dict[str, CostSummary]:
    """LMP name -> cost of its calls; `where` on `l.name` keeps some (a page of the home list, through
    the names' index: O(page))."""
    rows = db.execute(f"SELECT l.name, {_VTOTALS} FROM lmps l JOIN vers v ON v.lmp=l.id JOIN vcost c ON c.ver=v.id"
                      f" WHERE {where} GROUP BY l.name", list(args)).fetchall()
    return {r[0]: _summary(r[1:]) for r in rows}


def by_version(db: sqlite3.Connection, lmp: str) -> dict[str, CostSummary]:
    where, args = _uscope(lmp, None)
    rows = db.execute(f"SELECT v.vid, {_VTOTALS} FROM vcost c JOIN vers v ON v.id=c.ver"
                      f" WHERE {' AND '.join(where)} GROUP BY v.vid", args).fetchall()
    return {r[0]: _summary(r[1:]) for r in rows}


class Costs:
    """`Reader`'s cost methods (mixed in; uses its lock, refresh and cache connection)."""

    db: sqlite3.Connection

    def cost(self, lmp: str | None = None, version: str | None = None) -> CostSummary:
        """Cost of every call (of `lmp`, of one of its versions)."""
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            return total(self.db, lmp, version)

    def costs_by_lmp(self) -> dict[str, CostSummary]:
        """LMP name -> cost of all its calls (one query over the usage aggregates)."""
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            return by_lmp(self.db)

    def costs_by_version(self, lmp: str) -> dict[str, CostSummary]:
        """Version id -> cost of its calls, for one LMP."""
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            return by_version(self.db, lmp)

    def cost_of(self, invocation_ids: Iterable[str]) -> CostSummary:
        """Cost of the given calls (an evaluation run's); ids not recorded count as neither."""
        ids = sorted({str(i) for i in invocation_ids if i})
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            total, priced, unpriced = 0.0, 0, 0
            for k in range(0, len(ids), 500):
                chunk = ids[k:k + 500]
                c, p, u = self.db.execute(
                    f"SELECT coalesce(sum({COST_JOINED}), 0), count(r.model), coalesce(sum(CASE WHEN r.model IS NULL AND"
                    f" coalesce(i.model, '')<>'' THEN 1 END), 0) FROM inv i{RATE_JOIN}"
                    f" WHERE i.id IN ({','.join('?' * len(chunk))})", chunk).fetchone()
                total, priced, unpriced = total + c, priced + p, unpriced + u
            return CostSummary(round(total, 12) if priced else None, priced, unpriced)

    def price_of(self, model: str, at: float | None = None) -> prices.Price | None:
        """The price in force for `model` at `at` (None: now), team prices first; None if unpriced."""
        return prices.resolve(model, at, self.repo)  # type: ignore[attr-defined]
