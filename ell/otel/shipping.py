"""Where `fast.Pipeline` hands finished spans: an exporter process of their own, or this process.

Why a process: building ReadableSpans, encoding them (protobuf) and sending them costs ~50 µs of
Python per span. In this process that work holds the GIL the program's own threads want, and
its garbage (thousands of short-lived objects per batch) makes the collector run on the caller's
thread: measured +47 µs of the calling thread's CPU per call with export running, against +19 µs
for the span alone (`bench/otel_bench.py`). So the pipeline's thread only builds each span's
attributes and writes plain tuples (pickled, in frames) to a child process
(``python -m ell.otel.exporter_child``) that runs the SDK's BatchSpanProcessor and OTLP exporter,
configured from the environment ell saw when it was turned on.

A plain span: (name, kind, trace id, span id, flags, parent span id or 0, parent is remote,
attributes, status code, status description, start ns, end ns).

The child says on its output when to hold spans back (``a0``: the collector is down or an export
is stuck; ``a1``: go on), forwards its warnings (``w`` + text) and answers flushes
(``f`` + token + ``1``/``0``). If it cannot start or dies, the spans are exported in this process
(`LocalSink`), after one warning.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from typing import Any, Optional

#: Frame header: the pickled payload's length.
HEADER = struct.Struct("!I")


def plain_readable(plain: tuple, resource: Any, scope: Any) -> Any:
    """The SDK's ReadableSpan for a plain span (in whichever process exports)."""
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    name, kind, trace_id, span_id, flags, parent_id, parent_remote, attrs, code, why, start, end = plain
    parent = SpanContext(trace_id, parent_id, parent_remote, TraceFlags(flags)) if parent_id else None
    return ReadableSpan(
        name=name, context=SpanContext(trace_id, span_id, False, TraceFlags(flags)), parent=parent,
        resource=resource, attributes=attrs, kind=SpanKind(kind),
        status=Status(StatusCode(code), why) if code else Status(StatusCode.UNSET),
        start_time=start, end_time=end, instrumentation_scope=scope)


class LocalSink:
    """Spans exported by this process: ReadableSpans into the BatchSpanProcessor."""

    def __init__(self, processor: Any, accepting: Any, resource: Any, scope: Any) -> None:
        self.processor, self.accepting, self.resource, self.scope = processor, accepting, resource, scope

    def take(self, plain: list[tuple]) -> None:
        for span in plain:
            self.processor.on_end(plain_readable(span, self.resource, self.scope))

    def flush(self, timeout: float) -> bool:
        return bool(self.processor.force_flush(int(timeout * 1000)))

    def close(self, timeout: float) -> None:
        """Nothing: the provider's own exit hook shuts the processor down."""

    def forget(self) -> None:
        """Nothing: the SDK's processor restarts its own thread in a forked child."""


def usable_interpreter() -> bool:
    """Whether ``sys.executable -m`` starts Python (not so in embedding hosts such as uWSGI)."""
    return os.path.basename(sys.executable or "").lower().startswith(("python", "pypy"))


class ChildSink:
    """Spans written to an exporter process. `spawn` raises OSError when it cannot start one."""

    def __init__(self, env: dict[str, str], resource: Any, on_gone: Any) -> None:
        self.env = env  # the environment when OpenTelemetry was turned on: the exporter's settings
        self.resource = resource
        self.on_gone = on_gone  # called once, with why, when the child is gone
        self.open = True  # False while the child says to hold spans back
        self.proc: Optional[subprocess.Popen[bytes]] = None
        self.lock = threading.Lock()  # one frame at a time
        self.acks: dict[int, tuple[threading.Event, list[bool]]] = {}
        self.tokens = 0
        self.gone = False

    def spawn(self) -> None:
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(self.env, PYTHONPATH=os.pathsep.join(p for p in (here, self.env.get("PYTHONPATH")) if p))
        env.pop("ELL_OTEL", None)
        # Its own session: a Ctrl-C meant for the program does not stop the export of its last spans;
        # the child exits when its input closes (this process ended, however it ended).
        self.proc = subprocess.Popen([sys.executable, "-m", "ell.otel.exporter_child"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, close_fds=True, start_new_session=True,
                                     cwd=here)
        self._send(("r", dict(self.resource.attributes), self.resource.schema_url))
        threading.Thread(target=self._read, args=(self.proc,), name="ell-otel-replies", daemon=True).start()

    def accepting(self) -> bool:
        return self.open

    def take(self, plain: list[tuple]) -> None:
        self._send(("s", plain))

    def flush(self, timeout: float) -> bool:
        with self.lock:
            self.tokens += 1
            token = self.tokens
            done: tuple[threading.Event, list[bool]] = (threading.Event(), [])
            self.acks[token] = done
        try:
            if not self._send(("f", token, timeout)):
                return False
            return done[0].wait(timeout + 1.0) and bool(done[1]) and done[1][0]
        finally:
            self.acks.pop(token, None)

    def close(self, timeout: float) -> None:
        """End of input: the child exports what it holds and exits; waits up to `timeout` for it."""
        proc = self.proc
        if proc is None:
            return
        with self.lock:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass  # it goes on exporting on its own

    def forget(self) -> None:
        """In a forked child: the parent's exporter is not ours to write to or wait for."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.stdin is not None:
            try:
                os.close(proc.stdin.fileno())
            except OSError:
                pass

    def _send(self, message: tuple) -> bool:
        payload = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        with self.lock:
            proc = self.proc
            if self.gone or proc is None or proc.stdin is None or proc.stdin.closed:
                return False
            try:
                proc.stdin.write(HEADER.pack(len(payload)) + payload)
                proc.stdin.flush()
                return True
            except (OSError, ValueError) as exc:
                self._lost(f"{type(exc).__name__}: {exc}")
                return False

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        import warnings

        assert proc.stdout is not None
        for line in proc.stdout:
            kind, rest = line[:1], line[1:].rstrip(b"\n")
            if kind == b"a":
                self.open = rest == b"1"
            elif kind == b"w":
                warnings.warn(rest.decode("utf-8", "replace"), RuntimeWarning, stacklevel=1)
            elif kind == b"f":
                token, ok = rest.split(b" ")
                done = self.acks.get(int(token))
                if done is not None:
                    done[1].append(ok == b"1")
                    done[0].set()
        code = proc.wait()
        if proc is self.proc and not (proc.stdin is not None and proc.stdin.closed):
            self._lost(f"exit code {code}")

    def _lost(self, why: str) -> None:
        if not self.gone:
            self.gone = True
            for done in list(self.acks.values()):
                done[0].set()
            self.on_gone(why)

