"""What `Reader` returns: frozen dataclasses, each with ``to_json()`` giving plain JSON data.

Times are epoch seconds (float, UTC); latencies are milliseconds; ids are strings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


#: Field names per class: `dataclasses.fields` costs more than the copy (pages convert thousands).
_FIELDS: dict[type, tuple[str, ...]] = {}
_SCALARS = (str, int, float, bool, type(None))


class _Json:
    def to_json(self) -> dict[str, Any]:
        names = _FIELDS.get(type(self))
        if names is None:
            names = _FIELDS[type(self)] = tuple(f.name for f in dataclasses.fields(self))  # type: ignore[arg-type]
        return {n: _plain(getattr(self, n)) for n in names}


def _plain(v: Any) -> Any:
    if type(v) in _SCALARS:
        return v
    if isinstance(v, _Json):
        return v.to_json()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


@dataclass(frozen=True)
class Lmp(_Json):
    """One tracked function, as of its newest version."""

    name: str
    kind: str
    latest_version: str  # version id of the newest version
    vn: int  # its number, "v<vn>" (from history order, computed at read time)
    versions: int  # how many distinct versions
    subject: str  # subject of the newest version's commit message
    time: float  # when the newest version was committed
    invocation_count: int
    last_used: float | None  # start time of the newest invocation, any version
    uses: tuple[str, ...]  # names of the LMPs the newest version calls
    cost: Any = None  # ell_git.costs.CostSummary of all its calls, priced when read


@dataclass(frozen=True)
class Running(_Json):
    """An LMP whose newest calls run an older version than its newest one (the code was reverted)."""

    name: str
    version_id: str  # the version its newest call ran
    vn: int
    since: float  # the first call of this run of it, after every other version's calls
    last_used: float


@dataclass(frozen=True)
class Version(_Json):
    """One version of an LMP (one commit on its ref)."""

    name: str
    version_id: str
    commit: str
    vn: int
    subject: str
    body: str  # message body without trailers
    time: float  # committer time
    code_commit: str | None  # the user's HEAD when the version was recorded ("none" if unborn)
    dirty: bool  # whether tracked files differed from that HEAD
    model: str | None
    kind: str
    uses: tuple[str, ...]  # used LMP names
    uses_ids: tuple[str, ...]  # their version ids, same order
    message_by: str  # "deterministic" or "model <name>"


@dataclass(frozen=True)
class VersionSource(_Json):
    """A version's files."""

    name: str
    version_id: str
    commit: str
    vn: int
    source: str  # source.py, as written
    closure: str  # closure.py, what the version id hashes
    meta: dict[str, Any]  # meta.json
    message: str  # the full commit message


@dataclass(frozen=True)
class VersionDiff(_Json):
    """Two versions of one LMP compared."""

    name: str
    a: Version
    b: Version
    source_diff: str  # unified diff of source.py
    closure_diff: str  # unified diff of closure.py
    additions: int  # closure lines added
    deletions: int  # closure lines removed
    summary: tuple[str, ...]  # the deterministic change list (as in autocommit messages)
    # used LMPs at another version on each side, each diffed between the two versions used; a used
    # LMP only one side has is all added ("added", a == b: the version now used) or all removed
    dependencies: tuple[VersionDiff, ...] = ()
    change: str = "changed"  # "added" / "removed" for a dependency only one side uses


@dataclass(frozen=True)
class InvocationRow(_Json):
    """One invocation as listed (from the read cache; no payload)."""

    id: str
    lmp: str
    version_id: str
    started_at: float
    latency_ms: float
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    model: str | None
    error: bool
    cached: bool
    parent_id: str | None
    args_preview: str  # compact JSON of the arguments, cut to 160 characters
    output_preview: str  # first text of the outputs, cut to 160 characters
    cost_usd: float | None = None  # priced when read (ell_git.costs); None: the model has no price


@dataclass(frozen=True)
class InvocationPage(_Json):
    items: tuple[InvocationRow, ...]  # newest first
    total: int  # rows matching the filters, all pages (at most reader.COUNT_CAP when filtered)
    limit: int
    offset: int
    total_capped: bool = False  # more rows matched than were counted


@dataclass(frozen=True)
class LmpPage(_Json):
    """One page of LMPs sorted by name, optionally those whose name contains `q`."""

    items: tuple[Lmp, ...]
    total: int  # LMPs matching `q`, all pages
    limit: int
    offset: int
    q: str = ""


@dataclass(frozen=True)
class InvocationDetail(_Json):
    record: dict[str, Any]  # the stored JSON line, large payloads inlined again
    parent: InvocationRow | None  # the invocation this one ran inside
    children: tuple[InvocationRow, ...]  # invocations that ran inside this one
    origins: tuple[InvocationRow, ...]  # invocations whose outputs were passed in (origin_ids)
    consumers: tuple[InvocationRow, ...]  # invocations that received this one's outputs
    cost_usd: float | None = None  # priced when read; None: the model has no price


@dataclass(frozen=True)
class SeriesPoint(_Json):
    id: str
    started_at: float
    latency_ms: float
    total_tokens: int | None
    version_id: str


@dataclass(frozen=True)
class Stats(_Json):
    """Aggregates over an LMP's invocations (or one version's)."""

    lmp: str
    version: str | None
    count: int
    total_tokens: int
    avg_tokens: float | None
    latency_p50: float | None  # exact up to 10,000 invocations, else within ~2.5% (log histogram)
    latency_p95: float | None
    per_version: dict[str, int]  # version id -> invocation count
    series: tuple[SeriesPoint, ...]  # the newest invocations, oldest first, for charts
    cost: Any = None  # CostSummary of the same calls (ell_git.costs), priced when read
    cost_per_version: dict[str, Any] | None = None  # version id -> CostSummary, every version of the LMP


@dataclass(frozen=True)
class Problems(_Json):
    """What the reader could not read and skipped (each was warned once): `ell doctor` says more."""

    records: int  # invocation lines that are not the storage format
    metas: int  # versions whose meta.json is not the storage format (shown without it)
    runs: int  # evaluation commits whose files cannot be read
    refs: tuple[str, ...]  # refs skipped as a whole (a missing object, not a commit)
    where: tuple[str, ...]  # the first few of them, named ("refs/ell/inv/x:2024-…/b.jsonl: usage is not an object")

    @property
    def count(self) -> int:
        return self.records + self.metas + self.runs + len(self.refs)

    @property
    def summary(self) -> str:
        """One line for a page or a terminal ("" when nothing is wrong)."""
        if not self.count:
            return ""
        return f"{self.count:,} record{'s' * (self.count != 1)} could not be read — run `ell doctor`"

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "count": self.count, "summary": self.summary}
