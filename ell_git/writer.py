"""The background writer: the caller only appends to a deque; everything else happens here.

One daemon thread drains the queue in batches (by count and by time), serialises, appends each
batch to the journal (fsync), writes segment blobs, a tree and a commit, and moves the writer's
invocation ref by compare-and-swap (rebuilding on the new tip when another process of the same
clone moved it). A second daemon thread writes versions, because a version may wait for a
model-written commit message. `flush` puts a `Flush` in the same queue and waits for it.

Every commit is checked whole on disk right after the ref moved, and held a little longer
(`durable`): objects a concurrent `git gc --prune=now` deleted are written again, a ref left
lacking objects is repaired (`heal`) and what the journal holds committed again.

At start the writer replays journals left by dead processes: a batch whose segment paths are
already in the ref is skipped, so each batch is committed exactly once however often a replay
is interrupted. A flush or close that asks for it (`GitStore`'s do) replays them too, so the
calls of pool workers that were terminated are committed by the parent's next flush.

`Writer` is the loop: what its queue holds is typed (`tasks`) and handled with `match`; the
steps live in their own modules: a commit in `invocation_commit` (`Committer`), a replay in
`replay` (`Replayer`), packing in `packing`, versions in `version_thread`.

`put_journaled` is the caller's path in a process that may end at any moment (a pool worker,
see `forks`): the line is in the journal before the call returns (`journal.append_to_batch`),
and the writer commits those batches as they are.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable

import pygit2

from ell.records import InvocationRecord, VersionRecord

from . import durable, faults, forks
from . import journal as jr
from .batch import Batch, batch_from_entry, new_batch_id, serialise
from .invocation_commit import Committer
from .packing import Packer
from .replay import Replayer
from .tasks import ORPHANS, STOP, Flush, Line, Orphans, Spilled, Stop
from .version_thread import VersionThread
from .versions import VersionWriter, version_payload

#: At most this many batches go into one commit (a drain of a long queue makes several).
BATCHES_PER_COMMIT = 16
#: How often a running writer looks for journals of processes that died meanwhile.
ORPHAN_SCAN_SECONDS = 300.0
#: While waiting for a batch, queued invocations are serialised this often (see `Writer._stage`).
STAGE_SECONDS = 0.01
#: A commit whose objects keep disappearing this many times in a row is warned about.
UNSETTLED_WARN = 5

#: What the queue holds for an invocation: the record itself, or its serialised `Line`.
_RECORDS = (InvocationRecord, Line)
#: What `Writer.put` takes.
Invocation = InvocationRecord | Line
#: What the writer's queue holds (`tasks`).
Task = Invocation | VersionRecord | Spilled | Flush | Orphans | Stop


class Writer:
    def __init__(
        self,
        repo_path: str,
        refname: str,
        journal_dir: str,
        make_versions: Callable[[pygit2.Repository, bool], VersionWriter],
        *,
        batch_size: int = 1000,
        flush_interval: float = 0.5,
        max_queue: int = 100_000,
        spill_after: float = 0.05,
        pack_every: int = 10_000,
        on_error: Callable[[str, str], None] = lambda kind, msg: None,
    ) -> None:
        self.repo_path = repo_path
        self.refname = refname
        self.journal_dir = journal_dir
        self.make_versions = make_versions
        self.batch_size = max(1, int(batch_size))
        self.flush_interval = float(flush_interval)
        self.max_queue = max(1, int(max_queue))
        self.spill_after = spill_after
        self.pack_every = pack_every
        self.on_error = on_error
        self._packer = Packer(repo_path, pack_every, on_error)
        self.hurry = threading.Event()  # closing: no more waiting for models
        self._start()
        forks.reset_in_children(self)

    # -- caller side: must stay a few µs -------------------------------------------------------
    def put(self, item: Invocation) -> None:
        q = self.q
        if len(q) >= self.max_queue:
            self._full(item)
            return
        q.append(item)
        if type(item) is not Line:
            self._live_records = True  # live objects: the writer serialises them soon (see `_stage`)
        n = len(q)
        if n == 1:
            self._work.set()  # the first record after an idle spell starts the batch clock
        elif n >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def put_journaled(self, item: Line) -> None:
        """Journal a serialised invocation now (`journal.append_to_batch`); the writer
        commits it later. If the journal cannot take it, it is queued as `put` does."""
        try:
            if self.journal.append_to_batch(item, item.line, self.batch_size, new_batch_id):
                self._work.set()
        except (OSError, ValueError) as exc:
            self.on_error("journal", f"could not journal an invocation ({exc}); it waits in memory")
            self.put(item)
            return
        if faults.ARMED:
            faults.reached("spill")

    def put_version(self, v: VersionRecord, *, journal: bool = False) -> None:
        """Queue a version; with `journal`, journal it first (in a process that may end any moment)."""
        try:
            if journal:
                self.journal.append("ver", {}, version_payload(v), sync=False)
                self._journaled_versions.add(v.version_id)
        except (OSError, ValueError) as exc:
            self.on_error("journal", f"could not journal version {v.version_id} ({exc}); it waits in memory")
        self.q.append(v)
        self._work.set()

    def _nudge(self, item: Flush | Stop) -> None:
        """Queue `item` and have the writer take everything queued now."""
        self.q.append(item)
        self._wake.set()
        self._work.set()

    def flush(self, timeout: float | None = None, *, orphans: bool = False) -> bool:
        """Commit everything queued before; with `orphans`, also what dead processes journaled."""
        m = Flush()
        if orphans:
            self.q.append(ORPHANS)
        self._nudge(m)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not m.event.wait(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if not (self._thread.is_alive() and self._versions.thread.is_alive()):
                self.on_error("writer", "the background writer stopped; records stay in the journal for the next run")
                return False
        return m.ok

    def close(self, timeout: float | None = 10.0, *, orphans: bool = False) -> bool:
        """Flush (bounded), stop the threads, and drop the journal if everything is committed."""
        self.hurry.set()
        self._stop_by = None if timeout is None else time.monotonic() + timeout
        ok = self.flush(timeout, orphans=orphans)
        # Each thread settles its held commits before it stops (`durable.Keeper.settle`): the journal
        # goes only once they are verified.
        self._nudge(STOP)
        self._versions.stop(self._stop_by)
        for thread in (self._thread, self._versions.thread):
            thread.join(None if timeout is None else max(1.0, self._stop_by - time.monotonic()))
        committer = self._committer
        clean = (ok and not (committer is None or committer.retry) and not self._versions.retry and not self.q
                 and not self._staged and not self.journal.pending and not self._thread.is_alive()
                 and self._settled is True and self._versions.settled is True)
        try:
            self.journal.close(delete=clean)
        except OSError as exc:
            self.on_error("journal", f"could not close the journal: {exc}")
        return clean

    def wait_packed(self, timeout: float | None = None) -> None:
        """Wait for a background repack to end (it is bounded: see `packing`)."""
        self._packer.wait(timeout)

    def _full(self, item: Invocation) -> None:
        """Back-pressure: wait briefly for room, then spill to the journal; never drop."""
        self._wake.set()
        self._work.set()
        end = time.monotonic() + self.spill_after
        while time.monotonic() < end:
            time.sleep(0.001)
            if len(self.q) < self.max_queue:
                self.q.append(item)
                return
        match item:
            case Line(line=line):  # serialised already (see `GitStore.record_invocation`)
                pass
            case InvocationRecord():
                line = serialise(item)
            case _:
                self.q.append(item)  # versions and flushes are rare and small
                return
        offset, length = self.journal.append("inv", {"batch": new_batch_id(), "t": time.time()}, line)
        if faults.ARMED:
            faults.reached("spill")
        self.q.append(Spilled(offset, length))

    # -- lifecycle ---------------------------------------------------------------------------
    def _start(self) -> None:
        self.q: collections.deque[Task] = collections.deque()
        self._wake = threading.Event()  # take the queue now (a full batch, a flush, closing)
        self._work = threading.Event()  # something was queued: an idle writer starts a batch interval
        self._committer: Committer | None = None  # made by the writer thread (it opens the repository)
        self._staged: list[Line] = []  # serialised, not yet in a batch
        self._live_records = False  # an InvocationRecord (not a line) may be queued
        self._journaled_versions: set[str] = set()  # journaled by the caller (`put_version`)
        self._failing: set[str] = set()  # kinds of work that failed: their next success is reported
        self._unsettled = 0  # commits in a row whose objects went missing again (see `durable.Unsettled`)
        self._settled: bool | None = None  # once stopped: were its held commits all verified
        self._stop_by: float | None = None
        self.journal = jr.Journal(self.journal_dir)
        self._thread = threading.Thread(target=self._run, name="ell-writer", daemon=True)
        self._versions = VersionThread(self.repo_path, self.make_versions, self.journal, self._journaled_versions,
                                       self.hurry, self.on_error)  # first: the writer thread hands it work
        self._thread.start()

    def _after_fork(self) -> None:
        # The child has no threads and must not write the parent's queue or journal.
        self.journal.abandon()
        self.hurry = threading.Event()
        self._start()

    # -- background: invocations --------------------------------------------------------------
    def _run(self) -> None:
        repo = pygit2.Repository(self.repo_path)
        # A repaired ref gets what the journals hold for it committed again (`Replayer.recommit`).
        self._keeper = durable.Keeper(repo, self.on_error, lambda ref: self._replayer.recommit(ref))
        c = self._committer = Committer(repo, self.refname, self.journal, self._packer, self._keeper)
        self._replayer = Replayer(c, self.make_versions(repo, False), self.journal_dir, self.on_error)
        self._guard("check", lambda: self._keeper.sweep(durable.all_ell_refs(repo)))
        self._guard("replay", self.replay_orphans)
        next_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
        backoff = 0.5
        while True:
            # Idle, the writer sleeps until something is queued, and a batch waits for its interval
            # (lines serialised by the caller just wait; live records are staged every STAGE_SECONDS).
            # Few wake-ups matter: a thread that wants the GIL back from a busy caller makes each of
            # the caller's GIL releases cost a thread switch until it gets it. Held commits are
            # looked at again for a few seconds after the last one (see `durable`).
            if not (self.q or self._staged or c.retry or self.journal.pending):
                self._work.wait(self._keeper.wait_seconds(max(0.0, next_scan - time.monotonic())))
                if self._keeper.due():
                    self._guard("check", self._keeper.check)
                    if not (self._work.is_set() or self.q or self._staged or self.journal.pending):
                        continue  # woken only to look at held commits
            self._work.clear()
            deadline = time.monotonic() + self.flush_interval
            while not self._wake.wait(max(0.0, min(STAGE_SECONDS if self._live_records else self.flush_interval,
                                                   deadline - time.monotonic()))):
                if self._live_records:
                    self._guard("serialise", self._stage)
                if time.monotonic() >= deadline:
                    break
            self._wake.clear()
            if self._guard("writer", self._drain):  # stopped
                self._settled = bool(self._guard("check", self._settle))
                return
            if c.retry:
                batches = c.take_retry()
                self._guard("commit", lambda: c.commit(batches))
                time.sleep(backoff if c.retry and not self.hurry.is_set() else 0)
                backoff = min(backoff * 2, 30.0) if c.retry else 0.5
            if self._keeper.due():  # a busy writer never idles: look at held commits here too
                self._guard("check", self._keeper.check)
            if time.monotonic() > next_scan:
                next_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
                self._guard("replay", self.replay_orphans)

    def _settle(self) -> bool:
        """Before the thread stops: held commits verified, and what a check handed back committed again."""
        c = self._committer

        def retry() -> None:
            if c.retry:
                batches = c.take_retry()
                self._guard("commit", lambda: c.commit(batches))

        return durable.settle(self._keeper, self._stop_by, retry, lambda: bool(c.retry))

    def _guard(self, kind: str, fn: Callable[[], Any]) -> Any:
        try:
            result = fn()
        except Exception as exc:
            self._failing.add(kind)
            racing = isinstance(exc, durable.Unsettled) or durable.transient(exc)
            self._unsettled = self._unsettled + 1 if racing else 0
            if 0 < self._unsettled < UNSETTLED_WARN:
                return None  # a race with garbage collection, retried: not worth a warning unless it lasts
            self.on_error(kind, f"{kind} failed ({type(exc).__name__}: {exc}); will retry, nothing recorded is dropped meanwhile")
            return None
        self._unsettled = 0
        if kind in self._failing and not (kind == "commit" and self._committer.retry):
            self._failing.discard(kind)
            self.on_error(kind, "")  # recovered: the next failure of this kind is reported again
        return result

    def _stage(self) -> None:
        """Serialise queued invocations now rather than at batch time, so records (each ~20 GC-tracked
        objects) die young: held for a whole batch interval, they survive into old generations and
        the caller's thread pays for full collections (measured: ~28 µs per call)."""
        q, staged = self.q, self._staged
        self._live_records = False  # before looking: a record queued meanwhile sets it again
        while q and type(q[0]) in _RECORDS:  # the writer is the only consumer of `q`
            inv = q.popleft()
            if type(inv) is Line:  # serialised by the caller already
                staged.append(inv)
                continue
            try:
                staged.append(Line(str(inv.version_id), serialise(inv), str(inv.lmp_name)))
            except Exception as exc:  # never lose the rest for one odd record
                self.on_error("serialise", f"could not serialise an invocation of {getattr(inv, 'lmp_name', '?')}: {exc}")

    def _drain(self) -> bool:
        """Take everything queued: cut batches, journal them all (one fsync), commit together.
        True if a `Stop` was taken (what came before it is done).

        Journaling the whole drain first means a slow or failing commit never leaves accepted
        records only in memory."""
        q, c, chunk, pending = self.q, self._committer, [], []
        stop = False

        def cut() -> None:
            if chunk:
                batch = self._batch(chunk)
                chunk.clear()
                if batch is not None:
                    pending.append(batch)
                    try:
                        c.journal_batch(batch, sync=False)
                    except Exception:
                        pass  # `commit` journals it again and reports the problem once (no second warning)

        def commit_pending() -> None:
            cut()
            for batch_id, t, items in self.journal.take_batches():  # journaled by callers: taken whole
                pending.append(Batch(batch_id, t, [(i.version_id, i.line) for i in items], [i.name for i in items],
                                     synced=False))
                if faults.ARMED:
                    faults.reached("journal")  # as `journal_batch`: in the journal, not fsynced, no object written
            if pending:
                batches = list(pending)
                pending.clear()
                self._guard("commit", lambda: c.commit(batches))

        def add(record: Invocation) -> None:
            chunk.append(record)
            if len(chunk) >= self.batch_size:
                cut()
                if len(pending) >= BATCHES_PER_COMMIT:
                    commit_pending()

        staged, self._staged = self._staged, []
        for line in staged:  # taken from the head of `q` earlier, so they come first
            add(line)
        while q:
            match q.popleft():
                case InvocationRecord() | Line() as record:
                    add(record)
                case VersionRecord() as version:
                    self._versions.put(version)
                case Flush() as flush:
                    commit_pending()
                    if c.retry:  # a flush deserves one more attempt at what failed before
                        retry = c.take_retry()
                        self._guard("commit", lambda: c.commit(retry))
                    flush.ok = not c.retry
                    self._versions.put(flush)  # set by the version thread once versions before it are done
                case Spilled(offset, length):
                    cut()
                    spilled = batch_from_entry(self.journal.read_at(offset, length), replay=False)
                    spilled.where = (offset, length)
                    pending.append(spilled)
                case Orphans():
                    commit_pending()
                    self._guard("replay", self.replay_orphans)
                case Stop():
                    stop = True
                    break
                case other:  # a caller's mistake: say so rather than drop it silently
                    self.on_error("writer", f"the writer's queue got a {type(other).__name__}; skipped")
        commit_pending()
        self._maybe_rotate()
        return stop

    def _batch(self, records: list[Invocation]) -> Batch | None:
        """A batch of InvocationRecords and `Line`s."""
        lines, names = [], []
        for inv in records:
            if type(inv) is Line:
                lines.append((inv.version_id, inv.line))
                names.append(inv.name)
                continue
            try:
                lines.append((str(inv.version_id), serialise(inv)))
                names.append(str(inv.lmp_name))
            except Exception as exc:  # never lose the rest of the batch for one odd record
                self.on_error("serialise", f"could not serialise an invocation of {getattr(inv, 'lmp_name', '?')}: {exc}")
        return Batch(new_batch_id(), time.time(), lines, names, journaled=False, synced=False) if lines else None

    def _maybe_rotate(self) -> None:
        j = self.journal
        # Not while commits are held: their batches are read back from this file if need be.
        v = self._versions
        if (j.size > jr.ROTATE_BYTES and not self._committer.retry and not v.retry and not self.q and not v.q
                and not self._keeper.held and not v.held):
            j.rotate()

    def replay_orphans(self) -> int:
        """Commit what dead processes journaled but did not commit; returns batches replayed."""
        return self._replayer.orphans()
