"""The background writer: the caller only appends to a deque; everything else happens here.

One daemon thread drains the queue in batches (by count and by time), serialises, appends each
batch to the journal (fsync), writes segment blobs, a tree and a commit, and moves the writer's
invocation ref by compare-and-swap (rebuilding on the new tip when another process of the same
clone moved it). A second daemon thread writes versions, because a version may wait for a
model-written commit message. `flush` puts a marker in the same queue and waits for it.

Every commit is checked whole on disk right after the ref moved, and held a little longer
(`durable`): objects a concurrent `git gc --prune=now` deleted are written again, a ref left
lacking objects is repaired (`heal`) and what the journal holds committed again.

At start the writer replays journals left by dead processes: a batch whose segment paths are
already in the ref is skipped, so each batch is committed exactly once however often a replay
is interrupted. A flush or close that asks for it (`GitStore`'s do) replays them too, so the
calls of pool workers that were terminated are committed by the parent's next flush.

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

from . import durable, faults, forks, invocation_commit, refs, replay, version_thread
from . import journal as jr
from .batch import STOP, Batch, Marker, Spilled, batch_from_entry, new_batch_id, serialise
from .packing import Packer
from .versions import VersionWriter, version_payload

#: At most this many batches go into one commit (a drain of a long queue makes several).
BATCHES_PER_COMMIT = 16
#: How often a running writer looks for journals of processes that died meanwhile.
ORPHAN_SCAN_SECONDS = 300.0
#: While waiting for a batch, queued invocations are serialised this often (see `Writer._stage`).
STAGE_SECONDS = 0.01
#: A commit whose objects keep disappearing this many times in a row is warned about.
UNSETTLED_WARN = 5



_STOP = STOP
_ORPHANS = object()  # queued by a flush that also replays dead processes' journals
#: What the queue holds for an invocation: the record itself, or its (version id, line, lmp name).
_RECORDS = (InvocationRecord, tuple)


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
    def put(self, item: Any) -> None:
        q = self.q
        if len(q) >= self.max_queue:
            self._full(item)
            return
        q.append(item)
        if type(item) is not tuple:
            self._live_records = True  # live objects: the writer serialises them soon (see `_stage`)
        n = len(q)
        if n == 1:
            self._work.set()  # the first record after an idle spell starts the batch clock
        elif n >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def put_journaled(self, item: tuple[str, bytes, str]) -> None:
        """Journal a (version id, line, lmp name) item now (`journal.append_to_batch`); the writer
        commits it later. If the journal cannot take it, it is queued as `put` does."""
        try:
            if self.journal.append_to_batch(item, item[1], self.batch_size, new_batch_id):
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

    def _nudge(self, item: Any) -> None:
        """Queue `item` and have the writer take everything queued now."""
        self.q.append(item)
        self._wake.set()
        self._work.set()

    def flush(self, timeout: float | None = None, *, orphans: bool = False) -> bool:
        """Commit everything queued before; with `orphans`, also what dead processes journaled."""
        m = Marker()
        if orphans:
            self.q.append(_ORPHANS)
        self._nudge(m)
        deadline = None if timeout is None else time.monotonic() + timeout
        while not m.event.wait(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if not (self._thread.is_alive() and self._vthread.is_alive()):
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
        self._nudge(_STOP)
        self._vq.append(_STOP)
        self._vwake.set()
        for thread in (self._thread, self._vthread):
            thread.join(None if timeout is None else max(1.0, self._stop_by - time.monotonic()))
        clean = (ok and not self._retry and not self._vretry and not self.q and not self._staged and not self.journal.pending
                 and not self._thread.is_alive() and self._settled == [True, True])
        try:
            self.journal.close(delete=clean)
        except OSError as exc:
            self.on_error("journal", f"could not close the journal: {exc}")
        return clean

    def wait_packed(self, timeout: float | None = None) -> None:
        """Wait for a background repack to end (it is bounded: see `packing`)."""
        self._packer.wait(timeout)

    def _full(self, item: Any) -> None:
        """Back-pressure: wait briefly for room, then spill to the journal; never drop."""
        self._wake.set()
        self._work.set()
        end = time.monotonic() + self.spill_after
        while time.monotonic() < end:
            time.sleep(0.001)
            if len(self.q) < self.max_queue:
                self.q.append(item)
                return
        if type(item) is tuple:  # already a line (see `GitStore.record_invocation`)
            line = item[1]
        elif isinstance(item, InvocationRecord):
            line = serialise(item)
        else:
            self.q.append(item)  # versions and markers are rare and small
            return
        offset, length = self.journal.append("inv", {"batch": new_batch_id(), "t": time.time()}, line)
        if faults.ARMED:
            faults.reached("spill")
        self.q.append(Spilled(offset, length))

    # -- lifecycle ---------------------------------------------------------------------------
    def _start(self) -> None:
        self.q: collections.deque[Any] = collections.deque()
        self._vq: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()  # take the queue now (a full batch, a flush, closing)
        self._work = threading.Event()  # something was queued: an idle writer starts a batch interval
        self._vwake = threading.Event()
        self._retry: list[Batch] = []
        self._vretry: list[VersionRecord] = []
        self._staged: list[tuple[str, bytes, str]] = []  # serialised, not yet in a batch
        self._live_records = False  # an InvocationRecord (not a line) may be queued
        self._journaled_versions: set[str] = set()  # journaled by the caller (`put_version`)
        self._failing: set[str] = set()  # kinds of work that failed: their next success is reported
        self._unsettled = 0  # commits in a row whose objects went missing again (see `durable.Unsettled`)
        self._settled: list[bool] = []  # per stopped thread: were its held commits all verified (append: atomic)
        self._stop_by: float | None = None
        self.journal = jr.Journal(self.journal_dir)
        self._thread = threading.Thread(target=self._run, name="ell-writer", daemon=True)
        self._vthread = threading.Thread(target=version_thread.run, args=(self,), name="ell-versions", daemon=True)
        self._thread.start()
        self._vthread.start()

    def _after_fork(self) -> None:
        # The child has no threads and must not write the parent's queue or journal.
        self.journal.abandon()
        self.hurry = threading.Event()
        self._start()

    # -- background: invocations --------------------------------------------------------------
    def _run(self) -> None:
        self.repo = pygit2.Repository(self.repo_path)
        self._replay_versions = self.make_versions(self.repo, False)
        self._keeper = durable.Keeper(self.repo, self.on_error, self._recommit)
        self._guard("check", lambda: self._keeper.sweep(durable.all_ell_refs(self.repo)))
        self._guard("replay", self.replay_orphans)
        next_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
        backoff = 0.5
        while True:
            # Idle, the writer sleeps until something is queued, and a batch waits for its interval
            # (lines serialised by the caller just wait; live records are staged every STAGE_SECONDS).
            # Few wake-ups matter: a thread that wants the GIL back from a busy caller makes each of
            # the caller's GIL releases cost a thread switch until it gets it. Held commits are
            # looked at again for a few seconds after the last one (see `durable`).
            if not (self.q or self._staged or self._retry or self.journal.pending):
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
            if self._guard("writer", self._drain) is _STOP:
                self._settled.append(bool(self._guard("check", self._settle)))
                return
            if self._retry:
                batches, self._retry = self._retry, []
                self._guard("commit", lambda: self._commit(batches))
                time.sleep(backoff if self._retry and not self.hurry.is_set() else 0)
                backoff = min(backoff * 2, 30.0) if self._retry else 0.5
            if self._keeper.due():  # a busy writer never idles: look at held commits here too
                self._guard("check", self._keeper.check)
            if time.monotonic() > next_scan:
                next_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
                self._guard("replay", self.replay_orphans)

    def _settle(self) -> bool:
        """Before the thread stops: held commits verified, and what a check handed back committed again."""

        def retry() -> None:
            if self._retry:
                batches, self._retry = self._retry, []
                self._guard("commit", lambda: self._commit(batches))

        return durable.settle(self._keeper, self._stop_by, retry, lambda: bool(self._retry))

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
        if kind in self._failing and not (kind == "commit" and self._retry):
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
            if type(inv) is tuple:  # serialised by the caller already
                staged.append(inv)
                continue
            try:
                staged.append((str(inv.version_id), serialise(inv), str(inv.lmp_name)))
            except Exception as exc:  # never lose the rest for one odd record
                self.on_error("serialise", f"could not serialise an invocation of {getattr(inv, 'lmp_name', '?')}: {exc}")

    def _drain(self) -> Any:
        """Take everything queued: cut batches, journal them all (one fsync), commit together.

        Journaling the whole drain first means a slow or failing commit never leaves accepted
        records only in memory."""
        q, chunk, pending = self.q, [], []
        stop = None

        def cut() -> None:
            if chunk:
                batch = self._batch(chunk)
                chunk.clear()
                if batch is not None:
                    pending.append(batch)
                    try:
                        self._journal(batch, sync=False)
                    except Exception:
                        pass  # `_commit` journals it again and reports the problem once (no second warning)

        def commit_pending() -> None:
            cut()
            for batch_id, t, items in self.journal.take_batches():  # journaled by callers: taken whole
                pending.append(Batch(batch_id, t, [i[:2] for i in items], [i[2] for i in items], synced=False))
                if faults.ARMED:
                    faults.reached("journal")  # as `_journal`: in the journal, not fsynced, no object written
            if pending:
                batches = list(pending)
                pending.clear()
                self._guard("commit", lambda: self._commit(batches))

        staged, self._staged = self._staged, []
        for line in staged:  # taken from the head of `q` earlier, so they come first
            chunk.append(line)
            if len(chunk) >= self.batch_size:
                cut()
                if len(pending) >= BATCHES_PER_COMMIT:
                    commit_pending()
        while q:
            item = q.popleft()
            if type(item) in _RECORDS or isinstance(item, InvocationRecord):
                chunk.append(item)
                if len(chunk) >= self.batch_size:
                    cut()
                    if len(pending) >= BATCHES_PER_COMMIT:
                        commit_pending()
            elif isinstance(item, VersionRecord):
                self._vq.append(item)
                self._vwake.set()
            elif isinstance(item, Marker):
                commit_pending()
                if self._retry:  # a flush deserves one more attempt at what failed before
                    retry, self._retry = self._retry, []
                    self._guard("commit", lambda: self._commit(retry))
                item.ok = not self._retry
                self._vq.append(item)  # set by the version thread once versions before it are done
                self._vwake.set()
            elif isinstance(item, Spilled):
                cut()
                spilled = batch_from_entry(self.journal.read_at(item.offset, item.length), replay=False)
                spilled.where = (item.offset, item.length)
                pending.append(spilled)
            elif item is _ORPHANS:
                commit_pending()
                self._guard("replay", self.replay_orphans)
            elif item is _STOP:
                stop = _STOP
                break
        commit_pending()
        self._maybe_rotate()
        return stop

    def _journal(self, b: Batch, *, sync: bool) -> None:
        b.where = self.journal.append("inv", {"batch": b.id, "t": b.time}, b"\n".join(ln for _, ln in b.lines), sync=sync)
        b.journaled, b.synced = True, sync
        if faults.ARMED:
            faults.reached("journal")

    def _batch(self, records: list[Any]) -> Batch | None:
        """A batch of InvocationRecords and already serialised (version id, line, name) tuples."""
        lines, names = [], []
        for inv in records:
            if type(inv) is tuple:
                lines.append(inv[:2])
                names.append(inv[2])
                continue
            try:
                lines.append((str(inv.version_id), serialise(inv)))
                names.append(str(inv.lmp_name))
            except Exception as exc:  # never lose the rest of the batch for one odd record
                self.on_error("serialise", f"could not serialise an invocation of {getattr(inv, 'lmp_name', '?')}: {exc}")
        return Batch(new_batch_id(), time.time(), lines, names, journaled=False, synced=False) if lines else None

    def _commit(self, batches: list[Batch]) -> int:
        """Journal (if not yet) and commit `batches` on the writer ref (CAS loop), checked whole on disk
        after the ref moved (`durable`); on failure keep them for a retry, so nothing handed to the
        writer is ever dropped. Returns the records committed (a replay skips those already in)."""
        try:
            for b in batches:
                if not b.journaled:
                    self._journal(b, sync=False)
            if any(not b.synced for b in batches):
                self.journal.sync()  # one fsync for the whole group, before any object is written
                for b in batches:
                    b.synced = True
            repaired = False
            for attempt in range(durable.TRANSIENT_ATTEMPTS):
                try:
                    made = self._make_commit(batches)
                    break
                except (refs.DamagedRef, KeyError, OSError, pygit2.GitError) as exc:
                    # A missing object under the ref: repair it (once), then build again on it.
                    if isinstance(exc, (refs.DamagedRef, KeyError)) and not repaired:
                        repaired = True
                        if self._keeper.repair(self.refname) is not None:
                            continue
                    if isinstance(exc, refs.DamagedRef) or attempt + 1 == durable.TRANSIENT_ATTEMPTS or not durable.transient(exc):
                        raise
                    time.sleep(0.005 * (attempt + 1))
            if made is not None and not self._keeper.made(made):
                raise durable.Unsettled(f"the objects of commit {made.oid} of {self.refname} keep disappearing "
                                        "(is `git gc --prune=now` or `git prune` running in a loop?)")
        except Exception:
            self._retry.extend(batches)
            raise
        return made.records if made is not None else 0

    def _make_commit(self, batches: list[Batch]) -> durable.Made | None:
        return invocation_commit.make(self.repo, self.refname, batches, self.journal, self._packer,
                                      lambda again: self._retry.extend(again))

    def _maybe_rotate(self) -> None:
        j = self.journal
        # Not while commits are held: their batches are read back from this file if need be.
        if (j.size > jr.ROTATE_BYTES and not self._retry and not self._vretry and not self.q and not self._vq
                and not self._keeper.held and not self._vheld):
            j.rotate()

    def replay_orphans(self) -> int:
        """Commit what dead processes journaled but did not commit; returns batches replayed."""
        return replay.orphans(self)

    def _recommit(self, ref: str) -> int:
        return replay.recommit(self, ref)

    # -- background: versions (see `version_thread`) -------------------------------------------
    @property
    def _vheld(self) -> bool:
        keeper = getattr(self, "_vkeeper", None)
        return bool(keeper is not None and keeper.held)
