"""OpenTelemetry ids and recording policies in the read cache, and the reader's questions about them.

Only invocations that carry a trace id or a recording policy get a row (`recs`), so a repository
written without either costs nothing here. `Traces` is mixed into `Reader`.
"""

from __future__ import annotations

from typing import Any, Iterable

SCHEMA = """;
CREATE TABLE recs(id TEXT PRIMARY KEY, lmp INTEGER NOT NULL, ver INTEGER NOT NULL, trace TEXT, span TEXT,
  policy TEXT) WITHOUT ROWID;
CREATE INDEX recs_trace ON recs(trace) WHERE trace IS NOT NULL;
CREATE INDEX recs_policy ON recs(lmp, policy) WHERE policy IS NOT NULL;
"""


def index(db: Any, parsed: Iterable[tuple[int, int, dict[str, Any]]], rows: list[tuple[Any, ...]]) -> None:
    """Rows for the newly indexed invocations (`rows`: the cache's inv rows, id, seg, off, len, lmp,
    ver first) whose lines (`parsed`) carry a trace id or a recording policy."""
    new = None
    out = []
    for _, _, d in parsed:
        trace, policy = d.get("trace_id"), d.get("recording")
        if not (trace or policy):
            continue
        if new is None:
            new = {r[0]: r for r in rows}
        row = new.get(str(d["id"]))
        if row is not None:
            out.append((row[0], row[4], row[5], _text(trace), _text(d.get("span_id")), _text(policy)))
    if out:
        db.executemany("INSERT OR REPLACE INTO recs VALUES(?,?,?,?,?,?)", out)


def unindex(db: Any, invocation_id: str) -> None:
    db.execute("DELETE FROM recs WHERE id=?", (invocation_id,))


def _text(v: Any) -> str | None:
    return v if type(v) is str and v else None


class Traces:
    """Reader methods: trace ids of invocations, invocations of a trace, sampled LMPs."""

    def trace_ids(self, ids: list[str]) -> dict[str, dict[str, str | None]]:
        """invocation id → {"trace_id", "span_id"} for those of `ids` that have them."""
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            out: dict[str, dict[str, str | None]] = {}
            for i in range(0, len(ids), 500):
                chunk = list(ids[i : i + 500])
                q = f"SELECT id, trace, span FROM recs WHERE trace IS NOT NULL AND id IN ({','.join('?' * len(chunk))})"
                for iid, trace, span in self._q(q, chunk):  # type: ignore[attr-defined]
                    out[iid] = {"trace_id": trace, "span_id": span}
            return out

    def invocations_of_trace(self, trace_id: str) -> list[str]:
        """Ids of the recorded invocations of one OpenTelemetry trace (32 hex)."""
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            return [r[0] for r in self._q("SELECT id FROM recs WHERE trace=? ORDER BY id", (trace_id.lower(),))]  # type: ignore[attr-defined]

    def sampling(self, lmp: str | None = None) -> dict[str, list[str]]:
        """LMP name → the recording policies its recorded calls were kept under (``"sample 0.1"``,
        ``"errors"``...): their counts are of recorded calls, not of all calls. LMPs recorded
        under "all" only are absent."""
        with self._lock:  # type: ignore[attr-defined]
            self.refresh()  # type: ignore[attr-defined]
            sql = ("SELECT l.name, r.policy FROM (SELECT DISTINCT lmp, policy FROM recs WHERE policy IS NOT NULL) r"
                   " JOIN lmps l ON l.id=r.lmp")
            args: tuple[Any, ...] = ()
            if lmp is not None:
                sql += " WHERE l.name=?"
                args = (lmp,)
            out: dict[str, list[str]] = {}
            for name, policy in self._q(sql + " ORDER BY l.name, r.policy", args):  # type: ignore[attr-defined]
                out.setdefault(name, []).append(policy)
            return out
