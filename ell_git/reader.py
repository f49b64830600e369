"""Reading ell's history: the API behind the web UI, the CLI and users' scripts.

Every method first brings the read cache up to date with ``refs/ell/*`` (cheap when nothing
moved), then answers from SQLite, reading git objects only for payloads (sources, one
invocation's record). A Reader never writes refs or objects; only the cache file.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
import warnings
from typing import Any

import orjson

from . import autocommit, cache, costs, diffs, layout, refs, refscan, search, validate
from .catalog import Catalog, in_clauses
from .costs import Costs
from .errors import NotFound
from .evalreader import Evaluations
from .notes import Annotations
from .traces import Traces
from .repo import ell_dir, open_repository
from .versions import CLOSURE, META, SOURCE, side_at
from .views import (
    InvocationDetail,
    InvocationPage,
    InvocationRow,
    Lmp,
    Problems,
    Running,
    SeriesPoint,
    Stats,
    Version,
    VersionDiff,
    VersionSource,
)

#: Up to this many invocations, percentiles are exact; beyond, they come from the histogram.
EXACT_PERCENTILES = 10_000

_ROW = (
    "SELECT i.id, l.name, v.vid, i.started, i.latency, i.ptok, i.ctok, i.tok, i.model, i.error, i.cached,"
    " i.parent, i.args_preview, i.output_preview, " + costs.COST + " FROM inv i JOIN lmps l ON l.id=i.lmp"
    " JOIN vers v ON v.id=i.ver"
)
#: Filtered invocation lists count matches up to this many (the page says "10,000+").
COUNT_CAP = 10_000
_VN = re.compile(r"^v(\d+)$")
#: A diff shows used LMPs' own diffs this many levels deep.
DEP_DEPTH = 3
#: A vN beyond this is no version (and would not fit SQLite's integers).
_MAX_VN = 2**62


class Reader(Catalog, Costs, Traces):
    """Read-only access to the ell history in the repository at or above `path`.

    `cache`: a path for the SQLite read cache, ``None`` for ``<git dir>/ell/cache.sqlite``, or
    ``":memory:"``. Thread-safe (one connection behind a lock). Evaluations are read through
    `evals` (`ell_git.evalreader`), feedback and score notes through `notes` (`ell_git.notes`).
    """

    def __init__(self, path: str | os.PathLike[str], *, cache_path: str | None = None) -> None:
        self.repo = open_repository(path, create=False)
        self._lock = threading.RLock()
        if cache_path is None:
            try:
                cache_path = os.path.join(ell_dir(self.repo), "cache.sqlite")
                self.db = cache.connect(cache_path)
            except (OSError, sqlite3.Error) as exc:
                warnings.warn(f"ell: read cache unavailable ({exc}); using memory", RuntimeWarning, stacklevel=2)
                self.db = cache.connect(":memory:")
        else:
            self.db = cache.connect(cache_path)
        self._indexer = cache.Indexer(self.repo, self.db)
        # Ref fingerprints (`refscan`) at the last refresh / token: equal means no ref moved.
        self._watch = refscan.RefWatch(refscan.common_dir(self.repo))
        self._fresh: tuple[object, ...] | None = None
        self._token_at: tuple[tuple[object, ...] | None, str] = (None, "")
        self.evals = Evaluations(self.repo, self._lock, self.versions, self._watch)
        self.notes = Annotations(self.repo, self._lock, self._rows_of, self._watch)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- freshness ---------------------------------------------------------------------------
    def state_token(self) -> str:
        """A hash of every ``refs/ell/*`` and ``refs/notes/ell*`` tip: equal tokens mean equal data."""
        fp = self._watch.fingerprint()
        if fp is not None and self._token_at[0] == fp:  # nothing moved: no ref listing (live polls)
            return self._token_at[1]
        token = _token(refs.ell_refs(self.repo, notes=True))
        self._token_at = (fp, token)
        return token

    def changed_since(self, token: str) -> bool:
        """Whether anything was written since `state_token()` returned `token`."""
        return self.state_token() != token

    def indexing(self) -> tuple[int, int] | None:
        """(refs done, refs to do) while a refresh is indexing (read from any thread), else None."""
        return self._indexer.progress

    def refresh(self) -> bool:
        """Index whatever moved; returns whether anything did. Every query calls it."""
        with self._lock:
            fp = self._watch.fingerprint()  # taken first: a move during the work is seen next time
            if fp is not None and fp == self._fresh:
                return False  # no ref moved: no per-ref work at all
            try:
                current = refs.ell_refs(self.repo)
                moved = self._indexer.sync(current)
                costs.refresh_rates(self.repo, self.db, current)  # prices are applied when read
                self._fresh = fp
                return moved
            except BaseException:
                broken = self._indexer.broken
                self._indexer = cache.Indexer(self.repo, self.db)  # drop id caches of a rolled-back run
                self._indexer.broken = broken
                raise

    def _q(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, args).fetchall()

    # -- LMPs and versions -------------------------------------------------------------------
    def lmps(self) -> list[Lmp]:
        """Every LMP with its newest version and usage, sorted by name."""
        with self._lock:
            self.refresh()
            return self._lmps_named(None)  # one page of them: `lmp_page` (ell_git.catalog)

    def running(self, names: list[str] | None = None) -> dict[str, Running]:
        """LMPs whose newest call ran an older version than their newest one (a revert: the code went
        back to a version already recorded, so no commit was made): name -> what runs now, and since when.
        `names`: only these LMPs (a page of them)."""
        with self._lock:
            self.refresh()
            newest: dict[str, tuple[str, Any]] = {}
            for cond, args in in_clauses("l.name", names):
                newest.update((name, (vid, last)) for name, vid, last in self._q(
                    "SELECT l.name, v.vid, a.last FROM agg a JOIN lmps l ON l.id=a.lmp JOIN vers v ON v.id=a.ver"
                    f" WHERE {cond} AND a.last = (SELECT max(b.last) FROM agg b WHERE b.lmp=a.lmp)", args))
            out: dict[str, Running] = {}
            for name, ref in self._preferred(names).items():
                if name not in newest:
                    continue
                vid, last = newest[name]
                rows = self._q("SELECT n, time, (SELECT max(n) FROM versions WHERE ref=?) FROM versions"
                               " WHERE ref=? AND vid=?", (ref, ref, vid))
                # Only an older version called after the newest one was committed is a revert.
                if not rows or rows[0][0] == rows[0][2] or last is None:
                    continue
                latest_time = self._q("SELECT time FROM versions WHERE ref=? AND n=?", (ref, rows[0][2]))[0][0]
                if latest_time is not None and last < latest_time:
                    continue
                others = self._q("SELECT max(a.last) FROM agg a JOIN lmps l ON l.id=a.lmp JOIN vers v ON v.id=a.ver"
                                 " WHERE l.name=? AND v.vid<>?", (name, vid))[0][0]
                since = self._q("SELECT min(i.started) FROM inv i JOIN vers v ON v.id=i.ver WHERE v.vid=? AND"
                                " i.started>?", (vid, max(others or 0.0, latest_time or 0.0)))[0][0]
                out[name] = Running(name, vid, int(rows[0][0]), since if since is not None else last, last)
            return out

    def _preferred(self, names: list[str] | None = None) -> dict[str, str]:
        """LMP name -> the ref to read its versions from: local, else the first fetched one."""
        best: dict[str, str] = {}
        rows = [r for cond, args in in_clauses("lmp", names)
                for r in self._q(f"SELECT ref, lmp FROM versions WHERE n=1 AND {cond}", args)]
        for ref, name in rows:
            cur = best.get(name)
            local = ref.startswith(refs.LMP_PREFIX)
            if cur is None or (local and not cur.startswith(refs.LMP_PREFIX)) or (
                local == cur.startswith(refs.LMP_PREFIX) and ref < cur
            ):
                best[name] = ref
        return best

    def versions(self, name: str) -> list[Version]:
        """The versions of `name`, oldest first (empty if unknown)."""
        with self._lock:
            self.refresh()
            ref = self._preferred([name]).get(name)
            if ref is None:
                return []
            return [_version(r) for r in self._q(_VERSION_SQL + " WHERE ref=? ORDER BY n", (ref,))]

    def _resolve(self, name: str, ref: str) -> Version:
        pref = self._preferred([name]).get(name)
        if pref is None:
            raise NotFound(f"no LMP named {name!r}")
        ref = ref.strip()
        m = _VN.match(ref)
        if ref in ("latest", "HEAD"):
            rows = self._q(_VERSION_SQL + " WHERE ref=? ORDER BY n DESC LIMIT 1", (pref,))
        elif m:
            n = int(m.group(1))
            rows = self._q(_VERSION_SQL + " WHERE ref=? AND n=?", (pref, n)) if n <= _MAX_VN else []
        else:
            rows = self._q(_VERSION_SQL + " WHERE ref=? AND vid=?", (pref, ref))
            if not rows and ref:
                like = ref.replace("%", "").replace("_", "\\_") + "%"
                rows = self._q(_VERSION_SQL + " WHERE ref=? AND (vid LIKE ? ESCAPE '\\' OR commit_id LIKE ? ESCAPE '\\')",
                               (pref, like, like.lower()))
        if not rows:
            raise NotFound(f"{name} has no version {ref!r} (use a version id or prefix, vN, a commit id, or 'latest')")
        if len(rows) > 1:
            raise NotFound(f"{ref!r} is ambiguous for {name}: " + ", ".join(r[1] for r in rows[:5]))
        return _version(rows[0])

    def version(self, name: str, ref: str = "latest") -> VersionSource:
        """The files of one version; `ref` is a version id or unique prefix, ``vN``, a commit id
        or prefix, or ``latest``."""
        with self._lock:
            self.refresh()
            v = self._resolve(name, ref)
            commit = self.repo[v.commit]
            tree = commit.tree
            text = {n: tree[n].data.decode("utf-8", "replace") if n in tree else "" for n in (SOURCE, CLOSURE)}
            meta = validate.meta_blob(tree[META].data)[0] if META in tree else {}  # a bad one: counted when indexed
            return VersionSource(name, v.version_id, v.commit, v.vn, text[SOURCE], text[CLOSURE], meta, commit.message)

    def diff(self, name: str, a: str, b: str) -> VersionDiff:
        """Unified diffs of source and closure from version `a` to `b`, with the change summary."""
        with self._lock:
            self.refresh()
            return self._diff(name, self._resolve(name, a), self._resolve(name, b), DEP_DEPTH, set())

    def _diff(self, name: str, va: Version, vb: Version, depth: int, seen: set[tuple[str, str]]) -> VersionDiff:
        ca, cb = self.repo[va.commit], self.repo[vb.commit]
        files = diffs.patches(ca.tree, cb.tree)
        _, adds, dels = files[CLOSURE]
        summary = autocommit.changes_between(side_at(self.repo, ca), side_at(self.repo, cb))
        return VersionDiff(name, va, vb, files[SOURCE][0], files[CLOSURE][0], adds, dels, tuple(summary),
                           self._dependency_diffs(va, vb, depth, seen))

    def _dependency_diffs(self, va: Version, vb: Version, depth: int,
                          seen: set[tuple[str, str]]) -> tuple[VersionDiff, ...]:
        """A used LMP at another version on each side: its own diff between the two (a version made
        only by a dependency would otherwise show no change at all)."""
        used = dict(zip(va.uses, va.uses_ids))
        out = []
        if depth <= 0:
            return ()
        for dep, vid in zip(vb.uses, vb.uses_ids):
            before = used.get(dep)
            if before == vid or (dep, vid) in seen:
                continue
            seen.add((dep, vid))  # a cycle (or a diamond) is shown once
            try:
                now = self._resolve(dep, vid)
                out.append(diffs.whole(self.repo, dep, now, "added") if before is None else
                           self._diff(dep, self._resolve(dep, before), now, depth - 1, seen))
            except NotFound:  # a version forgotten or never shared: the summary still names the change
                continue
        for dep, vid in zip(va.uses, va.uses_ids):
            if dep not in vb.uses:
                try:
                    out.append(diffs.whole(self.repo, dep, self._resolve(dep, vid), "removed"))
                except NotFound:
                    continue
        return tuple(out)

    def graph(self) -> dict[str, list[str]]:
        """LMP name -> names of the LMPs its newest version uses."""
        return {lmp.name: list(lmp.uses) for lmp in self.lmps() if lmp.latest_version}

    # -- what could not be read ------------------------------------------------------------
    def problems(self) -> Problems:
        """What was skipped because it is not the storage format or lacks objects (each was warned
        once when first met): bad invocation lines, bad meta.json files, unreadable evaluation
        commits, damaged refs. `ell doctor` checks everything in depth."""
        with self._lock:
            self.refresh()
            records = self._q("SELECT coalesce(sum(bad), 0) FROM segs")[0][0]
            where = [f"{ref or '?'} segment {oid[:12]}: {bad} × {problem}" for oid, bad, problem, ref in self._q(
                "SELECT s.oid, s.bad, s.problem, (SELECT min(r.ref) FROM seg_refs r WHERE r.seg=s.id) FROM segs s"
                " WHERE s.bad>0 LIMIT 20")]
            metas = self._q("SELECT ref, what, reason FROM problems")
            if metas:  # a fetched copy shadowed by the local ref is never read
                named = {r[0] for ref in {m[0] for m in metas}
                         for r in self._q("SELECT lmp FROM versions WHERE ref=? LIMIT 1", (ref,))}
                shown = set(self._preferred(sorted(named)).values())
                metas = [m for m in metas if m[0] in shown]
            where += [f"{ref} commit {what[:12]}: {reason}" for ref, what, reason in metas[: max(0, 20 - len(where))]]
            runs = dict(self.evals.problems)
            where += [f"{c[:12]}: {reason}" for c, reason in list(runs.items())[: max(0, 20 - len(where))]]
            broken = tuple(sorted(self._indexer.broken))
            where += [f"{ref}: cannot be read" for ref in broken[: max(0, 20 - len(where))]]
            return Problems(records, len(metas), len(runs), broken, tuple(where))

    # -- invocations -------------------------------------------------------------------------
    def invocations(
        self,
        lmp: str | None = None,
        version: str | None = None,
        q: str | None = None,
        min_latency: float | None = None,
        max_latency: float | None = None,
        min_tokens: int | None = None,
        max_tokens: int | None = None,
        limit: int = 50,
        offset: int = 0,
        min_cost: float | None = None,
        trace: str | None = None,
    ) -> InvocationPage:
        """Invocations newest first. `version` is a version id or prefix; `q` matches the invocation
        id by prefix or short id, and words of the argument and output previews (`ell_git.search`); `min_cost` (USD)
        keeps priced calls costing at least that much; `trace` (an OpenTelemetry trace id) keeps that trace's calls."""
        with self._lock:
            self.refresh()
            where, args = _scope("i", lmp, version)
            filtered = False
            for cond, val in (("i.latency>=?", min_latency), ("i.latency<=?", max_latency),
                              ("i.tok>=?", min_tokens), ("i.tok<=?", max_tokens), (costs.COST + ">=?", min_cost)):
                if val is not None:
                    where.append(cond)
                    args.append(val)
                    filtered = True
            if trace:
                where.append("i.id IN (SELECT id FROM recs WHERE trace=?)")
                args.append(trace.strip().lower())
                filtered = True
            # The page's rowids first: rows skipped by OFFSET cost one index step each, not two joins.
            if q:  # ids by prefix or short id, words through the FTS5 index (ell_git.search)
                found = search.plan(self.db, q, where, args, COUNT_CAP, scoped=bool(lmp or version))
                page, args, total, counted = found.page, found.args, found.total, found.counted
                capped = found.capped
                filtered = True
            else:
                clause = (" WHERE " + " AND ".join(where)) if where else ""
                page = f"SELECT i.rowid FROM inv i{clause} ORDER BY i.started DESC, i.rowid DESC LIMIT ? OFFSET ?"
                total, capped, counted = None, False, (f"SELECT 1 FROM inv i{clause}", args)
            if filtered and total is None:  # counted up to COUNT_CAP: "topic" in 200,000 calls needs no exact figure
                total = self._q(f"SELECT count(*) FROM ({counted[0]} LIMIT {COUNT_CAP + 1})", counted[1])[0][0]
                capped = total > COUNT_CAP
                total = min(total, COUNT_CAP)
            rows = self._q(_ROW + f" WHERE i.rowid IN ({page}) ORDER BY i.started DESC, i.rowid DESC",
                           [*args, int(limit), int(offset)])
            if not filtered:  # counts come from the aggregates: no scan
                agg_where, agg_args = _scope("a", lmp, version)
                sql = "SELECT coalesce(sum(a.n), 0) FROM agg a" + (" WHERE " + " AND ".join(agg_where) if agg_where else "")
                total = self._q(sql, agg_args)[0][0]
            return InvocationPage(tuple(_inv_row(r) for r in rows), int(total), int(limit), int(offset), capped)

    def invocation(self, id: str) -> InvocationDetail:
        """One invocation's full record, with its parent, children, origins and consumers."""
        with self._lock:
            self.refresh()
            found = self._q("SELECT s.oid, i.off, i.len FROM inv i JOIN segs s ON s.id=i.seg WHERE i.id=?", (id,))
            if not found:
                raise NotFound(f"no invocation {id!r}")
            record = self._record(*found[0])
            parent = self._rows("i.id=?", (record.get("parent_id"),)) if record.get("parent_id") else ()
            children = self._rows("i.parent=?", (id,), "ORDER BY i.started")
            origin_ids = [str(o) for o in record.get("origin_ids") or ()]
            origins = self._rows(f"i.id IN ({','.join('?' * len(origin_ids))})", origin_ids) if origin_ids else ()
            consumers = self._rows("i.id IN (SELECT inv FROM origins WHERE origin=?)", (id,), "ORDER BY i.started")
            own = self._rows("i.id=?", (id,))
            return InvocationDetail(record, parent[0] if parent else None, children, origins, consumers,
                                    own[0].cost_usd if own else None)

    def _rows(self, cond: str, args: Any, order: str = "") -> tuple[InvocationRow, ...]:
        return tuple(_inv_row(r) for r in self._q(f"{_ROW} WHERE {cond} {order}", tuple(args)))

    def _rows_of(self, ids: list[str]) -> list[InvocationRow]:
        """The rows of invocations `ids` (those indexed), in no particular order."""
        with self._lock:
            self.refresh()
            rows: list[InvocationRow] = []
            for chunk in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                part = ids[chunk:chunk + 500]
                rows += self._rows(f"i.id IN ({','.join('?' * len(part))})", part)
            return rows

    def _record(self, oid: str, off: int, length: int) -> dict[str, Any]:
        line = self.repo[oid].data[off : off + length]
        d = orjson.loads(line)
        return layout.internalise(self.repo, d) if layout.has_blob_marker(line) else d

    def cached_outputs(self, version_id: str, key: str) -> list[Any] | None:
        """Outputs of the newest error-free invocation of `version_id` with freeze key `key`."""
        with self._lock:
            self.refresh()
            try:
                ckey = int(key[:15], 16)
            except ValueError:
                return None
            rows = self._q(
                "SELECT s.oid, i.off, i.len FROM inv i JOIN segs s ON s.id=i.seg WHERE i.ver=(SELECT id FROM vers"
                " WHERE vid=?) AND i.ckey=? AND i.error=0 ORDER BY i.started DESC", (version_id, ckey))
            for oid, off, length in rows:
                d = self._record(oid, off, length)
                if d.get("cache_key") == key:
                    return list(d.get("outputs") or [])
            return None

    # -- stats -------------------------------------------------------------------------------
    def stats(self, lmp: str, version: str | None = None, series: int = 100) -> Stats:
        """Counts, tokens and latency percentiles of `lmp` (or one of its versions), plus the
        newest `series` invocations for charts."""
        with self._lock:
            self.refresh()
            aw, args = _scope("a", lmp, version)
            iw, _ = _scope("i", lmp, version)
            acond, icond = " AND ".join(aw), " AND ".join(iw)
            per = {vid: n for vid, n in self._q(
                f"SELECT v.vid, a.n FROM agg a JOIN vers v ON v.id=a.ver WHERE {acond}", args)}
            count = sum(per.values())
            tok = self._q(f"SELECT coalesce(sum(a.tok), 0) FROM agg a WHERE {acond}", args)[0][0]
            p50 = p95 = None
            if 0 < count <= EXACT_PERCENTILES:
                lat = sorted(r[0] or 0.0 for r in self._q(f"SELECT i.latency FROM inv i WHERE {icond}", args))
                p50, p95 = _pct(lat, 0.5), _pct(lat, 0.95)
            elif count:
                hist = self._q(f"SELECT bucket, sum(n) FROM hist WHERE ver IN (SELECT a.ver FROM agg a WHERE {acond})"
                               " GROUP BY bucket ORDER BY bucket", args)
                p50, p95 = _hist_pct(hist, count, 0.5), _hist_pct(hist, count, 0.95)
            pts = self._q(f"SELECT i.id, i.started, i.latency, i.tok, v.vid FROM inv i JOIN vers v ON v.id=i.ver"
                          f" WHERE {icond} ORDER BY i.started DESC LIMIT ?", [*args, int(series)])
            points = tuple(SeriesPoint(r[0], r[1] or 0.0, r[2] or 0.0, r[3], r[4]) for r in reversed(pts))
            return Stats(lmp, version, count, int(tok), (tok / count) if count else None, p50, p95, per, points,
                         costs.total(self.db, lmp, version), costs.by_version(self.db, lmp))


def _scope(alias: str, lmp: str | None, version: str | None) -> tuple[list[str], list[Any]]:
    """SQL conditions on `alias`.lmp / `alias`.ver for an LMP name and a version id or prefix."""
    where: list[str] = []
    args: list[Any] = []
    if lmp is not None:
        where.append(f"{alias}.lmp=(SELECT id FROM lmps WHERE name=?)")
        args.append(lmp)
    if version is not None:
        where.append(f"{alias}.ver IN (SELECT id FROM vers WHERE vid=? OR vid LIKE ? ESCAPE '\\')")
        args += [version, version.replace("%", "").replace("_", "\\_") + "%"]
    return where, args


_VERSION_SQL = (
    "SELECT lmp, vid, commit_id, n, subject, body, time, code_commit, dirty, model, kind, uses_names, uses,"
    " message_by FROM versions"
)


def _version(r: tuple[Any, ...]) -> Version:
    return Version(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", r[6] or 0.0, r[7], bool(r[8]), r[9],
                   r[10] or "simple", tuple(orjson.loads(r[11] or "[]")), tuple(orjson.loads(r[12] or "[]")),
                   r[13] or "deterministic")


def _inv_row(r: tuple[Any, ...]) -> InvocationRow:
    return InvocationRow(r[0], r[1], r[2], r[3] or 0.0, r[4] or 0.0, r[5], r[6], r[7], r[8], bool(r[9]),
                         bool(r[10]), r[11], r[12] or "", r[13] or "",
                         None if r[14] is None else round(r[14], 12))


def _pct(sorted_values: list[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default)."""
    k = (len(sorted_values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def _hist_pct(hist: list[tuple[int, int]], count: int, p: float) -> float:
    target = p * count
    seen = 0
    for bucket, n in hist:
        seen += n
        if seen >= target:
            return cache.bucket_value(bucket)
    return cache.bucket_value(hist[-1][0]) if hist else 0.0


def _token(tips: dict[str, str]) -> str:
    h = hashlib.sha1()
    for name in sorted(tips):
        h.update(f"{name} {tips[name]}\n".encode())
    return h.hexdigest()[:16]
