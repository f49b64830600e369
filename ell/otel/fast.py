"""The caller's side of spans when ell built the TracerProvider: a few µs instead of the SDK's span.

An SDK span (ids, sampler, attribute checks under locks, a ReadableSpan copy at its end) costs
tens of µs of the caller's time, more than ell's whole call. With our own provider the caller only
makes the span's ids, puts a non-recording span with them into the context (so nested LMPs and
any other instrumentation nest under it), and at the end appends a tuple to a bounded deque. A
daemon thread builds each span's attributes from what the call left and hands plain spans to a
sink (`shipping`): an exporter process running the SDK's BatchSpanProcessor and OTLP exporter, or
this process's if that cannot run. With a TracerProvider of the program's own, `spans` uses the
SDK's spans instead (its processors are its own business).
"""

from __future__ import annotations

import collections
import os
import random
import threading
import time
from typing import Any, Callable, Optional

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from . import commits

#: Spans waiting for the thread; the oldest are dropped beyond this (memory stays bounded).
MAX_WAITING = 4096
_SAMPLED, _NOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.DEFAULT)
_NO_STATE = TraceState()
_new_tuple = tuple.__new__
_bits = random.getrandbits
_time_ns = time.time_ns
_current_span, _in_context = trace.get_current_span, trace.set_span_in_context


class Pipeline:
    """Our provider's sampler, fed from the caller; a thread of its own builds the spans for `sink`.

    `new_sink()` makes the sink (in that thread, off the call path: it may start a process); a
    forked child makes its own."""

    def __init__(self, sampler: Any, new_sink: Callable[[], Any]) -> None:
        self.sampler = sampler
        # The SDK's default (parent based, always on) samples every root: no need to ask it.
        self.default_sampler = os.environ.get("OTEL_TRACES_SAMPLER", "").strip().lower() in ("", "parentbased_always_on")
        self.new_sink = new_sink
        self.sink: Any = None
        self.waiting: collections.deque = collections.deque(maxlen=MAX_WAITING)
        self.wake = threading.Event()
        self.thread: Optional[threading.Thread] = None
        self.pid = 0
        self.lock = threading.Lock()  # making the sink
        self.draining = threading.Lock()  # one drain at a time: a flush waits for the thread's spans in hand

    def open(self, name: str, kind: Any, attrs: Optional[dict[str, Any]]) -> "FastSpan":
        parent = _current_span().get_span_context()
        if parent.is_valid:
            trace_id, flags = parent.trace_id, parent.trace_flags
        else:
            parent = None
            trace_id = _bits(128) or 1
            flags = _SAMPLED if self.default_sampler else self._root_flags(trace_id, name, kind, attrs or {})
        # SpanContext is a tuple; its __new__ only validates ids, which are valid here by construction.
        ctx = _new_tuple(SpanContext, (trace_id, _bits(64) or 1, False, flags, _NO_STATE, True))
        return FastSpan(self, name, kind, ctx, parent)

    def _root_flags(self, trace_id: int, name: str, kind: Any, attrs: dict[str, Any]) -> TraceFlags:
        result = self.sampler.should_sample(None, trace_id, name, kind, attrs)
        return _SAMPLED if result.decision.is_sampled() else _NOT_SAMPLED

    def put(self, item: tuple) -> None:
        self.waiting.append(item)
        if self.thread is None or self.pid != _pid():
            self._start()
        elif len(self.waiting) >= 256 and not self.wake.is_set():
            self.wake.set()

    def _start(self) -> None:
        if self.pid != _pid() and self.sink is not None:  # forked: the parent's sink is not ours
            self.sink.forget()
            self.sink = None
        self.pid = _pid()
        self.thread = threading.Thread(target=self._run, name="ell-otel", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.drain()
            self.wake.wait(0.2)
            self.wake.clear()

    def current_sink(self) -> Any:
        with self.lock:
            if self.sink is None:
                self.sink = self.new_sink()
            return self.sink

    def drain(self) -> None:
        """Build every waiting span and hand it to the sink (or drop them while it says to hold back)."""
        with self.draining:
            self._drain()

    def _drain(self) -> None:
        sink, waiting, plain = self.current_sink(), self.waiting, []
        while waiting:
            try:
                name, kind, ctx, parent, build, args, start, end = waiting.popleft()
            except IndexError:
                break
            if not sink.accepting():
                continue
            try:
                renamed, attrs, status = build(*args)  # the attributes, from what the call left
                plain.append((renamed or name, kind.value, ctx.trace_id, ctx.span_id, int(ctx.trace_flags),
                              parent.span_id if parent else 0, bool(parent and parent.is_remote), attrs,
                              status.status_code.value if status else 0, status.description if status else None,
                              start, end))
            except Exception as exc:  # one odd call must not stop the thread
                from ..warn import warn_once

                warn_once("otel-build", f"could not build a span: {type(exc).__name__}: {exc}")
            if len(plain) >= 512:
                self._ship(plain)
                plain = []
                sink = self.current_sink()
        if plain:
            self._ship(plain)

    def _ship(self, plain: list[tuple]) -> None:
        commits.fill([span[7] for span in plain])
        self.current_sink().take(plain)


_pid = os.getpid


class FastSpan:
    """What a span is on the caller's path: its context and start time; `later` queues the rest."""

    __slots__ = ("pipe", "name", "kind", "ctx", "parent", "start")

    def __init__(self, pipe: Pipeline, name: str, kind: Any, ctx: SpanContext, parent: Optional[SpanContext]) -> None:
        self.pipe, self.name, self.kind, self.ctx, self.parent = pipe, name, kind, ctx, parent
        self.start = _time_ns()

    def context(self) -> Any:
        return _in_context(NonRecordingSpan(self.ctx))

    def get_span_context(self) -> SpanContext:
        return self.ctx

    def later(self, build: Any, args: tuple) -> None:
        """End now; `build(*args)` → (new name or None, attributes, status or None) runs in the thread."""
        if self.ctx.trace_flags.sampled:
            self.pipe.put((self.name, self.kind, self.ctx, self.parent, build, args, self.start, _time_ns()))
