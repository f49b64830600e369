"""The write-ahead journal: what a process has promised to commit, on disk before any object.

Each process appends to its own file ``.git/ell/journal/<pid>-<random>.log`` and holds an
exclusive ``flock`` on it while alive; a file nobody holds belongs to a dead process and is
replayed by the next store that opens (see `orphans`). There is no global lock.

An entry is a JSON header line, the payload bytes, and a newline::

    {"k":"inv","batch":"<16 hex>","t":<epoch>,"n":<payload bytes>,"c":<crc32>}\\n<payload>\\n

``inv`` payloads are canonical invocation lines joined by newlines; ``ver`` payloads are one
canonical version record (with source and closure). A torn tail (a crash mid-append) fails its
length or CRC check and is ignored: its batch was never acknowledged by `flush`. A damaged entry
with valid ones after it (a bad disk block, a hand edit) is skipped up to the next valid entry, so
one bad byte never costs the entries behind it.

**Journal-first batches** (`append_to_batch`): in a process that may end at any moment (a pool
worker: ``os._exit``, SIGTERM, SIGKILL), a line its writer process cannot take is appended here by
the caller itself, without fsync: the page cache outlives the process, so the line survives any
death of it, and an append costs a few µs (an fsync would cost milliseconds). Consecutive lines
share an open batch: one entry per line, all with the batch's id and time. The writer takes whole
batches (`take_batches`) and commits each as one batch; a replay merges the entries of a batch
again (`merge_batches`), so its segment paths are the same and a committed batch is skipped.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import orjson

from . import faults

#: Past this size a journal whose entries are all committed is replaced by a fresh file.
ROTATE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    kind: str  # "inv" | "ver"
    header: dict[str, Any]
    payload: bytes


def _frame(kind: str, header: dict[str, Any], payload: bytes) -> bytes:
    head = dict(header, k=kind, n=len(payload), c=zlib.crc32(payload))
    return orjson.dumps(head) + b"\n" + payload + b"\n"


def parse(data: bytes, skipped: list[tuple[int, int]] | None = None) -> Iterator[tuple[int, int, Entry]]:
    """(offset, length, entry) for every complete entry.

    A torn tail ends the scan. A damaged entry followed by valid ones is skipped: the scan resumes
    at the next valid entry and adds (offset, bytes skipped) to `skipped`."""
    pos = 0
    end = len(data)
    while pos < end:
        found = _entry_at(data, pos)
        if found is None:
            nxt = _next_entry(data, pos)
            if nxt is None:
                return  # a torn tail: nothing valid after it
            if skipped is not None:
                skipped.append((pos, nxt - pos))
            pos = nxt
            continue
        length, entry = found
        yield pos, length, entry
        pos += length


def _entry_at(data: bytes, pos: int) -> tuple[int, Entry] | None:
    """(length, entry) of a valid entry starting at `pos`, else None."""
    nl = data.find(b"\n", pos)
    if nl == -1:
        return None
    try:
        head = orjson.loads(data[pos:nl])
        n, crc, kind = int(head["n"]), int(head["c"]), str(head["k"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    start, stop = nl + 1, nl + 1 + n
    if n < 0 or stop + 1 > len(data) or data[stop : stop + 1] != b"\n":
        return None
    payload = data[start:stop]
    if zlib.crc32(payload) != crc:
        return None
    return stop + 1 - pos, Entry(kind, head, payload)


def _next_entry(data: bytes, pos: int) -> int | None:
    """Where the next valid entry after a damaged one at `pos` starts (only read after damage)."""
    at = data.find(b'\n{"', pos)
    while at != -1:
        if _entry_at(data, at + 1) is not None:
            return at + 1
        at = data.find(b'\n{"', at + 1)
    return None


class Journal:
    """This process's journal file. Thread-safe: the writer and spilling callers both append."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self._lock = threading.Lock()
        self._batches: list[tuple[str, float, list[Any]]] = []  # journal-first batches not taken yet
        self._open()

    def _open(self) -> None:
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        tmp = os.path.join(self.directory, name + ".new")
        self._fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # marks the file as owned by a live process
        # Only a locked file may carry the .log name: a replayer never sees an unlocked new journal.
        self.path = os.path.join(self.directory, name + ".log")
        os.rename(tmp, self.path)
        self.size = 0

    def append(self, kind: str, header: dict[str, Any], payload: bytes, *, sync: bool = True) -> tuple[int, int]:
        """Append one entry, durably when `sync`; returns its (offset, length) in this file."""
        frame = _frame(kind, header, payload)
        with self._lock:
            return self._write(frame, sync)

    def _write(self, frame: bytes, sync: bool) -> tuple[int, int]:  # lock held
        offset = self.size
        if faults.ARMED:
            faults.reached("torn", lambda: os.write(self._fd, frame[: len(frame) // 2]))
        try:
            view = memoryview(frame)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if sync:
                os.fdatasync(self._fd)
        except BaseException:
            # A failed write (disk full) can leave part of the frame behind: cut it off, or
            # every later entry would sit behind a torn one, at offsets `read_at` misses.
            try:
                os.ftruncate(self._fd, offset)
            except OSError:  # then later offsets must at least be right
                self.size = os.lseek(self._fd, 0, os.SEEK_END)
            raise
        self.size += len(frame)
        return offset, len(frame)

    def append_to_batch(self, item: Any, line: bytes, limit: int, new_id: Callable[[], str]) -> bool:
        """Journal `line` (no fsync) in the open batch, which keeps `item` for the writer to take;
        a batch holds up to `limit` lines. True if this opened a batch (the writer has work).
        Raises what the append raised (nothing is kept then)."""
        with self._lock:
            last = self._batches[-1] if self._batches else None
            if last is None or len(last[2]) >= limit:
                batch, opened = (new_id(), time.time(), []), True
            else:
                batch, opened = last, False
            self._write(_frame("inv", {"batch": batch[0], "t": batch[1]}, line), False)
            if opened:
                self._batches.append(batch)
            batch[2].append(item)
            return opened

    def take_batches(self) -> list[tuple[str, float, list[Any]]]:
        """The journal-first batches appended so far, as (id, time, items); they are closed: later
        lines go to a new batch, so what was taken is exactly what a replay would find."""
        with self._lock:
            batches, self._batches = self._batches, []
        return batches

    @property
    def pending(self) -> bool:
        """Whether journal-first batches wait to be taken."""
        return bool(self._batches)

    def sync(self) -> None:
        # The fsync runs outside the lock (callers appending journal-first must not wait for it), on
        # a duplicate: a rotation meanwhile closes only the original.
        with self._lock:
            fd = os.dup(self._fd)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def entries(self) -> list[Entry]:
        """Every complete entry of this file so far (to commit them again after a repair)."""
        with self._lock:
            size, fd = self.size, self._fd
            data = os.pread(fd, size, 0) if fd >= 0 else b""
        return [e for _, _, e in parse(data)]

    def read_at(self, offset: int, length: int) -> Entry:
        data = os.pread(self._fd, length, offset)
        for _, _, entry in parse(data):
            return entry
        raise ValueError(f"journal {self.path}: no entry at {offset}")

    def rotate(self) -> None:
        """Replace the file by an empty one (call only when every entry is committed).

        Objects are written without fsync, so the system is synced first: after that the
        committed data no longer needs the journal, even across a power loss.
        """
        with self._lock:
            if self._batches:
                return  # lines journaled since: the file still holds what is not committed
            os.sync()
            old_fd, old_path = self._fd, self.path
            self._open()
            _unlink(old_path)
            os.close(old_fd)

    def close(self, *, delete: bool) -> None:
        with self._lock:
            if self._fd < 0:
                return
            if delete and not self._batches:  # else what was journaled meanwhile waits for a replay
                os.sync()
                _unlink(self.path)
            os.close(self._fd)
            self._fd = -1

    def abandon(self) -> None:
        """In a forked child: drop the parent's file without touching it."""
        try:
            os.close(self._fd)
        except OSError:
            pass
        self._fd = -1
        self._batches = []  # the parent's: it commits them


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Orphan:
    """A dead process's journal, locked by us until `done` (so two replayers never overlap)."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd
        self.skipped: list[tuple[int, int]] = []  # (offset, bytes) of damaged entries

    @property
    def kept_as(self) -> str:
        """Where a damaged journal is kept once replayed (not ``.log``: never replayed again)."""
        return self.path[: -len(".log")] + ".corrupt"

    def entries(self) -> list[Entry]:
        with open(self.path, "rb") as f:
            data = f.read()
        self.skipped = []
        return [e for _, _, e in parse(data, self.skipped)]

    def damage(self, records: int) -> str:
        """What could not be read back ("" if nothing): bytes skipped by `entries` and `records`."""
        lost = sum(n for _, n in self.skipped)
        return " and ".join(x for x in (f"{lost} unreadable bytes" if lost else "",
                                        f"{records} unreadable records" if records else "") if x)

    def done(self, *, delete: bool, damaged: bool = False) -> None:
        """Release the file; `delete` once replayed, keeping a `damaged` one as `kept_as` for a human."""
        if delete and damaged:
            try:
                os.replace(self.path, self.kept_as)
            except OSError:
                pass
        elif delete:
            _unlink(self.path)
        os.close(self._fd)


def merge_batches(entries: list[Entry]) -> list[Entry]:
    """`entries` with the journal-first entries of each batch joined into one, at the place of the
    first: the batch as the writer committed it. Every other entry has a batch id of its own."""
    order: list[Entry | str] = []
    parts: dict[str, list[Entry]] = {}
    for entry in entries:
        batch_id = entry.header.get("batch") if entry.kind == "inv" else None
        if not isinstance(batch_id, str):
            order.append(entry)
            continue
        if batch_id not in parts:
            parts[batch_id] = []
            order.append(batch_id)
        parts[batch_id].append(entry)
    return [x if isinstance(x, Entry) else _joined(parts[x]) for x in order]


def _joined(entries: list[Entry]) -> Entry:
    if len(entries) == 1:
        return entries[0]
    return Entry("inv", entries[0].header, b"\n".join(e.payload for e in entries))


def orphans(directory: str, own: str | None = None) -> Iterator[Orphan]:
    """Journals whose process is gone; each is locked when yielded."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return
    for name in names:
        path = os.path.join(directory, name)
        if not name.endswith(".log") or path == own:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Another replayer may have finished and unlinked it between our open and flock.
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(path)
        except OSError:
            os.close(fd)
            continue
        yield Orphan(path, fd)
