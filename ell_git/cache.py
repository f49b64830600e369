"""The read cache: SQLite (WAL) under ``.git/ell/cache.sqlite``, derived from ``refs/ell/*`` only.

It remembers the tip it indexed for every ref, so any change, by this process, another process,
``git fetch`` or a hand-moved ref, is seen on the next read. Updating is incremental:

* invocation refs: diff the indexed tree against the new tip's tree (unchanged directories are
  skipped), index added segments, un-index removed ones. A segment (an immutable blob) is indexed
  once however many refs hold it (the local ref and its fetched copy); rows are de-duplicated by
  invocation id.
* LMP refs: a changed ref's version list is rebuilt from its history (≤ a few ms per 1,000).

Aggregates (counts, token sums, a log-bucket latency histogram) are kept per version, so LMP
pages never scan invocations. Deleting the file is always safe.
"""

from __future__ import annotations

import functools
import gc
import math
import os
import sqlite3
import warnings

import orjson
import pygit2

from . import layout, refs, search, traces, validate
from .errors import NewerFormatError
from .previews import first_text, preview as _preview
from .versions import META, parse_trailers, split_message, version_ids_in

SCHEMA_VERSION = "8"  # 5: cached/reasoning tokens, usage by model and day, rates (cost); 6: trace ids, policies;
# 7: FTS5 word index of previews (ell_git.search), versions of an LMP by index (vers_lmp); 8: word index in time order
#: Latency histogram: bucket b holds latencies in [R**(b-1), R**b) ms (bucket 0: < 1 ms).
BUCKET_RATIO = 1.05

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE tips(ref TEXT PRIMARY KEY, tip TEXT NOT NULL, tree TEXT);
CREATE TABLE lmps(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE vers(id INTEGER PRIMARY KEY, vid TEXT UNIQUE NOT NULL, lmp INTEGER NOT NULL);
CREATE INDEX vers_lmp ON vers(lmp);
CREATE TABLE versions(
  ref TEXT NOT NULL, n INTEGER NOT NULL, lmp TEXT NOT NULL, vid TEXT NOT NULL, commit_id TEXT NOT NULL,
  subject TEXT, body TEXT, time REAL, code_commit TEXT, dirty INTEGER, model TEXT, kind TEXT,
  uses TEXT, uses_names TEXT, message_by TEXT, PRIMARY KEY(ref, n)) WITHOUT ROWID;
CREATE INDEX versions_lmp ON versions(lmp);
CREATE INDEX versions_vid ON versions(vid);
CREATE INDEX versions_commit ON versions(commit_id);
CREATE TABLE segs(id INTEGER PRIMARY KEY, oid TEXT UNIQUE NOT NULL, nrefs INTEGER NOT NULL,
  bad INTEGER NOT NULL DEFAULT 0, problem TEXT);
CREATE TABLE seg_refs(ref TEXT NOT NULL, seg INTEGER NOT NULL, PRIMARY KEY(ref, seg)) WITHOUT ROWID;
CREATE TABLE inv(
  id TEXT UNIQUE NOT NULL, seg INTEGER NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL,
  lmp INTEGER NOT NULL, ver INTEGER NOT NULL, started REAL, latency REAL,
  ptok INTEGER, ctok INTEGER, tok INTEGER, model TEXT, error INTEGER, cached INTEGER,
  parent TEXT, ckey INTEGER, args_preview TEXT, output_preview TEXT, cptok INTEGER, rtok INTEGER);
CREATE INDEX inv_started ON inv(started);
CREATE INDEX inv_lmp ON inv(lmp, started);
CREATE INDEX inv_ver ON inv(ver, started);
CREATE INDEX inv_ckey ON inv(ver, ckey);
CREATE INDEX inv_parent ON inv(parent) WHERE parent IS NOT NULL;
CREATE TABLE origins(inv TEXT NOT NULL, origin TEXT NOT NULL);
CREATE INDEX origins_origin ON origins(origin);
CREATE INDEX origins_inv ON origins(inv);
CREATE TABLE agg(ver INTEGER PRIMARY KEY, lmp INTEGER NOT NULL, n INTEGER NOT NULL, tok INTEGER NOT NULL,
  last REAL);
CREATE INDEX agg_lmp ON agg(lmp);
CREATE TABLE uagg(ver INTEGER NOT NULL, model TEXT NOT NULL, day INTEGER NOT NULL, n INTEGER NOT NULL,
  ptok INTEGER NOT NULL, cptok INTEGER NOT NULL, ctok INTEGER NOT NULL, rtok INTEGER NOT NULL,
  PRIMARY KEY(ver, model, day)) WITHOUT ROWID;
CREATE TABLE models(name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE vcost(ver INTEGER PRIMARY KEY, cost REAL NOT NULL, priced INTEGER NOT NULL, unpriced INTEGER NOT NULL);
CREATE TABLE vdirty(ver INTEGER PRIMARY KEY);
CREATE TABLE rates(model TEXT NOT NULL, since REAL NOT NULL, until REAL NOT NULL, inp REAL NOT NULL,
  cin REAL NOT NULL, out REAL NOT NULL, rsn REAL NOT NULL, PRIMARY KEY(model, since)) WITHOUT ROWID;
CREATE TABLE hist(ver INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY(ver, bucket)) WITHOUT ROWID;
CREATE TABLE problems(ref TEXT NOT NULL, what TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY(ref, what))
  WITHOUT ROWID;
""" + traces.SCHEMA  # OpenTelemetry ids and recording policies (ell_git.traces)


def bucket_of(latency_ms: float) -> int:
    if not latency_ms or latency_ms < 1.0:
        return 0
    return 1 + int(math.log(latency_ms) / math.log(BUCKET_RATIO))


def bucket_value(b: int) -> float:
    """A representative latency for bucket `b` (geometric middle)."""
    if b <= 0:
        return 0.5
    return BUCKET_RATIO ** (b - 0.5)


def connect(path: str) -> sqlite3.Connection:
    """Open (creating or, on a schema change, recreating) the cache database."""
    for _ in range(2):
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-65536")
        try:
            row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is not None and row[0] == SCHEMA_VERSION:
            return db
        if row is None and not db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
            db.execute("BEGIN IMMEDIATE")
            if not db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
                for stmt in _SCHEMA.split(";"):  # not executescript: it would commit early
                    if stmt.strip():
                        db.execute(stmt)
                search.create(db)  # without FTS5 in this SQLite, search scans with LIKE
                db.execute("INSERT INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
            return db
        db.close()  # an older schema: start over (it is only a cache)
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(path + suffix)
            except FileNotFoundError:
                pass
    raise RuntimeError(f"cannot create the read cache at {path}: delete it and retry")


class Indexer:
    """Brings the cache up to date with the refs. Used under a write transaction."""

    def __init__(self, repo: pygit2.Repository, db: sqlite3.Connection) -> None:
        self.repo = repo
        self.db = db
        self._lmp_ids: dict[str, int] = {}
        self._ver_ids: dict[str, int] = {}
        #: ref -> tip that could not be read (a missing object): skipped, with one warning, until it moves.
        self.broken: dict[str, str] = {}
        #: (refs done, refs to do) while a sync runs, else None: read by other threads for a progress page.
        self.progress: tuple[int, int] | None = None

    def sync(self, current: dict[str, str]) -> bool:
        """Index every ref that moved since last time; returns whether anything changed."""
        db = self.db
        known = dict(db.execute("SELECT ref, tip FROM tips").fetchall())
        wanted = {r: t for r, t in current.items() if _indexed(r)}
        for ref, tip in self.broken.items():
            if wanted.get(ref) == tip:  # still broken: what was indexed before it broke stays
                if ref in known:
                    wanted[ref] = known[ref]
                else:
                    del wanted[ref]
        if known == wanted:
            return False
        db.execute("BEGIN IMMEDIATE")
        # Parsed records are acyclic: pausing the cyclic GC saves ~40% of a large indexing.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            known = {r: (t, tree) for r, t, tree in db.execute("SELECT ref, tip, tree FROM tips")}
            todo = [r for r in sorted(set(known) | set(current)) if _indexed(r)]
            for done, ref in enumerate(todo):
                self.progress = (done, len(todo))
                old = known.get(ref)
                new = current.get(ref)
                if (old is not None and old[0] == new) or (new is not None and self.broken.get(ref) == new):
                    continue
                db.execute("SAVEPOINT one_ref")
                try:
                    if refs.is_inv_ref(ref):
                        self._sync_inv(ref, old[1] if old else None, new)
                    else:
                        self._sync_lmp(ref, new)
                except NewerFormatError:
                    raise  # not damage: this ell-git is too old for the repository (one clear error)
                except Exception as exc:  # a missing object, a ref to a tree, garbage where a commit goes
                    # One damaged ref must not make the whole history unreadable: skip it, say so once.
                    db.execute("ROLLBACK TO one_ref")
                    self._lmp_ids.clear()  # ids handed out inside the rolled-back part are gone
                    self._ver_ids.clear()
                    self.broken[ref] = new
                    what = exc.args[0] if isinstance(exc, KeyError) and exc.args else f"{type(exc).__name__}: {exc}"
                    warnings.warn(f"ell: {ref} cannot be read ({what}): it is skipped until it moves; "
                                  "run `ell doctor` to see what is damaged", RuntimeWarning, stacklevel=2)
                db.execute("RELEASE one_ref")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        finally:
            self.progress = None
            if gc_was_enabled:
                gc.enable()
        return True

    # -- LMP refs ----------------------------------------------------------------------------
    def _sync_lmp(self, ref: str, tip: str | None) -> None:
        db = self.db
        checked = {r[0] for r in db.execute("SELECT commit_id FROM versions WHERE ref=?", (ref,))}
        problems = dict(db.execute("SELECT what, reason FROM problems WHERE ref=?", (ref,)).fetchall())
        db.execute("DELETE FROM versions WHERE ref=?", (ref,))
        db.execute("DELETE FROM problems WHERE ref=?", (ref,))
        if tip is None:
            db.execute("DELETE FROM tips WHERE ref=?", (ref,))
            return
        if not isinstance(self.repo[tip], pygit2.Commit):
            raise TypeError(f"{ref} points to a {self.repo[tip].type_str}, not a commit")
        rows, seen = [], set()
        walker = self.repo.walk(tip, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
        for c in walker:
            t = parse_trailers(c.message)
            vid = version_ids_in(c)
            if not vid or vid in seen:
                continue
            seen.add(vid)
            layout.check_format(t.get("Ell-Format", ["1"])[-1])
            cid = str(c.id)
            # meta.json is read once per commit (new ones only): a bad one is counted and named, and
            # the version is served without it.
            problem = problems.get(cid) if cid in checked else self._meta_problem(ref, c)
            if problem:
                db.execute("INSERT OR REPLACE INTO problems VALUES(?,?,?)", (ref, cid, problem))
            # The ref's own name is exact; the trailer is one line (control characters collapsed),
            # needed only for hashed long names.
            name = refs.lmp_name_of(ref) or (t.get("Ell-Lmp") or [""])[-1]
            code = (t.get("Ell-Code-Commit") or [None])[-1]
            uses = [u.split(" ", 1) for u in t.get("Ell-Uses", [])]
            subject, body = split_message(c.message)
            rows.append((
                ref, len(rows) + 1, name, vid, str(c.id), subject, body, float(c.commit_time),
                code.split(" ")[0] if code else None, 1 if code and code.endswith("(dirty)") else 0,
                (t.get("Ell-Model") or [None])[-1], (t.get("Ell-Kind") or ["simple"])[-1],
                orjson.dumps([u[0] for u in uses]).decode(),
                orjson.dumps([u[1].strip("()") if len(u) > 1 else "" for u in uses]).decode(),
                (t.get("Ell-Message") or ["deterministic"])[-1],
            ))
        db.executemany("INSERT INTO versions VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        db.execute("INSERT OR REPLACE INTO tips VALUES(?,?,NULL)", (ref, tip))

    def _meta_problem(self, ref: str, c: pygit2.Commit) -> str | None:
        try:
            entry = c.tree[META] if META in c.tree else None
            data = self.repo[entry.id].data if entry is not None else b"{}"
        except (KeyError, AttributeError, pygit2.GitError):
            return None  # a missing blob: `ell doctor` (and git) report it
        _, problem = validate.meta_blob(data)
        if problem and entry is not None:
            warnings.warn(f"ell: {problem} (version commit {str(c.id)[:12]} of {ref}): the version is shown "
                          "without it; run `ell doctor`", RuntimeWarning, stacklevel=2)
            return problem
        return None

    # -- invocation refs ---------------------------------------------------------------------
    def _sync_inv(self, ref: str, old_tree: str | None, tip: str | None) -> None:
        repo, db = self.repo, self.db
        if tip is not None and not isinstance(repo[tip], pygit2.Commit):
            raise TypeError(f"{ref} points to a {repo[tip].type_str}, not a commit")
        new_tree = str(repo[tip].tree_id) if tip is not None else None
        if old_tree is None:
            added = [(p, str(o)) for p, o in layout.iter_segments(repo, pygit2.Oid(hex=new_tree))] if new_tree else []
            removed: list[str] = []
        else:
            added, removed = [], []
            if new_tree is None:
                removed = [str(o) for _, o in layout.iter_segments(repo, pygit2.Oid(hex=old_tree))]
            else:
                diff = repo.diff(repo[old_tree], repo[new_tree])
                for d in diff.deltas:
                    if d.status_char() in "DM" and d.old_file.path.endswith(layout.SEGMENT_SUFFIX):
                        removed.append(str(d.old_file.id))
                    if d.status_char() in "AM" and d.new_file.path.endswith(layout.SEGMENT_SUFFIX):
                        added.append((d.new_file.path, str(d.new_file.id)))
        for oid in removed:
            self._unref_segment(ref, oid)
        for path, oid in added:
            self._ref_segment(ref, oid, path)
        if tip is None:
            db.execute("DELETE FROM tips WHERE ref=?", (ref,))
        else:
            db.execute("INSERT OR REPLACE INTO tips VALUES(?,?,?)", (ref, tip, new_tree))

    def _ref_segment(self, ref: str, oid: str, path: str) -> None:
        db = self.db
        row = db.execute("SELECT id FROM segs WHERE oid=?", (oid,)).fetchone()
        if row is not None:
            if db.execute("INSERT OR IGNORE INTO seg_refs VALUES(?,?)", (ref, row[0])).rowcount:
                db.execute("UPDATE segs SET nrefs=nrefs+1 WHERE id=?", (row[0],))
            return
        seg = db.execute("INSERT INTO segs(oid, nrefs) VALUES(?,1)", (oid,)).lastrowid
        db.execute("INSERT INTO seg_refs VALUES(?,?)", (ref, seg))
        bad, problem = self._index_lines(seg, self.repo[oid].data)
        if bad:
            db.execute("UPDATE segs SET bad=?, problem=? WHERE id=?", (bad, problem, seg))
            warnings.warn(f"ell: {bad} record{'s' * (bad != 1)} in {ref}:{path} could not be read ({problem}): "
                          "skipped; run `ell doctor`", RuntimeWarning, stacklevel=2)

    def _index_lines(self, seg: int, data: bytes) -> tuple[int, str | None]:
        """Index a segment's lines; returns (lines that are not the storage format, the first problem)."""
        # The hot loop of a first indexing (1M lines ≈ tens of seconds): keep it flat.
        db, loads, check = self.db, orjson.loads, validate.invocation
        parsed = []
        off = bad = 0
        first = None
        for line in data.split(b"\n"):
            n = len(line)
            if n:
                try:
                    d = loads(line)
                except orjson.JSONDecodeError:
                    d = None
                problem = check(d) if d is not None else "not JSON"
                if problem is None:
                    parsed.append((off, n, d))
                else:
                    bad += 1
                    first = first or problem
            off += n + 1
        if parsed:
            layout.check_format(parsed[0][2].get("format"))
        ids = [str(d["id"]) for _, _, d in parsed]
        present: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            q = f"SELECT id FROM inv WHERE id IN ({','.join('?' * len(chunk))})"
            present.update(r[0] for r in db.execute(q, chunk))
        rows, origins, agg, hist, uagg = [], [], {}, {}, {}
        lmp_id, ver_id, num = self.lmp_id, self.ver_id, (int, float)
        for off, n, d in parsed:
            iid = str(d["id"])
            if iid in present:
                continue
            present.add(iid)
            lmp = lmp_id(str(d.get("lmp_name") or "?"))
            ver = ver_id(str(d.get("version_id") or "?"), lmp)
            usage = d.get("usage") or {}
            ptok, ctok, tok = usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("total_tokens")
            cptok, rtok = _detail_tokens(usage)
            latency, started, key = d.get("latency_ms"), d.get("started_at"), d.get("cache_key")
            latency = latency if type(latency) in num else None
            started = started if type(started) in num else None
            tok = tok if type(tok) is int else None
            args = d.get("args")
            out = first_text(d.get("outputs"))
            if d.get("error") and not out:  # a failed call's list shows its error, not "[]"
                out = d["error"] if type(d["error"]) is str else None
            rows.append((
                iid, seg, off, n, lmp, ver, started, latency,
                ptok if type(ptok) is int else None, ctok if type(ctok) is int else None, tok,
                d.get("model"), 1 if d.get("error") else 0, 1 if d.get("cached") else 0, d.get("parent_id"),
                int(key[:15], 16) if type(key) is str and len(key) >= 15 else None,
                _preview(args) if args else "", _preview(out) if out is not None else "", cptok, rtok,
            ))
            # Usage per (version, model, day): what cost totals price at read time without a scan.
            ukey = (ver, d.get("model") or "", int(started // 86400) if started is not None else 0)
            u = uagg.get(ukey)
            if u is None:
                u = uagg[ukey] = [0, 0, 0, 0, 0]
            u[0] += 1
            u[1] += ptok if type(ptok) is int else 0
            u[2] += cptok or 0
            u[3] += ctok if type(ctok) is int else 0
            u[4] += rtok or 0
            if d.get("origin_ids"):
                origins.extend((iid, str(o)) for o in d["origin_ids"])
            a = agg.get(ver)
            if a is None:
                a = agg[ver] = [lmp, 0, 0, started]
            a[1] += 1
            a[2] += tok or 0
            if started is not None and (a[3] is None or started > a[3]):
                a[3] = started
            hb = (ver, bucket_of(latency or 0.0))
            hist[hb] = hist.get(hb, 0) + 1
        db.executemany("INSERT INTO inv VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        traces.index(db, parsed, rows)
        if uagg:
            db.executemany(
                "INSERT INTO uagg VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(ver, model, day) DO UPDATE SET n=n+excluded.n,"
                " ptok=ptok+excluded.ptok, cptok=cptok+excluded.cptok, ctok=ctok+excluded.ctok, rtok=rtok+excluded.rtok",
                [(*k, *u) for k, u in uagg.items()])
            db.executemany("INSERT OR IGNORE INTO models VALUES(?)", [(m,) for m in {k[1] for k in uagg} if m])
            db.executemany("INSERT OR IGNORE INTO vdirty VALUES(?)", [(v,) for v in {k[0] for k in uagg}])
        if origins:
            db.executemany("INSERT INTO origins VALUES(?,?)", origins)
        db.executemany(
            "INSERT INTO agg VALUES(?,?,?,?,?) ON CONFLICT(ver) DO UPDATE SET n=n+excluded.n, tok=tok+excluded.tok,"
            " last=max(coalesce(last, 0), coalesce(excluded.last, 0))",
            [(ver, a[0], a[1], a[2], a[3]) for ver, a in agg.items()],
        )
        db.executemany(
            "INSERT INTO hist VALUES(?,?,?) ON CONFLICT(ver, bucket) DO UPDATE SET n=n+excluded.n",
            [(v, b, n) for (v, b), n in hist.items()],
        )
        return bad, first

    def _unref_segment(self, ref: str, oid: str) -> None:
        db = self.db
        row = db.execute("SELECT id, nrefs FROM segs WHERE oid=?", (oid,)).fetchone()
        if row is None or not db.execute("DELETE FROM seg_refs WHERE ref=? AND seg=?", (ref, row[0])).rowcount:
            return
        if row[1] > 1:
            db.execute("UPDATE segs SET nrefs=nrefs-1 WHERE id=?", (row[0],))
            return
        db.execute("DELETE FROM segs WHERE id=?", (row[0],))
        gone = db.execute("SELECT id, ver, tok, latency, model, started, ptok, cptok, ctok, rtok FROM inv WHERE seg=?"
                          " AND id IN (SELECT value FROM json_each(?))",
                          (row[0], orjson.dumps([_line_id(x) for x in self._blob(oid).split(b"\n") if x]).decode())).fetchall()
        for iid, ver, tok, latency, model, started, ptok, cptok, ctok, rtok in gone:
            db.execute("UPDATE uagg SET n=n-1, ptok=ptok-?, cptok=cptok-?, ctok=ctok-?, rtok=rtok-? WHERE ver=? AND model=?"
                       " AND day=?", (ptok or 0, cptok or 0, ctok or 0, rtok or 0, ver, model or "",
                                      int(started // 86400) if started is not None else 0))
            db.execute("DELETE FROM inv WHERE id=?", (iid,))
            traces.unindex(db, iid)
            db.execute("DELETE FROM origins WHERE inv=?", (iid,))
            db.execute("UPDATE agg SET n=n-1, tok=tok-? WHERE ver=?", (tok or 0, ver))
            db.execute("UPDATE hist SET n=n-1 WHERE ver=? AND bucket=?", (ver, bucket_of(latency or 0.0)))
        for (ver,) in {(g[1],) for g in gone}:
            db.execute("INSERT OR IGNORE INTO vdirty VALUES(?)", (ver,))  # its cost is summed again
            db.execute("UPDATE agg SET last=(SELECT max(started) FROM inv WHERE ver=?) WHERE ver=?", (ver, ver))
        db.execute("DELETE FROM agg WHERE n<=0")
        db.execute("DELETE FROM uagg WHERE n<=0")
        db.execute("DELETE FROM hist WHERE n<=0")

    def _blob(self, oid: str) -> bytes:
        try:
            return self.repo[oid].data
        except KeyError:  # the objects are gone too (pruned): nothing to match
            return b""

    def lmp_id(self, name: str) -> int:
        i = self._lmp_ids.get(name)
        if i is None:
            self.db.execute("INSERT OR IGNORE INTO lmps(name) VALUES(?)", (name,))
            i = self.db.execute("SELECT id FROM lmps WHERE name=?", (name,)).fetchone()[0]
            self._lmp_ids[name] = i
        return i

    def ver_id(self, vid: str, lmp: int) -> int:
        i = self._ver_ids.get(vid)
        if i is None:
            self.db.execute("INSERT OR IGNORE INTO vers(vid, lmp) VALUES(?,?)", (vid, lmp))
            i = self.db.execute("SELECT id FROM vers WHERE vid=?", (vid,)).fetchone()[0]
            self._ver_ids[vid] = i
        return i


@functools.lru_cache(maxsize=1 << 16)  # ref names repeat on every sync: unescape each once
def _indexed(ref: str) -> bool:
    return refs.is_inv_ref(ref) or refs.lmp_name_of(ref) is not None or _is_lmp_ref(ref)


def _is_lmp_ref(ref: str) -> bool:
    # Hashed long names do not unescape but are still LMP refs.
    if ref.startswith(refs.LMP_PREFIX):
        return True
    parts = ref[len(refs.REMOTES_PREFIX) :].split("/") if ref.startswith(refs.REMOTES_PREFIX) else []
    return len(parts) == 3 and parts[1] == "lmp"


def _detail_tokens(usage: dict) -> tuple[int | None, int | None]:
    """(cached input tokens, reasoning tokens) from a usage object as providers report it; None
    when not reported (records written before ell-git recorded the details read as before)."""
    pd, cd = usage.get("prompt_tokens_details"), usage.get("completion_tokens_details")
    cached = pd.get("cached_tokens") if type(pd) is dict else None
    if type(cached) is not int:
        cached = usage.get("prompt_cache_hit_tokens")  # DeepSeek reports cache hits at the top level
    reasoning = cd.get("reasoning_tokens") if type(cd) is dict else None
    return (cached if type(cached) is int and cached >= 0 else None,
            reasoning if type(reasoning) is int and reasoning >= 0 else None)


def _line_id(line: bytes) -> str:
    try:
        return str(orjson.loads(line).get("id"))
    except (orjson.JSONDecodeError, AttributeError):
        return ""
