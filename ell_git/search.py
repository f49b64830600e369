"""Text search over invocations: ids by prefix or short id, and words of the argument and output
previews through an SQLite FTS5 index in the read cache (a LIKE scan where FTS5 is missing).

The word index is an external-content FTS5 table over ``inv`` (no copy of the text). It is filled
lazily: the first search after indexing adds the rows it lacks (``meta.fts_upto``, the highest
``inv`` rowid indexed), so a first indexing of 200,000 calls is not slowed by it; a trigger removes
rows deleted from ``inv``. Words match whole, the last one by prefix (``"capital of fr"``): FTS5 finds
words, not arbitrary substrings.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import orjson

from . import ids

#: Statements that add the word index to a new cache (run one by one: triggers hold semicolons).
FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE inv_fts USING fts5(args, output, content='inv', content_rowid='rowid')",
    "CREATE TRIGGER inv_fts_del AFTER DELETE ON inv"
    " WHEN old.rowid <= coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key='fts_upto'), 0) BEGIN"
    " INSERT INTO inv_fts(inv_fts, rowid, args, output)"
    " VALUES('delete', old.rowid, old.args_preview, old.output_preview); END",
    # A deleted rowid can be handed out again, below `fts_upto`: such a row is indexed at once.
    "CREATE TRIGGER inv_fts_ins AFTER INSERT ON inv"
    " WHEN new.rowid <= coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key='fts_upto'), 0) BEGIN"
    " INSERT INTO inv_fts(rowid, args, output) VALUES(new.rowid, new.args_preview, new.output_preview); END",
)
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
        n = db.execute("INSERT INTO inv_fts(rowid, args, output) SELECT rowid, args_preview, output_preview"
                       " FROM inv WHERE rowid>?", (upto,)).rowcount
        db.execute("INSERT OR REPLACE INTO meta VALUES('fts_upto', ?)", (str(top),))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return n


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
        parts.append("SELECT rowid FROM inv_fts WHERE inv_fts MATCH ?")
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


def narrowed(db: sqlite3.Connection, q: str, cap: int, alias: str = "i") -> tuple[str, list[Any], int] | None:
    """`condition` as the list of matching rowids, with their count, when at most `cap` rows match;
    else None.

    The word index is then asked once per page, not once for the count and again for the rows,
    and the page sorts the few matches instead of walking the whole time index."""
    rowids, args, indexed = _rowids(db, q)
    if not indexed:
        return None
    rows = db.execute(f"{rowids} LIMIT {cap + 1}", args).fetchall()
    if len(rows) > cap:
        return None
    matched = sorted({r[0] for r in rows})  # an id can match by its words too
    return f"{alias}.rowid IN (SELECT value FROM json_each(?))", [orjson.dumps(matched).decode()], len(matched)
