"""The background writer: the caller only appends to a deque; everything else happens here.

One daemon thread drains the queue in batches (by count and by time), serialises, appends each
batch to the journal (fsync), writes segment blobs, a tree and a commit, and moves the writer's
invocation ref by compare-and-swap (rebuilding on the new tip when another process of the same
clone moved it). A second daemon thread writes versions, because a version may wait for a
model-written commit message. `flush` puts a marker in the same queue and waits for it.

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
import os
import shutil
import subprocess
import threading
import time
from typing import Any, Callable

import pygit2

from ell.store import InvocationRecord, VersionRecord

from . import faults, forks, layout, refs
from . import journal as jr
from .batch import Batch, Marker, Spilled, batch_from_entry, new_batch_id, serialise
from .repo import signature
from .versions import VersionWriter, version_from_payload, version_payload

#: At most this many batches go into one commit (a drain of a long queue makes several).
BATCHES_PER_COMMIT = 16
#: Batches per commit when replaying a dead process's journal.
REPLAY_BATCHES_PER_COMMIT = 64
#: How often a running writer looks for journals of processes that died meanwhile.
ORPHAN_SCAN_SECONDS = 300.0
#: While waiting for a batch, queued invocations are serialised this often (see `Writer._stage`).
STAGE_SECONDS = 0.01


_STOP = object()
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
        self._loose = 0
        self._packer: threading.Thread | None = None
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
        ok = self.flush(timeout, orphans=orphans)
        self._nudge(_STOP)
        self._thread.join(1.0 if timeout is not None else None)
        self._vq.append(_STOP)
        self._vwake.set()
        self._vthread.join(1.0 if timeout is not None else None)
        clean = (ok and not self._retry and not self._vretry and not self.q and not self._staged and not self.journal.pending
                 and not self._thread.is_alive())
        try:
            self.journal.close(delete=clean)
        except OSError as exc:
            self.on_error("journal", f"could not close the journal: {exc}")
        return clean

    def wait_packed(self, timeout: float | None = None) -> None:
        """Wait for a background repack to end (it is bounded: see `_pack`)."""
        if self._packer is not None:
            self._packer.join(timeout)

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
        self.journal = jr.Journal(self.journal_dir)
        self._thread = threading.Thread(target=self._run, name="ell-writer", daemon=True)
        self._vthread = threading.Thread(target=self._run_versions, name="ell-versions", daemon=True)
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
        self._guard("replay", self.replay_orphans)
        next_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
        backoff = 0.5
        while True:
            # Idle, the writer sleeps until something is queued, and a batch waits for its interval
            # (lines serialised by the caller just wait; live records are staged every STAGE_SECONDS).
            # Few wake-ups matter: a thread that wants the GIL back from a busy caller makes each of
            # the caller's GIL releases cost a thread switch until it gets it.
            if not (self.q or self._staged or self._retry or self.journal.pending):
                self._work.wait(max(0.0, next_scan - time.monotonic()))
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
                return
            if self._retry:
                batches, self._retry = self._retry, []
                self._guard("commit", lambda: self._commit(batches))
                time.sleep(backoff if self._retry and not self.hurry.is_set() else 0)
                backoff = min(backoff * 2, 30.0) if self._retry else 0.5
            if time.monotonic() > next_scan:
                next_scan = time.monotonic() + ORPHAN_SCAN_SECONDS
                self._guard("replay", self.replay_orphans)

    def _guard(self, kind: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:
            self.on_error(kind, f"{kind} failed ({type(exc).__name__}: {exc}); will retry, nothing recorded is dropped meanwhile")
            return None

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
                pending.append(batch_from_entry(self.journal.read_at(item.offset, item.length), replay=False))
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
        self.journal.append("inv", {"batch": b.id, "t": b.time}, b"\n".join(ln for _, ln in b.lines), sync=sync)
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

    def _commit(self, batches: list[Batch]) -> None:
        """Journal (if not yet) and commit `batches` on the writer ref (CAS loop); on failure
        keep them for a retry, so nothing handed to the writer is ever dropped."""
        try:
            for b in batches:
                if not b.journaled:
                    self._journal(b, sync=False)
            if any(not b.synced for b in batches):
                self.journal.sync()  # one fsync for the whole group, before any object is written
                for b in batches:
                    b.synced = True
            repo = self.repo
            files: dict[str, pygit2.Oid] = {}
            owner: dict[str, Batch] = {}
            for b in batches:
                for path, oid in layout.write_segments(repo, b.id, b.time, b.lines).items():
                    files[path] = oid
                    owner[path] = b
            check = any(b.replay for b in batches)
            if faults.ARMED:
                faults.reached("objects")

            def build(tip: pygit2.Oid | None) -> pygit2.Oid | None:
                if tip is not None:
                    layout.check_commit_format(repo[tip])
                base = repo[tip].tree_id if tip is not None else None
                todo = files
                if check:  # replay: skip batches whose segments are already committed
                    todo = {p: o for p, o in files.items() if layout.lookup(repo, base, p) is None}
                if not todo:
                    return None
                tree = layout.put(repo, base, todo)
                if tree == base:
                    return None
                done = {owner[p].id: owner[p] for p in todo}
                msg = self._message(list(done.values()))
                sig = signature(repo, committer=True)
                return repo.create_commit(None, sig, sig, msg, tree, [tip] if tip is not None else [])

            refs.update(repo, self.refname, build)
            if faults.ARMED:
                faults.reached("ref")
        except Exception:
            self._retry.extend(batches)
            raise
        self._count_objects(len(files) + 8)  # segments (+ payloads), ~7 trees and a commit

    def _count_objects(self, n: int) -> None:
        """Pack on our own schedule: `git gc --auto` only runs on the user's git commands."""
        self._loose += n
        if not self.pack_every or self._loose < self.pack_every or (self._packer and self._packer.is_alive()):
            return
        self._packer = threading.Thread(target=self._pack_while_loose, name="ell-pack", daemon=True)
        self._packer.start()

    def _pack_while_loose(self) -> None:
        # Objects written during a repack are left loose by it: pack again if enough came meanwhile.
        while self._loose >= self.pack_every:
            self._loose = 0
            self._pack()

    def _pack(self) -> None:
        # Geometric repacking rolls loose objects and small packs up, keeping few packs; it
        # touches only objects, and git makes it safe against concurrent writers. One thread, at the
        # lowest priority: by default git compresses on every CPU, and on a small machine the user's
        # program then waits for the CPU it was using.
        cmd = ["git", "-c", "pack.threads=1", f"--git-dir={self.repo_path}", "repack", "-d", "-q", "--geometric=2"]
        if shutil.which("nice"):
            cmd = ["nice", "-n", "19", *cmd]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=3600)
        except (OSError, subprocess.SubprocessError) as exc:
            self.on_error("pack", f"could not pack objects ({exc}); run `git gc` now and then")

    def _message(self, batches: list[Batch]) -> str:
        n = sum(len(b.lines) for b in batches)
        counts = collections.Counter(name for b in batches for name in b.names)
        top = ", ".join(name.rsplit(".", 1)[-1] for name, _ in counts.most_common(3))
        more = f" (+{len(counts) - 3} more)" if len(counts) > 3 else ""
        subject = f"Record {n} invocation{'s' if n != 1 else ''} of {top}{more}"
        trailers = [f"Ell-Batch: {b.id}" for b in batches]
        trailers += [f"Ell-Writer: {self.refname.rsplit('/', 1)[-1]}", f"Ell-Format: {layout.FORMAT_VERSION}"]
        return subject + "\n\n" + "\n".join(trailers) + "\n"

    def _maybe_rotate(self) -> None:
        j = self.journal
        if j.size > jr.ROTATE_BYTES and not self._retry and not self._vretry and not self.q and not self._vq:
            j.rotate()

    def replay_orphans(self) -> int:
        """Commit what dead processes journaled but did not commit; returns batches replayed."""
        replayed = 0
        for orphan in jr.orphans(self.journal_dir, own=self.journal.path):
            ok = True
            damaged = 0  # entries or lines that cannot be read back (never committed)
            try:
                batches: list[Batch] = []
                for entry in jr.merge_batches(orphan.entries()):
                    # Decoding errors are the entry's own damage: skip it, keep the others.
                    if entry.kind == "inv":
                        try:
                            batch = batch_from_entry(entry, replay=True)
                        except (KeyError, TypeError, ValueError):
                            damaged += 1
                            continue
                        damaged += batch.bad
                        if batch.lines:
                            batches.append(batch)
                    elif entry.kind == "ver":
                        try:
                            version = version_from_payload(entry.payload)
                        except (KeyError, TypeError, ValueError):
                            damaged += 1
                            continue
                        self._replay_versions.write(version)
                for i in range(0, len(batches), REPLAY_BATCHES_PER_COMMIT):
                    self._commit(batches[i : i + REPLAY_BATCHES_PER_COMMIT])
                    if faults.ARMED:
                        faults.reached("replay")
                replayed += len(batches)
            except Exception as exc:
                ok = False
                # The orphan file stays (the next replay checks paths again): forget only its batches.
                self._retry = [b for b in self._retry if not b.replay]
                self.on_error("replay", f"could not replay {orphan.path} ({exc}); it stays for the next run")
            finally:
                what = orphan.damage(damaged)
                if ok and what:
                    self.on_error("journal-damaged", (
                        f"the journal {orphan.path} of a dead process is damaged ({what}); everything readable "
                        f"in it is committed and the file is kept as {orphan.kept_as} for inspection"))
                orphan.done(delete=ok, damaged=bool(what))
        return replayed

    # -- background: versions -----------------------------------------------------------------
    def _run_versions(self) -> None:
        repo = pygit2.Repository(self.repo_path)
        vw = self.make_versions(repo, True)
        vw.hurry = self.hurry
        while True:
            self._vwake.wait(5.0 if self._vretry else None)
            self._vwake.clear()
            if self._vretry:
                pending, self._vretry = self._vretry, []
                self._vq.extendleft(reversed(pending))
            while self._vq:
                item = self._vq.popleft()
                if isinstance(item, Marker):
                    item.ok = item.ok and not self._vretry
                    item.event.set()
                elif isinstance(item, VersionRecord):
                    try:
                        self._write_version(vw, item)
                    except Exception as exc:
                        self._vretry.append(item)
                        self.on_error("version", f"could not commit version {item.version_id} of {item.name} ({exc}); will retry")
                elif item is _STOP:
                    return

    def _write_version(self, vw: VersionWriter, v: VersionRecord) -> None:
        refname = refs.lmp_ref(v.name)
        _, tip = refs.read_tip(vw.repo, refname)
        if v.version_id in vw.known(refname, tip):
            return  # the common case at every process start: nothing to journal or write
        if v.version_id in self._journaled_versions:
            self.journal.sync()  # the caller journaled it (no fsync): durable before the commit, as below
        else:
            self.journal.append("ver", {}, version_payload(v))
        if faults.ARMED:
            faults.reached("version")
        vw.write(v)
