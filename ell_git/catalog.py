"""The list of LMPs, whole or one page at a time (`Reader.lmps`, `Reader.lmp_page`).

A page costs O(page): names come from a sorted list kept until the cache changes, and only the
page's LMPs are looked up (latest version, usage, cost), so home stays fast at 5,000 LMPs.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Iterable

import orjson

from . import costs
from .views import Lmp, LmpPage

#: SQLite's default limit on host parameters is 999 (older builds): IN lists are chunked below it.
_CHUNK = 500


class Catalog:
    """`Reader`'s LMP listing (mixed in; uses its lock, refresh, `_q` and `_preferred`)."""

    db: sqlite3.Connection

    def lmp_page(self, q: str | None = None, limit: int = 100, offset: int = 0) -> LmpPage:
        """LMPs sorted by name, `limit` from `offset`; `q` keeps names containing it (any case)."""
        limit, offset = max(0, int(limit)), max(0, int(offset))
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            names, folded = self._names()
            if q:
                needle = q.casefold()
                names = [n for n, f in zip(names, folded) if needle in f]
            page = names[offset : offset + limit]
            return LmpPage(tuple(self._lmps_named(page)), len(names), limit, offset, q or "")

    def lmp_names(self) -> list[str]:
        """Every LMP name (with versions or with calls), sorted."""
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            return list(self._names()[0])

    def version_numbers(self, names: Iterable[str]) -> dict[str, int]:
        """version id → its number (vN) for every version of the LMPs `names`: one query, for
        labelling the rows of a page (no `Version` objects built)."""
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            wanted = sorted(set(names))
            chosen = set(self._preferred(wanted).values())  # type: ignore[attr-defined]
            return {vid: n for cond, args in in_clauses("lmp", wanted)
                    for vid, n, ref in self.db.execute(f"SELECT vid, n, ref FROM versions WHERE {cond}", args)
                    if ref in chosen}

    def _names(self) -> tuple[list[str], list[str]]:
        """Every LMP name (with versions or with calls), sorted, and their casefolded forms; rebuilt
        only when the cache changed (this connection's writes or another process's)."""
        key = (self.db.total_changes, self.db.execute("PRAGMA data_version").fetchone()[0])
        cached = self.__dict__.get("_names_cache")
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        names = sorted({r[0] for r in self.db.execute("SELECT DISTINCT lmp FROM versions")}
                       | {r[0] for r in self.db.execute("SELECT name FROM lmps WHERE id IN (SELECT lmp FROM agg)")})
        folded = [n.casefold() for n in names]
        self.__dict__["_names_cache"] = (key, names, folded)
        return names, folded

    def _lmps_named(self, names: list[str] | None) -> list[Lmp]:
        """`Lmp`s for `names` (None: all), in name order."""
        q = self._q  # type: ignore[attr-defined]
        usage: dict[str, tuple[Any, Any]] = {}
        spent: dict[str, Any] = {}
        for cond, args in in_clauses("l.name", names):
            usage.update((name, (n, last)) for name, n, last in q(
                f"SELECT l.name, sum(a.n), max(a.last) FROM agg a JOIN lmps l ON l.id=a.lmp WHERE {cond}"
                " GROUP BY a.lmp", args))
            spent.update(costs.by_lmp(self.db, cond, args))
        out: dict[str, Lmp] = {}
        preferred = self._preferred(names)  # type: ignore[attr-defined]
        newest: dict[str, tuple[Any, ...]] = {}
        for cond, args in in_clauses("ref", list(preferred.values())):  # each ref's newest version, one query
            newest.update((r[0], r[1:]) for r in q(
                "SELECT v.ref, v.vid, v.n, v.subject, v.time, v.uses_names, v.kind FROM"
                f" (SELECT ref, max(n) AS top FROM versions WHERE {cond} GROUP BY ref) m"
                " JOIN versions v ON v.ref=m.ref AND v.n=m.top", args))
        for name, ref in preferred.items():
            row = newest[ref]
            n, last = usage.get(name, (0, None))
            out[name] = Lmp(name, row[5] or "simple", row[0], row[1], row[1], row[2] or "", row[3],
                            int(n or 0), last, tuple(orjson.loads(row[4] or "[]")), spent.get(name))
        for name, (n, last) in usage.items():
            if name not in out:  # invocations whose versions are not (yet) here
                out[name] = Lmp(name, "unknown", "", 0, 0, "", 0.0, int(n or 0), last, (), spent.get(name))
        return [out[k] for k in sorted(out)]


def in_clauses(column: str, values: Iterable[str] | None) -> list[tuple[str, list[str]]]:
    """(SQL condition, args) pairs restricting `column` to `values` (None: no restriction)."""
    if values is None:
        return [("1", [])]
    vals = list(values)
    return [(f"{column} IN ({','.join('?' * len(vals[i:i + _CHUNK]))})", vals[i : i + _CHUNK])
            for i in range(0, len(vals), _CHUNK)]
