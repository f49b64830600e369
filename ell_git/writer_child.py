"""The writer process's main: a `Writer` fed with invocation lines through its stdin.

Started by `writer_process.WriterProcess` as ``python -m ell_git.writer_child CONFIG``, its stdin
a ``SOCK_SEQPACKET`` socket: each read is one message of whole frames, each ending in a newline:

* ``{...}``       one canonical invocation line, queued as it is;
* ``F<token>``    a flush: committed everything before it? reply ``F<token> 1`` (or ``0``);
* ``C``           with a socket descriptor attached (``SCM_RIGHTS``): a connection from a forked
                  child of the parent (see `writer_process`), served like stdin; its flush
                  replies go back on it.

On stdout: ``R`` once the writer runs, flush replies, ``W<kind><TAB><message>`` for problems
(the parent warns), and ``T`` when input stopped for `QUIET_SECONDS` (the parent then writes the
lines it was gathering, see `writer_process`). End of stdin (the parent closed it, exited or was
killed) closes the writer once every connection ended too: whatever was sent is committed, so a
dying parent or child loses nothing it had handed over. Then ``D`` (done: the parent's close
stops waiting), and the process stays until a repack it started ends, so that nothing of ours runs
on unsupervised in the repository. If connections outlive stdin, the parent gets its ``D`` as soon
as what was sent is committed (it must not wait for its children), and the process serves on.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import time
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
#: Descriptors taken from one message (a ``C`` carries one).
MAX_FDS = 4


class _Replies:
    """Writes frames to stdout; the writer's threads and the main loop share it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.parent_waits = True  # for its ``D``

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


def main(config: dict[str, Any]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop: by closing stdin
    try:
        os.nice(NICENESS)
    except OSError:
        pass
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
    """Queue the lines and answer the flushes read from stdin and the connections, until all end.

    While lines come, it reads every `READ_PAUSE` instead of waiting on the sockets: a write that
    finds the reader waiting wakes it, a cross-CPU interrupt charged to the caller (a 10 KB write
    took 45 µs in a real call loop that way, 25 µs without). After `QUIET_SECONDS` without input
    it asks the parent for what it is gathering (``T``) and waits on the sockets again."""
    stdin = socket.socket(fileno=0)
    stdin.setblocking(False)
    inputs: dict[socket.socket, Callable[[bytes], None]] = {stdin: replies.send}  # input -> where its replies go
    last_input: float | None = None  # None: nothing came lately, wait on the sockets
    while inputs:
        if last_input is None:
            _wait(list(inputs), select.POLLIN, None)
        got = flushed = False
        while True:  # again while connections come: each is read before the parent is told anything
            known = set(inputs)
            for sock, reply in list(inputs.items()):
                g, f = _read(sock, reply, inputs, writer, queue_item, replies, read_size)
                got, flushed = got or g, flushed or f
            if not set(inputs) - known:
                break
        if stdin.fileno() < 0 and inputs and replies.parent_waits:
            # The parent closed; its forked children still write: the parent need not wait for them.
            replies.parent_waits = False
            writer.flush()
            replies.send(b"D")
        now = time.monotonic()
        if got:
            last_input = now
        elif last_input is not None and now - last_input >= QUIET_SECONDS:
            if stdin.fileno() >= 0:
                replies.send(b"T")
            last_input = None
        if last_input is not None and not flushed:
            time.sleep(READ_PAUSE)


def _read(sock: socket.socket, reply: Callable[[bytes], None], inputs: dict[socket.socket, Callable[[bytes], None]],
          writer: "Writer", queue_item: Callable[[bytes], tuple[str, bytes, str]], replies: _Replies,
          read_size: int) -> tuple[bool, bool]:
    """Handle every message waiting on `sock` (its queue of messages is short: net.unix.max_dgram_qlen);
    at its end, forget it. Returns (got input, answered a flush)."""
    got = flushed = False
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, read_size, MAX_FDS)
        except BlockingIOError:
            return got, flushed
        except OSError:
            message, fds = b"", []
        if fds:
            _connect(inputs, message, fds)
            continue
        if not message:
            del inputs[sock]
            sock.close()
            return got, flushed
        got = True
        for line in message.split(b"\n"):
            if line[:1] == b"{":
                try:
                    writer.put(queue_item(line))
                except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                    replies.warn("writer-input", f"the writer process got a line that is not an invocation ({exc}); skipped")
            elif line[:1] == b"F":
                flushed = True
                reply(line + (b" 1" if writer.flush() else b" 0"))


def _connect(inputs: dict[socket.socket, Callable[[bytes], None]], message: bytes, fds: list[int]) -> None:
    """Serve the connection a ``C`` message brought (see `writer_process`); close anything else."""
    if message != b"C\n" or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        return
    try:
        conn = socket.socket(fileno=fds[0])
        conn.setblocking(False)
    except OSError:
        os.close(fds[0])
        return
    inputs[conn] = lambda frame, conn=conn: _answer(conn, frame)


def _answer(conn: socket.socket, frame: bytes) -> None:
    """A flush reply to a connection (its child reads them; a gone child just misses it)."""
    try:
        if _wait([conn], select.POLLOUT, 1.0):
            conn.send(frame + b"\n")
    except (OSError, ValueError):
        pass


def _wait(socks: list[socket.socket], events: int, timeout: float | None) -> bool:
    """Until one of `socks` is ready for `events` (poll: any descriptor number, one per forked child)."""
    poller = select.poll()
    for sock in socks:
        poller.register(sock, events)
    return bool(poller.poll(None if timeout is None else timeout * 1000))


if __name__ == "__main__":
    sys.exit(main(orjson.loads(sys.argv[1])))
