"""Annotations in git notes: evaluation scores and human feedback, attached to version commits.

    refs/notes/ell/evals      one line per evaluation run: the run's summary scores
    refs/notes/ell/feedback   one line per human judgement of one invocation

A note annotates the commit of the version it is about, so ``git log --notes=ell/evals
--glob='refs/ell/lmp/*'`` shows scores beside versions, and adding one never changes a version id.
Every entry is one canonical JSON object on one line carrying its own id, writer and time: appending
rewrites only that note's blob, and `ell sync` merges notes from other clones by line union without
conflicts (see ``hooks/README.md``). Lines say which version and LMP they are about, so reading never
depends on which of two clones' commits of the same version holds the note.

Never use ``refs/notes/ell`` itself as a notes ref: with the files ref backend it cannot coexist with
``refs/notes/ell/evals``.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Protocol, Sequence

import orjson
import pygit2

from ell.records import FeedbackRecord

from . import layout, refs
from .ids import matches_short_id
from .notetree import note_blobs
from .refscan import RefWatch
from .remotes import TRACKING_PREFIX
from .repo import signature

if TYPE_CHECKING:
    from .views import InvocationDetail, InvocationPage, InvocationRow, VersionSource


class Lookup(Protocol):
    """What writing a note needs of a `Reader` (named by what it does, so notes need not import it)."""

    def invocation(self, id: str) -> InvocationDetail: ...

    def version(self, name: str, ref: str = "latest") -> VersionSource: ...


EVALS_REF = "refs/notes/ell/evals"
FEEDBACK_REF = "refs/notes/ell/feedback"
#: Filters of the invocation list: any feedback, thumbs up (score > 0), down (< 0), with a comment.
FEEDBACK_FILTERS = ("any", "up", "down", "comment")


# -- writing --------------------------------------------------------------------------------------


def _note_path(repo: pygit2.Repository, tree: Optional[pygit2.Oid], target: str) -> str:
    """Where the note on `target` already is (flat or fanned out, as git may have rewritten the tree),
    else the flat path: git reads notes at any fan-out, and `ell sync` re-fans big trees."""
    for path in (target, f"{target[:2]}/{target[2:]}", f"{target[:2]}/{target[2:4]}/{target[4:]}"):
        if layout.lookup(repo, tree, path) is not None:
            return path
    return target


def append(repo: pygit2.Repository, ref: str, entries: Sequence[tuple[str, dict[str, Any]]], message: str) -> None:
    """Append one line per (commit id, entry) to the notes in `ref`, in one notes commit moved by
    compare-and-swap (rebuilt on the new tip if another process appended meanwhile)."""
    lines: dict[str, list[bytes]] = {}
    for target, entry in entries:
        lines.setdefault(target, []).append(layout.canonical(entry) + b"\n")

    def build(tip: Optional[pygit2.Oid]) -> pygit2.Oid:
        base = repo[tip].tree_id if tip is not None else None
        files: dict[str, pygit2.Oid] = {}
        for target, new in lines.items():
            path = _note_path(repo, base, target)
            old = layout.lookup(repo, base, path)
            data = repo[old].data if old is not None else b""
            if data and not data.endswith(b"\n"):
                data += b"\n"  # a note written by `git notes add` ends without one
            files[path] = repo.create_blob(data + b"".join(new))
        tree = layout.put(repo, base, files)
        sig = signature(repo, committer=True)
        return repo.create_commit(None, sig, sig, message, tree, [tip] if tip is not None else [])

    refs.update(repo, ref, build)


def feedback_entry(fb: FeedbackRecord, writer: str, author: str) -> dict[str, Any]:
    return {"id": fb.id, "inv": fb.invocation_id, "score": fb.score, "comment": fb.comment, "labels": fb.labels,
            "source": fb.source, "t": fb.created_at, "lmp": fb.lmp_name, "version": fb.version_id,
            "by": writer, "author": author, "format": fb.format}


def write_feedback(path: str, reader: Lookup, records: Iterable[FeedbackRecord],
                   writer: str) -> list[FeedbackRecord]:
    """Note each record on the commit of its invocation's version (found through `reader`) in the
    repository at `path`; returns the records with `lmp_name`/`version_id` filled. LookupError names
    what is missing. The one way feedback is written (`GitStore.record_feedback`, ``ell web``): it
    opens a repository handle of its own, as callers run on any thread and the reader's is for reading."""
    from .errors import NotFound

    repo = pygit2.Repository(path)
    out, entries = [], []
    author = signature(repo).name
    for fb in records:
        try:
            record = reader.invocation(fb.invocation_id).record
            version = reader.version(record["lmp_name"], record["version_id"])
        except NotFound as exc:
            raise LookupError(f"cannot note feedback on {fb.invocation_id}: {exc} (was it recorded in this "
                              f"repository? `ell invocations` lists what is)") from None
        fb = dataclasses.replace(fb, lmp_name=record["lmp_name"], version_id=record["version_id"])
        out.append(fb)
        entries.append((version.commit, feedback_entry(fb, writer, author)))
    if entries:
        what = out[0].invocation_id if len(out) == 1 else f"{len(out)} invocations"
        append(repo, FEEDBACK_REF, entries, f"Feedback on {what}\n\nEll-Notes: feedback\n")
    return out


# -- reading --------------------------------------------------------------------------------------


def notes_refs(repo: pygit2.Repository, ref: str) -> dict[str, str]:
    """`ref` and its fetched-but-not-yet-merged copies under ``refs/ell/remotes/*/notes/``."""
    suffix = "/notes/" + ref[len("refs/notes/"):]
    out = {}
    for r in repo.references.iterator():
        name = r.name
        if name == ref or (name.startswith(TRACKING_PREFIX) and name.endswith(suffix)
                           and name.count("/") == TRACKING_PREFIX.count("/") + suffix.count("/")):
            out[name] = str(r.resolve().target)
    return out


def read_entries(repo: pygit2.Repository, tips: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Every distinct JSON line of the notes trees at `tips` (unparseable lines are skipped: someone
    may have added a free-text note by hand). Each entry gets ``_commit``, the annotated object."""
    seen: set[bytes] = set()
    for tip in tips:
        try:
            blobs = [(target, repo[blob].data) for target, blob in note_blobs(repo, repo[tip].tree)]
        except (KeyError, AttributeError, ValueError, pygit2.GitError):
            continue  # a notes ref lacking objects or not at a commit: `ell doctor` names it
        for target, data in blobs:
            for line in data.splitlines():
                line = line.strip()
                if not line.startswith(b"{") or line in seen:
                    continue
                seen.add(line)
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(entry, dict):
                    entry["_commit"] = target
                    yield entry


def _score(entry: dict[str, Any]) -> Optional[float]:
    s = entry.get("score")
    return float(s) if isinstance(s, (int, float)) and not isinstance(s, bool) else None


class FeedbackIndex:
    """All feedback entries by invocation, with the effective judgement of each: the newest entry
    per (writer, source, compared-against) counts, so changing one's mind replaces the old vote."""

    def __init__(self, entries: Iterable[dict[str, Any]]) -> None:
        self.by_inv: dict[str, list[dict[str, Any]]] = {}
        for e in entries:
            if isinstance(e.get("inv"), str):
                self.by_inv.setdefault(e["inv"], []).append(e)
        for items in self.by_inv.values():
            items.sort(key=lambda e: (e.get("t") or 0, str(e.get("id"))))

    def summary(self, inv: str) -> dict[str, Any]:
        items = self.by_inv.get(inv, [])
        latest: dict[tuple[Any, ...], float] = {}
        for e in items:
            s = _score(e)
            if s is not None:
                labels = e.get("labels") if isinstance(e.get("labels"), dict) else {}
                latest[(e.get("by"), e.get("source"), labels.get("against"))] = s
        scores = list(latest.values())
        return {
            "invocation": inv,
            "count": len(items),
            "up": sum(1 for s in scores if s > 0),
            "down": sum(1 for s in scores if s < 0),
            "score": sum(scores) / len(scores) if scores else None,
            "comments": sum(1 for e in items if e.get("comment")),
            "entries": [{k: v for k, v in e.items() if k != "_commit"} for e in items],
        }

    def by_version(self, lmp: str) -> dict[str, dict[str, int]]:
        """version id -> {"up", "down"}: the effective thumbs (as in `summary`) on `lmp`'s invocations.
        Entries name their LMP and version, so no invocation is read; computed once per index (a new
        index is built whenever a feedback notes ref moves)."""
        cache: Optional[dict[str, dict[str, dict[str, int]]]] = self.__dict__.get("_by_lmp")
        if cache is None:
            cache = {}
            for inv, items in self.by_inv.items():
                named = [e for e in items if isinstance(e.get("lmp"), str) and isinstance(e.get("version"), str)]
                if not named:
                    continue
                s = self.summary(inv)
                counts = cache.setdefault(named[-1]["lmp"], {}).setdefault(named[-1]["version"], {"up": 0, "down": 0})
                counts["up"] += s["up"]
                counts["down"] += s["down"]
            self.__dict__["_by_lmp"] = cache
        return cache.get(lmp, {})

    def matching(self, which: str) -> list[str]:
        """Invocation ids with feedback of kind `which` (one of FEEDBACK_FILTERS)."""
        if which not in FEEDBACK_FILTERS:
            raise ValueError(f"feedback filter must be one of {', '.join(FEEDBACK_FILTERS)}, got {which!r}")
        out = []
        for inv in self.by_inv:
            s = self.summary(inv)
            if (which == "any" or (which == "up" and (s["score"] or 0) > 0) or
                    (which == "down" and (s["score"] or 0) < 0) or (which == "comment" and s["comments"])):
                out.append(inv)
        return out


class Annotations:
    """The notes of one repository: feedback and evaluation scores (a `Reader` holds one as `reader.notes`).

    `lock` is the reader's (one repository handle); `rows_of(ids)` gives the invocation rows of
    `ids` from the read cache; `watch` tells when no ref moved, so nothing is listed again."""

    def __init__(self, repo: pygit2.Repository, lock: threading.RLock,
                 rows_of: Callable[[list[str]], Sequence[InvocationRow]], watch: RefWatch | None = None) -> None:
        self.repo = repo
        self._lock = lock
        self._rows_of = rows_of
        self._watch = watch
        self._tips: dict[str, tuple[Any, dict[str, str]]] = {}  # ref -> (fingerprint, tips listed then)
        self._entries: dict[str, tuple[Any, list[dict[str, Any]]]] = {}  # ref -> (tips, parsed entries)
        self._index: tuple[list[dict[str, Any]], FeedbackIndex] | None = None  # (entries, their index)

    def _notes(self, ref: str) -> list[dict[str, Any]]:
        """Parsed entries of `ref` (and fetched copies), re-read only when a tip moved."""
        # Listing refs is O(refs): skip it while the ref fingerprint (ell_git.refscan) is unchanged.
        fp = self._watch.fingerprint() if self._watch is not None else None
        if fp is not None and ref in self._tips and self._tips[ref][0] == fp:
            tips = self._tips[ref][1]
        else:
            tips = notes_refs(self.repo, ref)
            self._tips[ref] = (fp, tips)
        key = tuple(sorted(tips.items()))
        hit = self._entries.get(ref)
        if hit is None or hit[0] != key:
            hit = self._entries[ref] = (key, list(read_entries(self.repo, tips.values())))
        return hit[1]

    def feedback_index(self) -> FeedbackIndex:
        """Every feedback entry, by invocation (rebuilt only when a feedback notes ref moved)."""
        with self._lock:
            entries = self._notes(FEEDBACK_REF)
            index = self._index
            if index is None or index[0] is not entries:  # the same list object until a tip moves
                index = self._index = (entries, FeedbackIndex(entries))
            return index[1]

    def feedback(self, invocation_id: str) -> dict[str, Any]:
        """Every judgement of one invocation, oldest first, with up/down counts and the mean score."""
        return self.feedback_index().summary(invocation_id)

    def score_notes(self, lmp: Optional[str] = None) -> list[dict[str, Any]]:
        """The evaluation score lines (one per run), optionally of one LMP, oldest first."""
        with self._lock:
            entries = [e for e in self._notes(EVALS_REF) if lmp is None or e.get("lmp") == lmp]
        return sorted(({k: v for k, v in e.items() if k != "_commit"} for e in entries),
                      key=lambda e: (e.get("t") or 0, str(e.get("run"))))

    def invocations_with_feedback(self, feedback: str, lmp: Optional[str] = None, version: Optional[str] = None,
                                  q: Optional[str] = None, min_latency: Optional[float] = None,
                                  max_latency: Optional[float] = None, min_tokens: Optional[int] = None,
                                  max_tokens: Optional[int] = None, limit: int = 50,
                                  offset: int = 0, min_cost: Optional[float] = None) -> InvocationPage:
        """`Reader.invocations` restricted to invocations with feedback of kind `feedback`.

        Feedback is human-scale (hundreds of ids), so the rows are fetched by id and the other filters
        applied to them here, with the same meaning as in `Reader.invocations`.
        """
        from .views import InvocationPage

        rows = self._rows_of(self.feedback_index().matching(feedback))
        needle = (q or "").lower()
        keep = [r for r in rows if
                (lmp is None or r.lmp == lmp) and
                (version is None or r.version_id == version or r.version_id.startswith(version)) and
                (not needle or r.id.startswith((needle, "inv-" + needle)) or matches_short_id(r.id, needle) or
                 any(needle in s.lower() for s in (r.args_preview, r.output_preview))) and
                (min_latency is None or r.latency_ms >= min_latency) and
                (max_latency is None or r.latency_ms <= max_latency) and
                (min_tokens is None or (r.total_tokens or 0) >= min_tokens) and
                (max_tokens is None or (r.total_tokens or 0) <= max_tokens) and
                (min_cost is None or (r.cost_usd is not None and r.cost_usd >= min_cost))]
        keep.sort(key=lambda r: (r.started_at, r.id), reverse=True)
        return InvocationPage(tuple(keep[offset:offset + limit]), len(keep), int(limit), int(offset))
