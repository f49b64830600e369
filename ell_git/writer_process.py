"""The writer process: plain invocation lines go through a socket to a `Writer` in a child process.

Why a process: a writer *thread* that wants the GIL back from a busy caller is woken by each of
the caller's GIL releases (the openai SDK makes one per request) and loses the race every time:
each release costs the caller a futex wake and a thread switch, measured at 15–20 µs a call
(bench/workloads/percall_ab.py). A write to the child costs a few µs and wakes nobody: the child
reads every few milliseconds (`writer_child`). The child also outlives its parent: what was
written to it is committed even when the parent is killed.

The channel is a ``SOCK_SEQPACKET`` socket pair, not a pipe: each write is one message, taken
whole or not at all, so a full channel never leaves half a line in it (a pipe takes a long write
in part) and the caller never has to wait for the child to make room.

Lines that come fast (within `GATHER_SECONDS` of the previous write) are gathered and written
together, up to `GATHER_BYTES`: one write per ~10 ms instead of one per call. A line after a pause
is written at once, and when the lines stop the child asks for the rest (``T``, after
`writer_child.QUIET_SECONDS` without input), so nothing waits long in the caller's memory.

`send` never blocks: a line it cannot hand over (the child still starting) returns False and the
caller queues it in-process; while the child is behind, lines wait gathered (up to `HOLD_BYTES`);
lines it cannot be given (it is gone, a line over `MESSAGE_BYTES`, more than `HOLD_BYTES` waiting)
go to `overflow` (the store's writer thread). The child's problems come back as warnings.

**Forked children** (pool workers, see `forks`) write to the same writer process, each through
a connection of its own: right after the fork, the child makes a socket pair and sends one end
over the inherited channel (``C`` with the descriptor, ``SCM_RIGHTS``), then closes the inherited
channel, so the parent's end of input is still the parent's alone. The connection is usable at
once: no writer process to start, no line waiting for one. A child writes *through*
(`write_through`): every line at once, nothing gathered, since it may end any moment; a line the
connection does not take now (the writer process is behind: a queue holds about
net.unix.max_dgram_qlen messages) returns False and the caller journals it. The writer process
commits what a connection sent when it ends, however the child ended. A child whose connection
cannot be made starts a writer process of its own on its first line (journaling until it runs).
"""

from __future__ import annotations

import errno
import itertools
import os
import select
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator

import orjson

from . import faults, forks

#: Send buffer asked for: ~1,400 typical lines of slack while the child commits (the kernel may
#: grant less: net.core.wmem_max).
CHANNEL_BYTES = 1 << 20
#: Largest message written (`writer_child` reads up to twice this at once).
MESSAGE_BYTES = 1 << 20
#: A line within this of the previous write is gathered with the next ones (a busy caller).
GATHER_SECONDS = 0.01
#: ... up to this many bytes per write.
GATHER_BYTES = 32 * 1024
#: While the child is behind (its input full), lines wait here up to this, then go to the writer thread.
HOLD_BYTES = 4 << 20
#: How long the reply thread waits for the exit code of a child that closed its output.
EXIT_SECONDS = 5.0
#: How long a forked child may wait, at the fork, to hand its connection to a busy writer process.
CONNECT_SECONDS = 1.0




def usable_interpreter() -> bool:
    """Whether ``sys.executable -m`` starts Python (not so in embedding hosts such as uWSGI)."""
    name = os.path.basename(sys.executable or "").lower()
    return name.startswith(("python", "pypy"))


class _Reply:
    __slots__ = ("event", "ok")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.ok = False


class WriterProcess:
    """The handle on one store's writer process. `config` is what `writer_child.main` reads."""

    def __init__(self, config: dict[str, Any], on_error: Callable[[str, str], None],
                 overflow: Callable[[list[bytes]], None], *, write_through: bool = False) -> None:
        self.config = config
        self.on_error = on_error
        self.overflow = overflow  # takes lines the child could not be given (newline-terminated)
        self.write_through = write_through  # every line at once, none gathered (a process that may end any moment)
        self.usable = False  # set by the reader thread once the child runs; False again when it is gone
        self._unstarted = True  # see `start`; a forked child starts its own on its first line
        self._proc: subprocess.Popen[bytes] | None = None
        self._shared_pid: int | None = None  # a forked child's: the writer process it has a connection to
        self._fd = self._out = -1
        self._closing = False
        self._done = threading.Event()  # the child committed all it was sent (``D``), or it is gone
        self._lock = threading.Lock()  # guards the channel and the gathered lines
        self._tokens = itertools.count(1)
        self._replies: dict[bytes, _Reply] = {}
        self._gathered: list[bytes] = []  # lines not written yet (lock held)
        self._gathered_bytes = 0
        self._last_write = 0.0
        forks.reset_in_children(self)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else self._shared_pid

    def start(self) -> None:
        """Start the child (in the background: ~0.1 s until it takes lines; they go to the writer
        thread meanwhile). Failing to start is warned once, and the writer thread does the work."""
        self._unstarted = False
        try:
            self._spawn()
        except OSError as exc:
            self.on_error("writer-process", f"could not start the writer process ({exc}); recording in this process")

    def ready(self, timeout: float) -> bool:
        """Wait until the child takes lines (at most `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while not self.usable:
            if self._proc is None or self._proc.poll() is not None or time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def _spawn(self) -> None:
        config = dict(self.config, parent=os.getpid(), faults=faults.SPEC)
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
        env.pop("ELL_TEST_KILL_AT", None)  # armed through `config`, with the parent to kill too
        # Plain descriptors, not file objects: after a fork, a file object's lock may be held by
        # a thread that does not exist in the child, and closing it would hang.
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHANNEL_BYTES)
        except OSError:
            pass  # a smaller buffer: lines wait gathered sooner
        ours.setblocking(False)
        self._fd, child_in = ours.detach(), theirs.detach()
        self._out, child_out = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "ell_git.writer_child", orjson.dumps(config).decode()],
                stdin=child_in, stdout=child_out, close_fds=True, start_new_session=True, env=env,
                cwd=self.config["repo"])  # `-m` puts the working directory first on sys.path: not the user's
        except BaseException:
            fds, self._fd, self._out = (self._fd, self._out), -1, -1  # forgotten before closed (see `_close_input`)
            _close(*fds)
            raise
        finally:
            _close(child_in, child_out)
        self._start_reader(self._proc)

    def _start_reader(self, proc: subprocess.Popen[bytes] | None) -> None:
        self._reader = threading.Thread(target=self._read, args=(self._out, proc), name="ell-writer-replies", daemon=True)
        self._reader.start()

    # -- caller side ---------------------------------------------------------------------------
    def send(self, line: bytes) -> bool:
        """Hand one newline-terminated line to the child; False: it is the caller's to queue."""
        if not self.usable:
            if self._unstarted and not self._closing:
                self.start()
            return False
        if self.write_through:
            return self._write_now(line)
        with self._lock:
            if self._fd < 0:
                return False
            self._gathered.append(line)
            self._gathered_bytes += len(line)
            now = time.monotonic()
            if now - self._last_write >= GATHER_SECONDS or self._gathered_bytes >= GATHER_BYTES:
                self._write_gathered(now)
            return True

    def _write_now(self, line: bytes) -> bool:
        """Write one line now; False: not taken (the caller journals it)."""
        with self._lock:
            if self._fd < 0:
                return False
            try:
                os.write(self._fd, line)
                return True
            except BlockingIOError:
                return False  # the writer process is behind
            except (OSError, ValueError) as exc:
                if getattr(exc, "errno", None) != errno.EMSGSIZE:
                    self.usable = False  # it is gone (the reply thread says so)
                return False

    def _write_gathered(self, now: float) -> None:
        """Write the gathered lines, in messages of up to `GATHER_BYTES` (lock held). What a full
        channel does not take stays gathered for the next write, up to `HOLD_BYTES`; beyond, and
        whatever the child cannot be given (it is gone, a line over `MESSAGE_BYTES`), goes to
        `overflow`."""
        self._last_write = now
        lines, start = self._gathered, 0
        while start < len(lines):
            end, size = start + 1, len(lines[start])
            while end < len(lines) and size + len(lines[end]) <= GATHER_BYTES:
                size += len(lines[end])
                end += 1
            try:
                if size > MESSAGE_BYTES:
                    raise OSError(errno.EMSGSIZE, "message too long")
                os.write(self._fd, lines[start] if end - start == 1 else b"".join(lines[start:end]))
            except BlockingIOError:
                break  # the child is behind: these wait here
            except (OSError, ValueError) as exc:
                if getattr(exc, "errno", None) != errno.EMSGSIZE:
                    self.usable = False  # the child is gone (the reply thread says so): the rest too
                    end = len(lines)
                self.overflow(lines[start:end])
            start = end
        self._gathered = lines[start:]
        self._gathered_bytes = sum(map(len, self._gathered))
        if self._gathered_bytes > HOLD_BYTES:
            self.overflow(self._gathered)
            self._gathered, self._gathered_bytes = [], 0

    def start_flush(self, timeout: float | None) -> _Reply | None:
        """Ask the child to commit everything sent so far. None: it has nothing of ours (never
        started, or gone); a failed reply: it cannot be asked (its input stayed full)."""
        if not self.usable:
            return None
        token = b"%d" % next(self._tokens)
        reply = self._replies[token] = _Reply()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._gathered:
                    self._write_gathered(time.monotonic())
                if self._fd < 0:
                    break
                try:
                    if not self._gathered:  # the marker comes after every line
                        os.write(self._fd, b"F" + token + b"\n")
                        return reply
                except BlockingIOError:
                    pass
                except (OSError, ValueError):
                    break
            if deadline is not None and time.monotonic() >= deadline:
                break
            _wait_writable(self._fd, 0.05)
        self._replies.pop(token, None)
        reply.event.set()  # not ok
        return reply

    def wait(self, reply: _Reply, timeout: float | None) -> bool:
        """Whether the child acknowledged `reply`'s flush within `timeout` seconds (the flush
        started while it was usable, so it was started and has a reply thread)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not reply.event.wait(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))):
            if (deadline is not None and time.monotonic() >= deadline) or not self._reader.is_alive():
                return False
        return reply.ok

    def end_input(self) -> None:
        """Close the child's input: it commits what it has, then says so (see `wait_done`)."""
        self._closing = True
        with self._lock:
            if self._gathered and self._fd >= 0:
                self._write_gathered(time.monotonic())
            if self._gathered:  # the child is behind: its input closes now, these go to the writer thread
                self.overflow(self._gathered)
                self._gathered, self._gathered_bytes = [], 0
            self._close_input()

    def _close_input(self) -> None:  # lock held
        # Forget the number before closing it: a fork must never close a number reused meanwhile.
        self.usable = False
        fd, self._fd = self._fd, -1
        if fd >= 0:  # end of input even where another descriptor of the socket stays open (a connection's replies)
            try:
                sock = socket.socket(fileno=fd)
                try:
                    sock.shutdown(socket.SHUT_WR)
                finally:
                    sock.detach()
            except OSError:
                pass
        _close(fd)

    def wait_done(self, timeout: float | None) -> bool:
        """Whether the child committed everything within `timeout` (if not, it goes on by itself
        and what it does not commit stays in its journal for the next process). It may stay a
        while after, for a repack; nobody waits for that."""
        return self._proc is None or self._done.wait(timeout)

    # -- replies -------------------------------------------------------------------------------
    def _read(self, out: int, proc: subprocess.Popen[bytes]) -> None:
        for frame in _frames(out):
            kind, body = frame[:1], frame[1:]
            if kind == b"R":
                self.usable = True
            elif kind == b"D":
                self._done.set()
            elif kind == b"T":  # the child heard nothing for a while: hand over what is gathered
                with self._lock:
                    if self._gathered and self._fd >= 0:
                        self._write_gathered(time.monotonic())
            elif kind == b"F":
                token, _, ok = body.partition(b" ")
                reply = self._replies.pop(token, None)
                if reply is not None:
                    reply.ok = ok == b"1"
                    reply.event.set()
            elif kind == b"W":
                what, _, message = body.partition(b"\t")
                self.on_error(what.decode(errors="replace"), message.decode(errors="replace"))
        if self._out == out:
            self._out = -1
        _close(out)
        self.usable = False
        self._done.set()
        for token in list(self._replies):
            reply = self._replies.pop(token, None)
            if reply is not None:
                reply.event.set()  # not ok
        try:
            code: Any = proc.wait(EXIT_SECONDS) if proc is not None else "unknown"  # reaped: no zombie left behind
        except subprocess.TimeoutExpired:
            code = "none yet"
        if not self._closing:
            self.on_error("writer-process", (
                f"the writer process ended unexpectedly (exit code {code}); recording goes on in this process, "
                "lines it had not read yet are lost"))

    def _after_fork(self) -> None:
        # The channel belongs to the parent (its end of input must stay its own): the child asks
        # the same writer process for a connection of its own, then closes the inherited channel.
        channel, shared = self._fd, self.pid
        self.usable = False
        self.write_through = True  # a child may end any moment: nothing waits gathered
        self._unstarted = not self._closing
        self._proc, self._shared_pid = None, None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._replies = {}
        self._gathered, self._gathered_bytes = [], 0  # the parent's: it writes them
        try:
            connection = _connect(channel) if channel >= 0 and self._unstarted else -1
        finally:
            _close(channel, self._out)
            self._fd = self._out = -1
        if connection >= 0:
            try:
                self._out = os.dup(connection)  # replies come back on the connection
            except OSError:
                _close(connection)
                return
            self._fd, self._shared_pid, self._unstarted = connection, shared, False
            self.usable = True
            self._start_reader(None)


def _connect(channel: int) -> int:
    """A new connection to the writer process behind `channel` (this process's end), or -1."""
    try:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    except OSError:
        return -1
    try:
        try:
            mine.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHANNEL_BYTES)
        except OSError:
            pass
        mine.setblocking(False)
        sender = socket.socket(fileno=channel)
        try:
            deadline = time.monotonic() + CONNECT_SECONDS
            while True:
                try:
                    socket.send_fds(sender, [b"C\n"], [theirs.fileno()])
                    return mine.detach()
                except BlockingIOError:
                    if not _wait_writable(channel, deadline - time.monotonic()):
                        break
        finally:
            sender.detach()  # the inherited channel: the caller closes it
    except OSError:
        pass  # the writer process is gone, or the channel is unusable: no connection
    finally:
        theirs.close()  # the writer process has its own copy now (or never will)
    mine.close()
    return -1


def _frames(fd: int) -> Iterator[bytes]:
    """Newline-terminated frames read from `fd` until end of file (a torn last one is dropped)."""
    pending = b""
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:  # a connection's socket is non-blocking for the writes on it
            _wait_readable(fd)
            continue
        except OSError:
            return
        if not chunk:
            return
        frames = (pending + chunk).split(b"\n")
        pending = frames.pop()
        yield from frames


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def _wait_readable(fd: int) -> None:
    _poll(fd, select.POLLIN, None)


def _wait_writable(fd: int, timeout: float) -> bool:
    if timeout <= 0:
        return False
    return _poll(fd, select.POLLOUT, timeout)


def _poll(fd: int, events: int, timeout: float | None) -> bool:
    """Whether `fd` is ready for `events` within `timeout` seconds (poll: any descriptor number,
    where select stops at 1024). A closed one counts as ready: the next read or write says why."""
    try:
        poller = select.poll()
        poller.register(fd, events)
        return bool(poller.poll(None if timeout is None else timeout * 1000))
    except (OSError, ValueError):
        return True
