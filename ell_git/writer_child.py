"""The writer process's main: a `Writer` fed with invocation lines through its stdin.

Started by `writer_process.WriterProcess` as ``python -m ell_git.writer_child CONFIG``, its stdin
a ``SOCK_SEQPACKET`` socket: each read is one message of whole frames, each ending in a newline:

* ``{...}``       one canonical invocation line, queued as it is;
* ``F<token>``    a flush: committed everything before it? reply ``F<token> 1`` (or ``0``).

On stdout: ``R`` once the writer runs, flush replies, ``W<kind><TAB><message>`` for problems
(the parent warns), and ``T`` when input stopped for `QUIET_SECONDS` (the parent then writes the
lines it was gathering, see `writer_process`). End of stdin (the parent closed it, exited or was
killed) closes the writer: whatever was sent is committed, so a dying parent loses nothing it had
handed over. Then ``D`` (done: the parent's close stops waiting), and the process stays until a
repack it started ends, so that nothing of ours runs on unsupervised in the repository.
"""

from __future__ import annotations

import importlib.util
import os
import select
import signal
import sys
import threading
import time
import types
from typing import TYPE_CHECKING, Any, Callable

import orjson

if TYPE_CHECKING:
    from .writer import Writer

#: While input comes, read this often (see `_serve`).
READ_PAUSE = 0.005
#: Input stopped this long after some came: ask the parent for lines it may be gathering.
QUIET_SECONDS = 0.02
#: Background work: when the machine is busy, the user's program gets the CPU first (at 5, about 3:1).
NICENESS = 5
#: How long the end of stdin may take to commit what is left before the process gives up (the journal keeps it).
CLOSE_SECONDS = 120.0


class _Replies:
    """Writes frames to stdout; the writer's threads and the main loop share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def send(self, frame: bytes) -> None:
        with self._lock:
            view = memoryview(frame + b"\n")
            try:
                while view:
                    view = view[os.write(1, view):]
            except OSError:
                pass  # the parent is gone: nobody to tell, and what it sent is still committed

    def warn(self, kind: str, message: str) -> None:
        self.send(b"W" + kind.encode() + b"\t" + message.replace("\n", " ").encode())


def _bare_ell() -> None:
    """Make `ell` importable without running its package init.

    The writer needs only `ell.store` and `ell.serialize`; `ell/__init__` imports the openai SDK
    and pydantic (~0.5 s of CPU), which every writer process would pay at start. Does nothing where
    `ell` is imported already."""
    if "ell" in sys.modules:
        return
    spec = importlib.util.find_spec("ell")
    if spec is None or not spec.submodule_search_locations:
        return
    package = types.ModuleType("ell")
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    sys.modules["ell"] = package


def main(config: dict[str, Any]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop: by closing stdin
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    _bare_ell()
    import pygit2

    from . import faults
    from .versions import VersionWriter
    from .batch import queue_item
    from .writer import Writer
    from .writer_process import MESSAGE_BYTES

    if config.get("faults"):
        faults.arm(config["faults"])
        if os.getppid() == config["parent"]:
            faults.ALSO_KILL.append(config["parent"])
    replies = _Replies()

    def make_versions(repo: pygit2.Repository, model_allowed: bool) -> VersionWriter:
        # Only for replaying dead processes' journals: new versions are written by the parent.
        return VersionWriter(repo, autocommit_enabled=False, autocommit_model="", autocommit_timeout=0.0,
                             hurry=threading.Event(), complete=None, on_error=replies.warn)

    writer = Writer(config["repo"], config["ref"], config["journal"], make_versions, on_error=replies.warn,
                    **config["options"])
    os.set_blocking(0, False)
    replies.send(b"R")
    try:
        _serve(writer, queue_item, replies, 2 * MESSAGE_BYTES)
    finally:  # whatever happened, commit what was received
        writer.close(CLOSE_SECONDS)
        replies.send(b"D")
        writer.wait_packed()
    return 0


def _serve(writer: "Writer", queue_item: Callable[[bytes], tuple[str, bytes, str]], replies: _Replies,
           read_size: int) -> None:
    """Queue the lines and answer the flushes read from stdin, until it ends.

    While lines come, it reads every `READ_PAUSE` instead of waiting on the socket: a write that
    finds the reader waiting wakes it, a cross-CPU interrupt charged to the caller (a 10 KB write
    took 45 µs in a real call loop that way, 25 µs without). After `QUIET_SECONDS` without input
    it asks the parent for what it is gathering (``T``) and waits on the socket again."""
    last_input: float | None = None  # None: nothing came lately, wait on the socket
    while True:
        if last_input is None:
            select.select([0], [], [])
        got = flushed = False
        while True:  # every message waiting: the parent's queue of messages is short (net.unix.max_dgram_qlen)
            try:
                message = os.read(0, read_size)
            except BlockingIOError:
                break
            except OSError:
                message = b""
            if not message:
                return
            got = True
            for line in message.split(b"\n"):
                if line[:1] == b"{":
                    try:
                        writer.put(queue_item(line))
                    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                        replies.warn("writer-input", f"the writer process got a line that is not an invocation ({exc}); skipped")
                elif line[:1] == b"F":
                    flushed = True
                    replies.send(line + (b" 1" if writer.flush() else b" 0"))
        now = time.monotonic()
        if got:
            last_input = now
        elif last_input is not None and now - last_input >= QUIET_SECONDS:
            replies.send(b"T")
            last_input = None
        if last_input is not None and not flushed:
            time.sleep(READ_PAUSE)


if __name__ == "__main__":
    sys.exit(main(orjson.loads(sys.argv[1])))
