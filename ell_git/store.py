"""`GitStore`: ell's `Store` protocol on a git repository.

The public methods only hand records over (to the writer process, see `writer_process`, or the
writer thread, see `writer`); they never raise into the caller: a problem is warned about once per
kind and the call goes on, and records wait in the journal for a retry.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import warnings
from typing import Any, Callable

import pygit2

from ell.store import InvocationRecord, VersionRecord

from . import refs
from .batch import keep, queue_item, serialise_plain
from .evals import EvalHooks
from .freeze import Freezer
from .reader import Reader
from .repo import common_dir, ell_dir, open_repository, writer_id
from .versions import VersionWriter
from .writer import Writer
from .writer_process import WriterProcess, usable_interpreter

logger = logging.getLogger("ell_git")


class GitStore(Freezer, EvalHooks):
    """Records versions and invocations as git objects under ``refs/ell/*``.

    `path`: a directory inside a git work tree (its repository is used) or anywhere else (a
    repository is created there). `autocommit`: let `autocommit_model` write version commit
    messages (within `autocommit_timeout` seconds; otherwise, or when False, the message is built
    from the diff). `batch_size` / `flush_interval`: a commit is made when that many invocations
    wait or that many seconds passed. `max_queue`: beyond this many waiting records, callers
    block for up to `spill_after` seconds, then write to the journal themselves (never drop).
    `exit_timeout`: how long the interpreter's exit waits for the final flush. `pack_every`: after
    about this many new objects, pack them in the background (``git repack --geometric=2``; 0: never).
    `complete`: the function that asks a model for a commit message (default
    `ell.providers.complete_text`). `writer_process`: commit plain invocations in a child process
    fed through a socket (see `writer_process`; ~20 µs less per call than a thread, and it finishes
    its work if this process is killed); False: a thread of this process does it all.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ".",
        *,
        autocommit: bool = True,
        autocommit_model: str = "gpt-4o-mini",
        autocommit_timeout: float = 15.0,
        batch_size: int = 1000,
        flush_interval: float = 0.5,
        max_queue: int = 100_000,
        spill_after: float = 0.05,
        exit_timeout: float = 10.0,
        pack_every: int = 10_000,
        complete: Callable[..., str] | None = None,
        writer_process: bool = True,
    ) -> None:
        self._warned: set[str] = set()
        self._warn_lock = threading.Lock()
        self._init_freezer()
        self.repo = open_repository(path)
        self.path: str = self.repo.workdir or self.repo.path
        self.git_dir: str = common_dir(self.repo)
        self.writer_id: str = ""
        self.inv_ref: str = ""
        self.autocommit = autocommit
        self.autocommit_model = autocommit_model
        self.exit_timeout = exit_timeout
        self._seen_versions: set[str] = set()
        self._reader: Reader | None = None
        self._closed = False

        def make_versions(repo: pygit2.Repository, model_allowed: bool) -> VersionWriter:
            return VersionWriter(
                repo,
                autocommit_enabled=autocommit and model_allowed,
                autocommit_model=autocommit_model,
                autocommit_timeout=autocommit_timeout,
                hurry=threading.Event(),
                complete=complete,
                on_error=self._warn,
            )

        self._writer: Writer | None = None
        self._writer_process: WriterProcess | None = None
        try:
            self.writer_id = writer_id(self.repo)
            self.inv_ref = refs.inv_ref(self.writer_id)
            self._writer = Writer(
                self.repo.path,
                self.inv_ref,
                os.path.join(ell_dir(self.repo), "journal"),
                make_versions,
                batch_size=batch_size,
                flush_interval=flush_interval,
                max_queue=max_queue,
                spill_after=spill_after,
                pack_every=pack_every,
                on_error=self._warn,
            )
            if writer_process and usable_interpreter():
                options = dict(batch_size=batch_size, flush_interval=flush_interval, max_queue=max_queue,
                               spill_after=spill_after, pack_every=pack_every)
                self._writer_process = WriterProcess(
                    dict(repo=self.repo.path, ref=self.inv_ref, journal=self._writer.journal_dir, options=options),
                    self._warn, self._overflow)
                self._writer_process.start()  # ready by the first call, usually (versioning it takes longer)
        except OSError as exc:
            # A read-only repository (mount, permissions) or a full disk: ell.init and every call
            # still work, they are just not recorded. Reading (freeze, Reader) still works.
            self._warn("unwritable", (
                f"cannot write to the repository at {self.git_dir} ({exc.strerror or exc}): calls run but are not "
                "recorded; make it writable (then ell.init() again) or pass another store"))
        self._atexit = self._close_at_exit
        atexit.register(self._atexit)

    # -- the Store protocol ------------------------------------------------------------------
    def record_version(self, version: VersionRecord) -> None:
        """Queue a version for its commit (idempotent: a version id is handled once)."""
        try:
            vid = version.version_id
            if vid in self._seen_versions or self._writer is None:
                return
            self._seen_versions.add(vid)
            self._writer.put_version(version)
        except Exception as exc:
            self._warn("record_version", f"could not record a version: {exc}")

    def record_invocation(self, invocation: InvocationRecord) -> None:
        """Hand an invocation over; writing to git happens in the background.

        A plain record (JSON data, text messages, small arguments) is serialised here, in a few µs
        of C, and handed to the writer process (`writer_process`; gathered, one write per ~10 ms):
        queued as live objects it would outlive young collections and cost the caller more in full
        ones. Anything else (images, user objects), and what the writer process cannot take, is
        queued for the writer thread."""
        try:
            if self._closed:
                self._warn("closed", "the store is closed: this invocation is not recorded (ell.init() opens a new one)")
                return
            if self._writer is None:
                return  # unwritable repository: said once when opening
            try:
                line = serialise_plain(invocation, newline=True)
            except Exception:  # the writer serialises it then, the careful way
                line = None
            if line is None:
                self._writer.put(invocation)
            elif self._writer_process is None or not self._writer_process.send(line):
                self._writer.put((str(invocation.version_id), keep(line), str(invocation.lmp_name)))
        except Exception as exc:
            self._warn("record_invocation", f"could not record an invocation: {exc}")

    def _overflow(self, lines: list[bytes]) -> None:
        """Lines the writer process could not be given: the writer thread takes them."""
        for line in lines:
            try:
                self._writer.put(queue_item(keep(line)))  # type: ignore[union-attr]
            except Exception as exc:
                self._warn("record_invocation", f"could not record an invocation: {exc}")

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything recorded before this call is committed (True), or `timeout`
        seconds passed or something had to be deferred for a retry (False)."""
        if self._writer is None:
            return False
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            reply = self._writer_process.start_flush(timeout) if self._writer_process is not None else None
            ok = self._writer.flush(timeout)
            if reply is not None:  # the writer process worked meanwhile
                ok = self._writer_process.wait(reply, None if deadline is None else deadline - time.monotonic()) and ok
            return ok
        except Exception as exc:
            self._warn("flush", f"flush failed: {exc}")
            return False

    def close(self, timeout: float | None = None) -> None:
        """Flush (waiting at most `timeout`, default `exit_timeout`), stop the writer threads and
        the writer process."""
        if self._closed:
            return
        self._closed = True
        timeout = self.exit_timeout if timeout is None else timeout
        try:
            atexit.unregister(self._atexit)
            deadline = time.monotonic() + timeout
            if self._writer_process is not None:
                self._writer_process.end_input()  # it commits what it has meanwhile, then exits
            if self._writer is not None:
                self._writer.close(timeout)
            if self._writer_process is not None and not self._writer_process.wait_done(max(0.1, deadline - time.monotonic())):
                self._warn("close", "the writer process is still committing; it finishes by itself")
        except Exception as exc:
            self._warn("close", f"close failed: {exc}; unwritten records stay in the journal for the next run")
        if self._reader is not None:
            self._reader.close()

    def _close_at_exit(self) -> None:
        self.close(self.exit_timeout)

    @property
    def writer_pid(self) -> int | None:
        """The process id of this store's writer process (None: invocations are written by a thread)."""
        return self._writer_process.pid if self._writer_process is not None else None

    def wait_for_writer(self, timeout: float = 10.0) -> bool:
        """Wait until the writer process takes invocations (it starts in the background in ~0.1 s;
        until then they go to the writer thread). For benchmarks and tests; False if it cannot."""
        return self._writer_process is not None and self._writer_process.ready(timeout)

    # -- reading -----------------------------------------------------------------------------
    @property
    def reader(self) -> Reader:
        """A `Reader` on this store's repository (created on first use, shared)."""
        if self._reader is None:
            self._reader = Reader(self.git_dir)
        return self._reader

    def _lookup(self, version_id: str, key: str) -> list[Any] | None:
        return self.reader.cached_outputs(version_id, key)

    # -- problems ----------------------------------------------------------------------------
    def _warn(self, kind: str, message: str) -> None:
        logger.debug("%s: %s", kind, message)
        with self._warn_lock:
            if kind in self._warned:
                return
            self._warned.add(kind)
        warnings.warn(f"ell: {message}", RuntimeWarning, stacklevel=3)

    def __repr__(self) -> str:
        return f"GitStore({self.path!r}, writer={self.writer_id})"


def open_store(
    path: str | os.PathLike[str], autocommit: bool = True, autocommit_model: str = "gpt-4o-mini", **options: Any
) -> GitStore:
    """What ``ell.init(store=path)`` calls: the git store for the repository at or above `path`."""
    return GitStore(path, autocommit=autocommit, autocommit_model=autocommit_model, **options)
