"""Durable means durable: what a writer committed stays whole, whatever `git gc` does meanwhile.

Objects are written loose and the ref moves after them. A `git gc --prune=now`, `git prune` or
`git repack -ad` that listed the refs before the move deletes those objects: before the move, or
even after it (the deletion pass comes after the listing). So a writer hands each commit it made
to its `Keeper`, which

* right after the ref moved, checks (through a fresh object database) that the commit, what its
  tree adds and its parent are on disk; if not, writes them again from what the writer still
  holds (`Made.remake`: the same bytes, so the same ids) — only then is it acknowledged;
* holds it, and looks again every `CHECK_SECONDS`, walking the ref's history down to its checkpoint
  (`integrity.Checkpoints`): a commit is released once a check `GRACE_SECONDS` after its move
  (`RACING_GRACE_SECONDS` while objects keep going missing; and after the end of any `git gc` that
  was running then) finds it whole. Its journal entries
  stay until then (the writer does not rotate or delete a journal while it holds commits);
* repairs what it cannot write again (objects of other processes' commits, a ref moved onto a
  damaged history) with `heal`, then has the writer commit again what its journals hold
  (`on_repair`) and what it held but the ref lost (`Made.redo`), with one warning.

Closing waits out the grace only when garbage collection was seen at work (a live ``gc.pid``, or
objects found missing within `TROUBLE_SECONDS`): otherwise the last commits are checked once and
released, so that a program's exit does not wait.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import pygit2

from . import heal
from . import integrity as ig
from . import refs
from .repo import common_dir, ell_dir

#: A commit is held (checked again, its journal entries kept) at least this long after its ref moved.
GRACE_SECONDS = 2.0
#: Held commits are looked at again this often while a gc runs or objects went missing lately (else
#: once, when their grace is over).
CHECK_SECONDS = 0.1
#: After objects were found missing, closing waits out the grace for this long.
TROUBLE_SECONDS = 60.0
#: Objects found missing this recently: a gc loop is racing the writer right now.
RACING_SECONDS = 5.0
#: The grace meanwhile: `git prune` leaves no gc.pid to wait for, and on a loaded machine one that listed
#: the refs before a move deleted that commit more than `GRACE_SECONDS` later (a version lost in CI).
RACING_GRACE_SECONDS = 6.0
#: Commits older than this are past any race with `git gc` (which only takes what was written while it
#: ran): the checks of held commits stop there. A running `git gc` that began earlier is waited for.
SAFE_AGE_SECONDS = 600.0
#: A writer's start-up check walks every history in full (not only down to checkpoints) this often.
FULL_CHECK_SECONDS = 3600.0
#: Closing: rounds of committing again what a check handed back (more while a gc loop is at work).
SETTLE_ROUNDS = 5
#: A write that fails on a race with a concurrent `git gc` (it removed an empty objects/xx directory
#: under libgit2's lock file, or an object it had just written) is tried again at once this many times.
TRANSIENT_ATTEMPTS = 5


class Unsettled(OSError):
    """A commit's objects went missing again right after they were written again: the batches wait
    for a retry (said only if that keeps happening)."""


@dataclass(eq=False)
class Made:
    """A commit a writer made and moved its ref to."""

    ref: str
    oid: str
    parent: str | None  # the tip it was built on
    records: int  # invocations or versions it holds (for messages)
    remake: Callable[[], object]  # write every object of the commit again (the same ids)
    redo: Callable[[], None]  # queue its content for the writer to commit again on the ref as it is now
    at: float = field(default_factory=time.monotonic)
    gc: str | None = None  # the `git gc` running when the ref moved (its gc.pid)


class Keeper:
    """The commits one writer thread made and holds. Used only from that thread."""

    def __init__(self, repo: pygit2.Repository, on_error: Callable[[str, str], None],
                 on_repair: Callable[[str], int]) -> None:
        self.repo = repo
        self.git_dir = common_dir(repo)
        self.checkpoints = ig.Checkpoints(ell_dir(repo))
        self.on_error = on_error
        self.on_repair = on_repair  # ref -> records committed again from journals after a repair
        self.held: list[Made] = []
        self.next_check = math.inf
        self.trouble = -math.inf  # when objects were last found missing
        self.remade = 0  # commits written again (figures for tests and `ell doctor`)
        self.repairs = 0
        self._busy = False  # inside a check: commits made by a redo are only registered
        self._repairing = False

    # -- the writer's side ---------------------------------------------------------------------
    def made(self, m: Made) -> bool:
        """Hold `m` and check its own objects now (writing them again if need be). True: whole."""
        m.gc = ig.gc_running(self.git_dir)
        self.held.append(m)
        self.next_check = min(self.next_check, self._when(m))
        if self._whole(m):
            return True
        self._troubled()
        self._remake(m)
        if self._whole(m):
            return True
        if not self._busy:
            self.check()
        return self._whole(m) and m in self.held

    def due(self) -> bool:
        return bool(self.held) and time.monotonic() >= self.next_check

    def wait_seconds(self, default: float) -> float:
        """How long the writer may sleep before the next check is due."""
        return max(0.0, min(default, self.next_check - time.monotonic()))

    def check(self, *, final: bool = False) -> bool:
        """Look at every held commit again; release those past the grace (all whole ones if `final`).
        True when nothing is held any more."""
        self._busy = True
        try:
            marks: dict[str, str | None] = {}
            for ref in dict.fromkeys(m.ref for m in self.held):
                self._check_ref(ref, [m for m in self.held if m.ref == ref], final, marks)
            if marks:
                self.checkpoints.update(marks)
        finally:
            self._busy = False
        self.next_check = min((self._when(m) for m in self.held), default=math.inf)
        return not self.held

    def settle(self, deadline: float | None) -> bool:
        """At close: check once more, wait out the grace if garbage collection was seen at work, then
        release what is whole. True: nothing is left unverified (the journal may go)."""
        if not self.held:
            return True
        self.check()
        while self.held and self._cautious():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
            self.check()
        return self.check(final=True)

    def racing(self) -> bool:
        """Whether objects went missing lately (garbage collection is at work on this repository)."""
        return time.monotonic() - self.trouble < RACING_SECONDS

    def repair(self, ref: str, candidates: list[str] | None = None) -> heal.Repair | None:
        """Heal `ref` now if it lacks objects (one warning), then commit again what journals hold."""
        if self._repairing:
            return None  # a repair's own commits are checked by the repair that made them
        stop = self._stop(ref)
        ours = [c for m in self.held if m.ref == ref for c in (m.oid, m.parent) if c]
        self._repairing = True
        try:
            repair = heal.heal(self.repo, ref, candidates=(candidates or []) + ours + stop, stop_at=stop)
            if repair is None:
                return None
            self._troubled()
            self.repairs += 1
            if repair.new is not None and repair.new != repair.base:
                # The repair's commit is written like any other: a concurrent prune can take it too.
                objects = repair.objects
                self.made(Made(ref, repair.new, repair.base, 0, lambda: _write_raw(self.repo, objects), lambda: None))
            try:
                again = self.on_repair(ref)
                repair.given_back(self.repo)
            except Exception:  # what could not be committed again waits for the writer's retry
                again = 0
        finally:
            self._repairing = False
        self.on_error("repair", repair.describe(again))
        return repair

    def sweep(self, names: list[str]) -> None:
        """Check refs this writer did not just write (at start): heal the damaged ones, and remember
        whole tips as checkpoints once they are older than the grace."""
        marks: dict[str, str | None] = {}
        # Now and then (and when nobody did yet) every history is walked in full: objects can also go
        # missing under a checkpoint (deleted by hand, a damaged disk).
        full = self.checkpoints.full_check_due(FULL_CHECK_SECONDS)
        known = {} if full else self.checkpoints.load()
        gc = ig.gc_running(self.git_dir)
        corrupt = set(ig.corrupt_ref_files(self.repo))
        for ref in names:
            if ref in corrupt:
                self.repair(ref)
                continue
            tip = _tip(self.repo, ref)
            if tip is None:
                continue
            odb = ig.fresh_odb(self.repo)
            # At its checkpoint, a ref's tip commit alone is looked at (a pruned tip is the usual damage).
            stop = ig.parents_of(odb, tip) if known.get(ref) == tip else [known[ref]] if ref in known else []
            h = ig.check_history(odb, tip, stop_at=stop, older_than=None if full else _recent())
            if not h.intact:
                self.repair(ref)
            elif gc is None:
                mark = _settled_commit(odb, h, tip)  # whole, and older than any race: later checks stop there
                if mark is not None and mark != known.get(ref):
                    marks[ref] = mark
        if marks:
            self.checkpoints.update(marks)
        if full:
            self.checkpoints.full_check_done()

    # -- inside -----------------------------------------------------------------------------------
    def _check_ref(self, ref: str, mades: list[Made], final: bool, marks: dict[str, str | None]) -> None:
        # Below the commits it holds, a check need not go: what they were built on was checked then.
        held = {m.oid for m in mades}
        stop = self._stop(ref) + [m.parent for m in mades if m.parent and m.parent not in held]
        tip = _tip(self.repo, ref)
        h = ig.check_history(ig.fresh_odb(self.repo), tip, stop_at=stop, older_than=_recent()) if tip else None
        if h is not None and not h.intact:
            self._troubled()
            for m in mades:  # ours first, oldest first: a parent is made again before its child
                if m.oid in h.bad or not h.holds(m.oid):
                    self._remake(m)
            h = ig.check_history(ig.fresh_odb(self.repo), tip, stop_at=stop, older_than=_recent())
            if not h.intact:
                self.repair(ref, [m.parent for m in mades if m.parent])
                tip = _tip(self.repo, ref)
                h = (ig.check_history(ig.fresh_odb(self.repo), tip, stop_at=self._stop(ref), older_than=_recent())
                     if tip else None)
        now = time.monotonic()
        gc = ig.gc_running(self.git_dir)
        grace = RACING_GRACE_SECONDS if self.racing() else GRACE_SECONDS
        newest = None
        for m in mades:
            if h is not None and not h.intact:
                continue  # still damaged (the repair failed): look again next time
            below = h is not None and not h.holds(m.oid) and self._below(h, m.oid)
            if h is None or not (h.holds(m.oid) or below):
                # The ref no longer holds it (repaired or rewritten by another process): commit it again.
                self.held.remove(m)
                m.redo()  # queued: the writer commits it again in its loop
                continue
            graced = now - m.at >= grace and (m.gc is None or gc != m.gc)
            if below or final or graced:
                self.held.remove(m)
                if graced and not below:
                    newest = m.oid  # whole down to the checkpoint after the grace: the next checks stop here
        if newest is not None:
            marks[ref] = newest

    def _below(self, h: ig.History, oid: str) -> bool:
        """Whether `oid` is under a checkpoint the walk of `h` stopped at (verified by someone already)."""
        for stop in h.stopped:
            try:
                if stop == oid or self.repo.descendant_of(stop, oid):
                    return True
            except (KeyError, ValueError, pygit2.GitError):
                continue
        return False

    def _when(self, m: Made) -> float:
        """When to look at `m` again: once its grace is over, or soon while objects go missing or a
        gc runs (each look costs the program a thread wake-up, so an idle writer makes few)."""
        if m.gc is not None or time.monotonic() - self.trouble < TROUBLE_SECONDS:
            return time.monotonic() + CHECK_SECONDS
        return m.at + GRACE_SECONDS

    def _whole(self, m: Made) -> bool:
        odb = ig.fresh_odb(self.repo)
        if m.parent is not None and ig.read(odb, m.parent, ig.COMMIT) is None:
            return False
        return ig.check_history(odb, m.oid, stop_at=[m.parent] if m.parent else []).intact

    def _remake(self, m: Made) -> None:
        try:
            m.remake()
            self.remade += 1
        except (KeyError, ValueError, OSError, pygit2.GitError):
            pass  # what it builds on is gone too: the check repairs the ref

    def _stop(self, ref: str) -> list[str]:
        mark = self.checkpoints.load().get(ref)
        return [mark] if mark else []

    def _troubled(self) -> None:
        self.trouble = time.monotonic()

    def _cautious(self) -> bool:
        return (any(m.gc for m in self.held) or ig.gc_running(self.git_dir) is not None
                or time.monotonic() - self.trouble < TROUBLE_SECONDS)


#: What libgit2 says when `git gc` or `git prune` deleted, under it, an object it had just written or
#: an empty objects/xx directory it was writing into: writing everything again works.
_RACES = ("invalid object specified", "object not found", "failed to insert entry", "failed to rename lockfile",
          "failed to create temporary file")


def transient(exc: BaseException) -> bool:
    """Whether `exc` is a write that lost a race with garbage collection (see `_RACES`)."""
    if isinstance(exc, KeyError):
        return True  # an object read while it was being deleted: the next attempt finds out for sure
    text = str(exc)
    if isinstance(exc, OSError) and "No such file or directory" in text and "objects" in text:
        return True
    return isinstance(exc, (OSError, pygit2.GitError)) and any(r in text for r in _RACES)


def settle(keeper: Keeper, deadline: float | None, retry: Callable[[], None], waiting: Callable[[], bool]) -> bool:
    """A writer thread's last work: commit what waits for a retry (`retry`), settle `keeper`, again
    while a check hands work back (the ref lost it); more rounds, up to `deadline`, while objects keep
    going missing (a gc loop at work). True: everything verified; else the journal stays for the
    next process."""
    rounds = 0
    while True:
        retry()
        try:
            settled = keeper.settle(deadline)
        except Exception:  # a race with garbage collection at its worst: look again
            settled = False
        if settled and not waiting():
            return True
        rounds += 1
        if (deadline is not None and time.monotonic() >= deadline) or (rounds >= SETTLE_ROUNDS and not keeper.racing()):
            return False
        time.sleep(CHECK_SECONDS)


def _write_raw(repo: pygit2.Repository, objects: list[tuple[int, bytes]]) -> None:
    odb = repo.odb
    for kind, data in objects:
        odb.write(kind, data)


def _tip(repo: pygit2.Repository, ref: str) -> str | None:
    try:
        r = repo.references.get(ref)
    except (pygit2.GitError, ValueError):
        return None
    if r is None or r.type != pygit2.enums.ReferenceType.DIRECT:
        return None
    return str(r.target)


def _age(odb: pygit2.Odb, commit: str) -> float:
    """Seconds since `commit`'s committer time (inf if unreadable)."""
    data = ig.read(odb, commit, ig.COMMIT)
    return time.time() - ig.commit_time(data) if data is not None else math.inf


def _settled_commit(odb: pygit2.Odb, h: ig.History, tip: str) -> str | None:
    """The newest commit on `tip`'s first-parent line that `h` found whole and that is older than
    twice the grace (the walk of `h` went at least that far, or stopped at a checkpoint)."""
    c: str | None = tip
    while c is not None and c in h.commits:
        if _age(odb, c) > 2 * GRACE_SECONDS and h.newest_intact is not None:
            return c
        parents = h.commits[c]
        c = parents[0] if parents else None
    return None


def _recent() -> float:
    """Commits made before this (epoch seconds) are past any race with `git gc`: checks stop there."""
    return time.time() - SAFE_AGE_SECONDS


def all_ell_refs(repo: pygit2.Repository) -> list[str]:
    """Every ell ref, damaged ref files included."""
    return sorted(set(refs.ell_refs(repo, notes=True)) | set(ig.corrupt_ref_files(repo)))

