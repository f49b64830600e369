"""The writer's second thread: version commits, one at a time, in the order they were queued.

A version may wait for a model-written commit message (`versions.VersionWriter`), so it does not
hold up invocations. Like the invocation thread it hands each commit it makes to a
`durable.Keeper` (checked on disk after the ref moved, held for a grace), repairs an LMP ref that
lacks objects before writing on it, and retries races with `git gc` silently.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import Any, Callable

import pygit2

from ell.records import VersionRecord

from . import durable, faults, refs, replay
from . import journal as jr
from .tasks import STOP, Flush, Stop
from .versions import VersionWriter, version_payload

#: Versions whose commit lost a race with garbage collection this many times in a row are warned about.
UNSETTLED_WARN = 5


class VersionThread:
    """The thread and its queue of versions, `Flush`es and a final `Stop`, fed by the writer's loop.

    `journaled` is the writer's set of version ids its callers journaled already (`put_version`)."""

    def __init__(self, repo_path: str, make_versions: Callable[[pygit2.Repository, bool], VersionWriter],
                 journal: jr.Journal, journaled: set[str], hurry: threading.Event,
                 on_error: Callable[[str, str], None]) -> None:
        self.repo_path = repo_path
        self.make_versions = make_versions
        self.journal = journal
        self.journaled = journaled
        self.hurry = hurry
        self.on_error = on_error
        self.q: collections.deque[VersionRecord | Flush | Stop] = collections.deque()
        self.wake = threading.Event()
        self.retry: list[VersionRecord] = []  # versions whose commit failed: written again later
        self.keeper: durable.Keeper | None = None
        self.failing = False  # a failure was reported: the next success is reported too
        self.unsettled = 0  # failures in a row that were races with garbage collection
        self.settled: bool | None = None  # once stopped: were its held commits all verified
        self.stop_by: float | None = None
        self.thread = threading.Thread(target=self._run, name="ell-versions", daemon=True)
        self.thread.start()

    def put(self, item: VersionRecord | Flush) -> None:
        self.q.append(item)
        self.wake.set()

    def stop(self, stop_by: float | None) -> None:
        """Stop once what is queued is done, settling held commits until `stop_by` (monotonic)."""
        self.stop_by = stop_by
        self.q.append(STOP)
        self.wake.set()

    @property
    def held(self) -> bool:
        """Whether commits are held (their versions may be read back from the journal)."""
        keeper = self.keeper
        return bool(keeper is not None and keeper.held)

    def _run(self) -> None:
        """The loop: write queued versions, answer flushes, look at held commits, stop."""
        repo = pygit2.Repository(self.repo_path)
        vw = self.make_versions(repo, True)
        vw.hurry = self.hurry
        keeper = self.keeper = durable.Keeper(repo, self.on_error,
                                              lambda ref: replay.versions(vw, self.journal.entries(), ref))
        while True:
            self.wake.wait(keeper.wait_seconds(5.0 if self.retry else math.inf) if keeper.held or self.retry else None)
            self.wake.clear()
            if keeper.due():
                self._guard(keeper.check)
            if self.retry:
                pending, self.retry = self.retry, []
                self.q.extendleft(reversed(pending))
            while self.q:
                match self.q.popleft():
                    case Flush() as flush:
                        flush.ok = flush.ok and not self.retry
                        flush.event.set()
                    case VersionRecord() as version:
                        self._write_reporting(vw, keeper, version)
                    case Stop():
                        self.settled = bool(self._guard(lambda: self._settle(vw, keeper)))
                        return

    def _write_reporting(self, vw: VersionWriter, keeper: durable.Keeper, v: VersionRecord) -> None:
        """Write `v`; on failure keep it for a retry and say so (a race with `git gc` only if it lasts)."""
        try:
            self._write_retrying(vw, keeper, v)
        except Exception as exc:
            self.retry.append(v)
            self.failing = True
            racing = isinstance(exc, durable.Unsettled) or durable.transient(exc)
            self.unsettled = self.unsettled + 1 if racing else 0
            if not 0 < self.unsettled < UNSETTLED_WARN:  # a race with garbage collection: only if it lasts
                self.on_error("version", f"could not commit version {v.version_id} of {v.name} ({exc}); will retry")
        else:
            self.unsettled = 0
            if self.failing and not self.retry:
                self.failing = False
                self.on_error("version", "")  # recovered: the next failure is news again

    def _settle(self, vw: VersionWriter, keeper: durable.Keeper) -> bool:
        """Before the thread stops: versions waiting for a retry written, held commits verified."""

        def retry() -> None:
            for v in self.retry[:]:
                self.retry.remove(v)
                try:
                    self._write_retrying(vw, keeper, v)
                except Exception:
                    self.retry.append(v)

        return durable.settle(keeper, self.stop_by, retry, lambda: bool(self.retry))

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:
            self.on_error("version-check", f"checking version commits failed ({type(exc).__name__}: {exc}); will retry")
            return None

    def _write_retrying(self, vw: VersionWriter, keeper: durable.Keeper, v: VersionRecord) -> None:
        for attempt in range(durable.TRANSIENT_ATTEMPTS):  # races with `git gc` are retried silently
            try:
                return self._write(vw, keeper, v)
            except Exception as exc:
                if attempt + 1 == durable.TRANSIENT_ATTEMPTS or not durable.transient(exc):
                    raise
                vw.forget(refs.lmp_ref(v.name))
                time.sleep(0.005 * (attempt + 1))

    def _write(self, vw: VersionWriter, keeper: durable.Keeper, v: VersionRecord, repaired: bool = False) -> None:
        """Journal `v` and commit it, unless its ref's history has it already; hand the commit to `keeper`."""
        refname = refs.lmp_ref(v.name)
        try:
            _, tip = refs.read_tip(vw.repo, refname)
            if v.version_id in vw.known(refname, tip):
                return  # the common case at every process start: nothing to journal or write
            if v.version_id in self.journaled:
                self.journal.sync()  # the caller journaled it (no fsync): durable before the commit, as below
            else:
                self.journal.append("ver", {}, version_payload(v))
            if faults.ARMED:
                faults.reached("version")
            new = vw.write(v)
        except (refs.DamagedRef, KeyError, pygit2.GitError):
            # The LMP's ref (or its history) lacks objects: repair it once, then write again.
            if repaired or keeper.repair(refname) is None:
                raise
            vw.forget(refname)
            return self._write(vw, keeper, v, repaired=True)
        if new is None:
            return
        author, committer, text, tree, parents = vw.last_commit

        def remake() -> pygit2.Oid:  # the same commit again: same tree, message and signatures, same id
            vw.tree_of(v)
            return vw.repo.create_commit(None, author, committer, text, tree, parents)

        made = durable.Made(refname, str(new), str(parents[0]) if parents else None, 1, remake,
                            lambda: self.retry.append(v))
        if not keeper.made(made):
            raise durable.Unsettled(f"the objects of version commit {new} keep disappearing "
                                    "(is `git gc --prune=now` or `git prune` running in a loop?)")
