"""Text search over invocations: ids by prefix or short id, and words of the argument and output
previews through an SQLite FTS5 index in the read cache (a LIKE scan where FTS5 is missing).

The word index is a contentless FTS5 table (no copy of the text) whose rowids are **time keys**:
a call's start in microseconds (one more where two collide; ``inv_tkey`` maps each key to its
``inv`` row). FTS5 reads a word's matches in rowid order, so a search reads them newest first and
stops at the end of its page: "topic" in 200,000 calls costs what its page costs (11 ms), not the
200,000 matches (137 ms). Pages come out in the order of every other list (start time, newest first).

The index is filled lazily: the first search after indexing adds the rows it lacks (those above
``meta.fts_upto``, the highest ``inv`` rowid indexed, and not in ``inv_tkey``), so a first indexing
of 200,000 calls is not slowed by it. Triggers take rows deleted from ``inv`` out of the index, and
lower ``fts_upto`` when a deleted rowid is handed out again. Words match whole, the last one by
prefix (``"capital of fr"``): FTS5 finds words, not arbitrary substrings.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

from . import ids

#: Statements that add the word index to a new cache (run one by one: triggers hold semicolons).
FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE inv_fts USING fts5(args, output, content='')",
    "CREATE TABLE inv_tkey(tkey INTEGER PRIMARY KEY, inv INTEGER UNIQUE NOT NULL)",
    "CREATE TRIGGER inv_fts_del AFTER DELETE ON inv WHEN EXISTS (SELECT 1 FROM inv_tkey WHERE inv=old.rowid) BEGIN"
    " INSERT INTO inv_fts(inv_fts, rowid, args, output) VALUES('delete',"
    " (SELECT tkey FROM inv_tkey WHERE inv=old.rowid), old.args_preview, old.output_preview);"
    " DELETE FROM inv_tkey WHERE inv=old.rowid; END",
    # A deleted rowid can be handed out again, below `fts_upto`: the next search indexes from there.
    "CREATE TRIGGER inv_fts_ins AFTER INSERT ON inv"
    " WHEN new.rowid <= coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key='fts_upto'), 0) BEGIN"
    " UPDATE meta SET value=CAST(new.rowid - 1 AS TEXT) WHERE key='fts_upto'; END",
)
#: The word index's rows → invocation rowids.
_MATCHED = "SELECT k.inv FROM inv_fts f JOIN inv_tkey k ON k.tkey=f.rowid WHERE f.inv_fts MATCH ?"
_WORD = re.compile(r"\w+", re.UNICODE)


def create(db: sqlite3.Connection) -> bool:
    """Add the word index to a cache being created; False when this SQLite has no FTS5."""
    try:
        db.execute("SAVEPOINT fts")
        for stmt in FTS_SCHEMA:
            db.execute(stmt)
        db.execute("RELEASE fts")
        return True
    except sqlite3.OperationalError:  # "no such module: fts5"
        db.execute("ROLLBACK TO fts")
        db.execute("RELEASE fts")
        return False


def has_fts(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name='inv_fts'").fetchone() is not None


def catch_up(db: sqlite3.Connection) -> int:
    """Index the rows added to ``inv`` since the last search; returns how many."""
    upto = db.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key='fts_upto'").fetchone()
    upto = upto[0] if upto else 0
    top = db.execute("SELECT max(rowid) FROM inv").fetchone()[0] or 0
    if top <= upto:
        return 0
    db.execute("BEGIN IMMEDIATE")
    try:
        rows = db.execute("SELECT i.rowid, i.started, i.args_preview, i.output_preview FROM inv i WHERE i.rowid>?"
                          " AND NOT EXISTS (SELECT 1 FROM inv_tkey k WHERE k.inv=i.rowid) ORDER BY i.rowid", (upto,)).fetchall()
        keys = _time_keys(db, [r[1] for r in rows])
        db.executemany("INSERT INTO inv_tkey VALUES(?,?)", zip(keys, (r[0] for r in rows)))
        db.executemany("INSERT INTO inv_fts(rowid, args, output) VALUES(?,?,?)",
                       ((k, r[2], r[3]) for k, r in zip(keys, rows)))
        db.execute("INSERT OR REPLACE INTO meta VALUES('fts_upto', ?)", (str(top),))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return len(rows)


def _time_keys(db: sqlite3.Connection, started: list[Any]) -> list[int]:
    """A unique time key per start time: microseconds (0 when unknown), one more while taken."""
    wanted = [round(t * 1e6) if type(t) in (int, float) and abs(t) < 9e12 else 0 for t in started]
    if not wanted:
        return []
    lo, hi = min(wanted), max(wanted) + len(wanted)
    taken = {r[0] for r in db.execute("SELECT tkey FROM inv_tkey WHERE tkey BETWEEN ? AND ?", (lo, hi))}
    keys = []
    for key in wanted:
        while key in taken:
            key += 1
        taken.add(key)
        keys.append(key)
    return keys


def match_query(q: str) -> str | None:
    """An FTS5 query for the words of `q` (the last one a prefix), or None if it has no words."""
    words = _WORD.findall(q)
    if not words:
        return None
    return '"' + " ".join(words).replace('"', '""') + '"*'


def _rowids(db: sqlite3.Connection, q: str) -> tuple[str, list[Any], bool]:
    """A query for the rowids `q` matches through the indexes, its arguments, and whether it covers
    words (False without FTS5 or without words: then the previews need a LIKE scan too).

    Ids match by prefix ("inv-c4", "c4"; a hex id holds "ada" or "bee" by chance) and by short id
    (``c449-22fa``), through the id index; text through the word index."""
    low = q.strip().lower()
    parts = ["SELECT rowid FROM inv WHERE id>=? AND id<?", "SELECT rowid FROM inv WHERE id>=? AND id<?"]
    args: list[Any] = [low, low + "\U0010ffff", "inv-" + low, "inv-" + low + "\U0010ffff"]
    short = ids.short_id_like(q)
    if short:
        head = short.split("_", 1)[0]
        parts.append("SELECT rowid FROM inv WHERE id>=? AND id<? AND id LIKE ?")
        args += [head, head + "\U0010ffff", short]
    match = match_query(q) if has_fts(db) else None
    if match is not None:
        catch_up(db)
        parts.append(_MATCHED)
        args.append(match)
    return " UNION ALL ".join(parts), args, match is not None


def condition(db: sqlite3.Connection, q: str, alias: str = "i") -> tuple[str, list[Any]]:
    """An SQL condition on invocation `alias` for search text `q`, with its arguments."""
    rowids, args, indexed = _rowids(db, q)
    if indexed:
        return f"{alias}.rowid IN ({rowids})", args
    # No FTS5 (or no words): a LIKE scan of the previews, as before there was an index.
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    cond = (f"({alias}.rowid IN ({rowids}) OR {alias}.args_preview LIKE ? ESCAPE '\\'"
            f" OR {alias}.output_preview LIKE ? ESCAPE '\\')")
    return cond, [*args, like, like]


@dataclass(frozen=True)
class Plan:
    """How `Reader.invocations` reads a search's page: `page` selects the rowids of invocations `i`
    (its last two arguments, LIMIT and OFFSET, are the caller's); `total` when known without
    counting (with `capped`: at least that many), else `counted` (SQL, arguments) is counted."""

    page: str
    args: list[Any]
    total: int | None
    capped: bool
    counted: tuple[str, list[Any]]


#: A search within one LMP or version of at most this many calls reads their words, not the index's...
SCOPE_MAX = 5000
#: ... when the word index has more matches than this (fewer are cheaper to list: 0.3 ms for none).
SCOPE_FIRST = 2000


def plan(db: sqlite3.Connection, q: str, where: list[str], args: list[Any], cap: int, scoped: bool = False) -> Plan:
    """The cheapest way to a page of invocations matching `q` and the conditions `where` on `i`.

    Words alone (no id matches `q`, no other condition): the page is read newest first from the
    word index and the index counts its matches up to `cap`. Within a small `scoped` set (one LMP
    or version: `where` walks an index), the set's own words are searched. With other conditions,
    up to `cap` matches are listed once and sorted (their count comes free); more are read newest
    first from the word index too. Without the index (or words), a condition per row."""
    rowids, qargs, indexed = _rowids(db, q)
    by_id, id_args = rowids.rsplit(" UNION ALL ", 1)[0], qargs[:-1]  # with the index: the id parts alone
    if indexed and scoped and _more_words_than(db, qargs[-1], SCOPE_FIRST):
        within = _matches_within(db, where, args, qargs[-1])
        if within is not None:
            ids = {r[0] for r in db.execute(by_id, id_args)}
            return _listed(sorted(ids.union(within)), where, args, count=False)
    by_words = indexed and not db.execute(f"SELECT 1 FROM ({by_id}) LIMIT 1", id_args).fetchone()
    if by_words:
        # CROSS JOIN keeps the word index outermost: SQLite would otherwise walk an LMP's calls and
        # ask the index about each (a full MATCH per row: 4.6 s for one LMP's 334 calls).
        newest = ("SELECT i.rowid FROM inv_fts f CROSS JOIN inv_tkey k CROSS JOIN inv i"
                  " WHERE k.tkey=f.rowid AND i.rowid=k.inv AND f.inv_fts MATCH ?" + "".join(f" AND {w}" for w in where))
        page, page_args = newest + " ORDER BY f.rowid DESC LIMIT ? OFFSET ?", [qargs[-1], *args]
        if not where:
            n = db.execute(f"SELECT count(*) FROM (SELECT 1 FROM inv_fts WHERE inv_fts MATCH ? LIMIT {cap + 1})",
                           [qargs[-1]]).fetchone()[0]
            return Plan(page, page_args, min(n, cap), n > cap, (newest, page_args))
    if indexed:
        rows = db.execute(f"{rowids} LIMIT {cap + 1}", qargs).fetchall()
        if len(rows) <= cap:
            # A set: an id can match by its words too.
            return _listed(sorted({r[0] for r in rows}), where, args, count=not where)
        if by_words:
            return Plan(page, page_args, None, True, (newest, page_args))
    cond, cargs = condition(db, q)
    clause = " WHERE " + " AND ".join([*where, cond])
    every = f"SELECT i.rowid FROM inv i{clause} ORDER BY i.started DESC, i.rowid DESC LIMIT ? OFFSET ?"
    return Plan(every, [*args, *cargs], None, False, (f"SELECT 1 FROM inv i{clause}", [*args, *cargs]))


def _listed(matched: list[int], where: list[str], args: list[Any], count: bool) -> Plan:
    """A page of the listed rowids `matched` that meet `where`; `count`: they all do (no condition)."""
    clause = " WHERE " + " AND ".join([*where, "i.rowid IN (SELECT value FROM json_each(?))"])
    rows_args = [*args, orjson.dumps(matched).decode()]
    # Sorting the few matches: walking the time index would visit every row.
    page = f"SELECT i.rowid FROM inv i NOT INDEXED{clause} ORDER BY i.started DESC, i.rowid DESC LIMIT ? OFFSET ?"
    return Plan(page, rows_args, len(matched) if count else None, False, (f"SELECT 1 FROM inv i{clause}", rows_args))


def _matches_within(db: sqlite3.Connection, where: list[str], args: list[Any], match: str) -> list[int] | None:
    """Rowids of the calls meeting `where` whose words match, when at most `SCOPE_MAX` calls meet
    it (else None): their previews go into a small index of this connection's own (2 ms for 334
    calls), which costs less than reading every match of a common word from the big one."""
    clause = " AND ".join(where) or "1"
    if db.execute(f"SELECT count(*) FROM (SELECT 1 FROM inv i WHERE {clause} LIMIT {SCOPE_MAX + 1})",
                  args).fetchone()[0] > SCOPE_MAX:
        return None
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.scope_fts USING fts5(args, output, content='')")
    db.execute("INSERT INTO temp.scope_fts(scope_fts) VALUES('delete-all')")
    db.execute("INSERT INTO temp.scope_fts(rowid, args, output)"
               f" SELECT i.rowid, i.args_preview, i.output_preview FROM inv i WHERE {clause}", args)
    return [r[0] for r in db.execute("SELECT rowid FROM temp.scope_fts WHERE scope_fts MATCH ?", [match])]


def _more_words_than(db: sqlite3.Connection, match: str, n: int) -> bool:
    return db.execute(f"SELECT count(*) FROM (SELECT 1 FROM inv_fts WHERE inv_fts MATCH ? LIMIT {n + 1})",
                      [match]).fetchone()[0] > n
