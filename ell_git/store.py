"""`GitStore`: ell's `Store` protocol on a git repository.

The public methods only hand records over (to the writer process, see `writer_process`, or the
writer thread, see `writer`); they never raise into the caller: a problem is warned about once per
kind and the call goes on, and records wait in the journal for a retry.

In a child process (forked, or started by `multiprocessing`: a pool worker) nothing a call
recorded waits in this process's memory, because a worker may end at any moment and without
`atexit` (see `forks`): each line goes to a writer process at once or into the journal before
the call returns, versions are journaled too, and the worker's exit (`multiprocessing`'s
finalizers, which run before its ``os._exit``) closes the store. `flush` and `close` replay the
journals of dead processes, such as the workers a pool terminated.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import sys
import threading
import time
import warnings
from typing import Any, Callable

import pygit2

from ell.freeze import Freezer
from ell.records import EvaluationRunRecord, FeedbackRecord, InvocationRecord, VersionRecord
from ell.store import Freezable

from . import evals, forks, notes, refs
from .batch import keep, queue_item, serialise
from .reader import Reader
from .repo import common_dir, ell_dir, open_repository, writer_id
from .tasks import Line
from .versions import VersionWriter
from .writer import Writer
from .writer_process import WriterProcess, usable_interpreter

logger = logging.getLogger("ell_git")
#: Words holding a digit (ids, counts, temporary file names) do not make a warning a different one.
_SHAPE = re.compile(r"\S*\d\S*")


class GitStore(Freezable):
    """Records versions and invocations as git objects under ``refs/ell/*``.

    `path`: a directory inside a git work tree (its repository is used) or anywhere else (a
    repository is created there). `autocommit`: let `autocommit_model` write version commit
    messages (within `autocommit_timeout` seconds; otherwise, or when False, the message is built
    from the diff). `batch_size` / `flush_interval`: a commit is made when that many invocations
    wait or that many seconds passed. `max_queue`: beyond this many waiting records, callers
    block for up to `spill_after` seconds, then write to the journal themselves (never drop).
    `exit_timeout`: how long the interpreter's exit waits for the final flush. `pack_every`: after
    about this many new objects, pack them in the background (``git repack --geometric=2``; 0: never).
    `complete`: the function that asks a model for a commit message, called as
    ``complete(model, system, user, timeout=)`` (`ell.init` passes ell's own; without one, messages
    are built from the diff). `writer_process`: commit plain invocations in a child process
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
        self._warned: set[tuple[str, str]] = set()  # (kind, message shape) said already
        self._warn_lock = threading.Lock()
        self.freezer = Freezer(self._lookup, self.flush)  # `store.freeze(lmp)` (ell.store.Freezable)
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
        self._child = _in_multiprocessing_child()  # see the module's docstring
        self._exit_hook_pending = self._child

        self.complete = complete
        work_tree = self.repo.workdir
        # Version commit messages are redacted in the version thread, maybe while the interpreter
        # exits, when importing a module that registers an exit hook fails: import it now.
        import ell.redaction  # noqa: F401

        def make_versions(repo: pygit2.Repository, model_allowed: bool) -> VersionWriter:
            if work_tree and repo.workdir != work_tree:
                # The writer opens the git dir; behind a `.git` file (separate git dir, worktree) only
                # the work tree leads libgit2 to the right one, which `Ell-Code-Commit`'s status needs.
                repo = pygit2.Repository(work_tree)
            return VersionWriter(
                repo,
                autocommit_enabled=autocommit and model_allowed,
                autocommit_model=autocommit_model,
                autocommit_timeout=autocommit_timeout,
                hurry=threading.Event(),
                complete=self.complete,  # read when the version thread starts: set_store may hand it in
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
                    self._warn, self._overflow, write_through=self._child)
                self._writer_process.start()  # ready by the first call, usually (versioning it takes longer)
        except OSError as exc:
            # A read-only repository (mount, permissions) or a full disk: ell.init and every call
            # still work, they are just not recorded. Reading (freeze, Reader) still works.
            self._warn("unwritable", (
                f"cannot write to the repository at {self.git_dir} ({exc.strerror or exc}): calls run but are not "
                "recorded; make it writable (then ell.init() again) or pass another store"))
        self._atexit = self._close_at_exit
        atexit.register(self._atexit)
        forks.reset_in_children(self)

    # -- the Store protocol ------------------------------------------------------------------
    def record_version(self, version: VersionRecord) -> None:
        """Queue a version for its commit (idempotent: a version id is handled once)."""
        try:
            if self._exit_hook_pending:
                self._hook_exit()
            vid = version.version_id
            if vid in self._seen_versions or self._writer is None:
                return
            self._seen_versions.add(vid)
            self._writer.put_version(version, journal=self._child)
        except Exception as exc:
            self._warn("record_version", f"could not record a version: {exc}")

    def record_invocation(self, invocation: InvocationRecord) -> None:
        """Hand an invocation over; writing to git happens in the background.

        A plain record (JSON data, text messages, small arguments) is serialised here, in a few µs
        of C, and handed to the writer process (`writer_process`; gathered, one write per ~10 ms):
        queued as live objects it would outlive young collections and cost the caller more in full
        ones. Anything else (images, user objects), and what the writer process cannot take, is
        queued for the writer thread; in a child process, serialised here and journaled first."""
        try:
            if self._exit_hook_pending:
                self._hook_exit()
            if self._closed:
                self._warn("closed", "the store is closed: this invocation is not recorded (ell.init() opens a new one)")
                return
            if self._writer is None:
                return  # unwritable repository: said once when opening
            try:
                line = invocation.plain_line(newline=True)
            except Exception:  # the writer serialises it then, the careful way
                line = None
            if line is None and self._child:
                line = self._serialise_now(invocation)
            if line is None:
                self._writer.put(invocation)
            elif self._writer_process is None or not self._writer_process.send(line):
                item = Line(str(invocation.version_id), keep(line), str(invocation.lmp_name))
                if self._child:
                    self._writer.put_journaled(item)
                else:
                    self._writer.put(item)
        except Exception as exc:
            self._warn("record_invocation", f"could not record an invocation: {exc}")

    def version_commit(self, name: str, version_id: str, wait: float = 0.0) -> str | None:
        """The commit holding a version (for OpenTelemetry spans); may wait `wait` seconds for the
        writer to commit it. From a background thread only: it reads the LMP's ref history."""
        from .commits import find

        try:
            return find(self.git_dir, name, version_id, wait=wait)
        except Exception:
            return None

    def _serialise_now(self, invocation: InvocationRecord) -> bytes | None:
        """The careful serialisation, on the caller's thread (a child must not hold live records)."""
        try:
            return serialise(invocation) + b"\n"
        except Exception:
            return None  # the writer thread tries, and says what is wrong

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
            ok = self._writer.flush(timeout, orphans=True)
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
                self._writer.close(timeout, orphans=True)
            if self._writer_process is not None and not self._writer_process.wait_done(max(0.1, deadline - time.monotonic())):
                self._warn("close", "the writer process is still committing; it finishes by itself")
        except Exception as exc:
            self._warn("close", f"close failed: {exc}; unwritten records stay in the journal for the next run")
        if self._reader is not None:
            self._reader.close()

    def _close_at_exit(self) -> None:
        self.close(self.exit_timeout)

    def _after_fork(self) -> None:
        # Called in a forked child (see `forks`); the writer and writer process reset themselves.
        self._child = self._exit_hook_pending = True

    def _hook_exit(self) -> None:
        """Close the store when this child process ends. A multiprocessing child leaves through
        ``os._exit`` (no `atexit`) after running its finalizers; they are registered here, at the
        first record, because a new process's finalizers are cleared before its target runs."""
        self._exit_hook_pending = False
        util = sys.modules.get("multiprocessing.util")
        if util is not None:
            try:
                util.Finalize(None, self._close_at_exit, exitpriority=0)
            except Exception as exc:
                self._warn("exit-hook", f"could not hook this process's exit ({exc}); flush() before it ends")

    @property
    def writer_pid(self) -> int | None:
        """The process id of this store's writer process (None: invocations are written by a thread).
        In a forked child, the parent's, to which it has a connection of its own."""
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

    # -- freeze (ell.store.Freezable: `freeze` and `is_frozen` are its defaults) -----------------
    def _lookup(self, version_id: str, key: str) -> list[Any] | None:
        return self.reader.cached_outputs(version_id, key)

    def cached_outputs(self, version_id: str, key: str) -> list[Any] | None:
        """JSON form of the outputs of the newest recorded, error-free identical call, or None."""
        try:
            return self.freezer.cached_outputs(version_id, key)
        except Exception as exc:
            self._warn("freeze", f"freeze lookup failed ({exc}); calling the model instead")
            return None

    # -- evaluations and feedback (ell.store.EvaluationHooks) -----------------------------------
    # Off the LMP call path, on the caller's thread. Both flush first: what they annotate (the
    # version commit, the invocations) may still be in the writer's queue.
    def record_evaluation_run(self, run: EvaluationRunRecord) -> None:
        """Commit the run on its evaluation's ref and note its scores on the evaluated version."""
        self.flush(timeout=60)
        evals.record_run(self.repo.path, self.reader, run, self.writer_id)

    def record_feedback(self, feedback: FeedbackRecord) -> FeedbackRecord:
        """Note `feedback` on its invocation's version commit; LookupError if the invocation is unknown."""
        from .errors import NotFound

        try:
            self.reader.invocation(feedback.invocation_id)
        except NotFound:  # perhaps still queued: write everything out, then look again
            self.flush(timeout=60)
        return notes.write_feedback(self.repo.path, self.reader, [feedback], self.writer_id)[0]

    # -- problems ----------------------------------------------------------------------------
    def _warn(self, kind: str, message: str) -> None:
        """Warn once per problem: the same failure retried is said once, a different one (or the same
        after a recovery, which the writer signals with an empty `message`) is said again."""
        logger.debug("%s: %s", kind, message or "recovered")
        with self._warn_lock:
            if not message:
                self._warned = {k for k in self._warned if k[0] != kind}
                return
            key = (kind, _SHAPE.sub("#", message))
            if key in self._warned:
                return
            self._warned.add(key)
        warnings.warn(f"ell: {message}", RuntimeWarning, stacklevel=3)

    def __repr__(self) -> str:
        return f"GitStore({self.path!r}, writer={self.writer_id})"


def _in_multiprocessing_child() -> bool:
    """Whether this process was started by `multiprocessing` (or is being: a spawned child imports
    its parent's main module before it knows its parent)."""
    mp = sys.modules.get("multiprocessing")
    if mp is None:
        return False
    try:
        return mp.parent_process() is not None or bool(getattr(mp.current_process(), "_inheriting", False))
    except Exception:
        return False


def open_store(
    path: str | os.PathLike[str], autocommit: bool = True, autocommit_model: str = "gpt-4o-mini", **options: Any
) -> GitStore:
    """What ``ell.init(store=path)`` calls: the git store for the repository at or above `path`."""
    return GitStore(path, autocommit=autocommit, autocommit_model=autocommit_model, **options)
