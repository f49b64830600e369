"""The caller's side of spans when ell built the TracerProvider: a few µs instead of the SDK's span.

An SDK span (ids, sampler, attribute checks under locks, a ReadableSpan copy at its end) costs
tens of µs of the caller's time, more than ell's whole call. With our own provider the caller only
makes the span's ids, puts a non-recording span with them into the context (so nested LMPs and
any other instrumentation nest under it), and at the end appends a tuple to a bounded deque. A
daemon thread turns the tuples into ReadableSpans and hands them to the provider's
BatchSpanProcessor, which batches and exports as usual. With a TracerProvider of the program's
own, `spans` uses the SDK's spans instead (its processors are its own business).
"""

from __future__ import annotations

import collections
import os
import random
import threading
import time
from typing import Any, Optional

from opentelemetry import context as _context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags, TraceState

from ..__version__ import __version__

#: Spans waiting for the thread; the oldest are dropped beyond this (memory stays bounded).
MAX_WAITING = 4096
_SAMPLED, _NOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.DEFAULT)
_UNSET = Status(StatusCode.UNSET)
_NO_STATE = TraceState()
_new_tuple = tuple.__new__
_bits = random.getrandbits
_time_ns = time.time_ns
_attach, _detach = _context.attach, _context.detach
_current_span, _in_context = trace.get_current_span, trace.set_span_in_context


class Pipeline:
    """Our provider's sampler, resource and BatchSpanProcessor, fed from a thread of its own."""

    def __init__(self, provider: Any, processor: Any, accepting: Any) -> None:
        self.sampler = provider.sampler
        # The SDK's default (parent based, always on) samples every root: no need to ask it.
        self.default_sampler = os.environ.get("OTEL_TRACES_SAMPLER", "").strip().lower() in ("", "parentbased_always_on")
        self.resource = provider.resource
        self.scope = InstrumentationScope("ell", __version__)
        self.processor = processor
        self.accepting = accepting  # False while the collector is known to be down
        self.waiting: collections.deque = collections.deque(maxlen=MAX_WAITING)
        self.wake = threading.Event()
        self.idle = threading.Event()
        self.thread: Optional[threading.Thread] = None
        self.pid = 0

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
        self.pid = _pid()
        self.thread = threading.Thread(target=self._run, name="ell-otel", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait(0.2)
            self.wake.clear()
            self.drain()

    def drain(self) -> None:
        """Hand every waiting span to the BatchSpanProcessor (or drop them while the collector is down)."""
        waiting = self.waiting
        while waiting:
            try:
                name, kind, ctx, parent, build, args, start, end = waiting.popleft()
            except IndexError:
                break
            if not self.accepting():
                continue
            try:
                renamed, attrs, status = build(*args)  # the attributes, from what the call left
                self.processor.on_end(ReadableSpan(
                    name=renamed or name, context=ctx, parent=parent, resource=self.resource, attributes=attrs,
                    kind=kind, status=status or _UNSET, start_time=start, end_time=end,
                    instrumentation_scope=self.scope))
            except Exception as exc:  # one odd call must not stop the thread
                from ..warn import warn_once

                warn_once("otel-build", f"could not build a span: {type(exc).__name__}: {exc}")


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
