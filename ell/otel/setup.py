"""Where spans go: the user's TracerProvider, or one configured the standard way.

Our own provider exports OTLP (``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL``:
``http/protobuf``, the default, or ``grpc``; endpoint, headers and timeout from the usual
``OTEL_EXPORTER_OTLP_*`` variables, which the exporters read themselves) through a
BatchSpanProcessor, in an exporter process of its own (`shipping`; in this process when that
cannot run): the caller only appends to a bounded queue. `Guarded` wraps the exporter so that a
dead collector costs one warning and, for a while, nothing at all.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import warnings
from typing import Any, Optional, Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from ..__version__ import __version__

_lock = threading.Lock()
_own: Optional[TracerProvider] = None  # the provider we built (reused by later configure calls)
_pipeline: Any = None  # its caller-side feed (ell.otel.fast)
_provider: Any = None  # the provider in use
_child_gone = False  # the exporter process died: export in this process from then on

#: The exporters' loggers: their per-batch failure messages become `Guarded`'s one warning.
_EXPORTERS = ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "opentelemetry.exporter.otlp.proto.http",
              "opentelemetry.exporter.otlp.proto.grpc.exporter", "opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
#: The batch processor's loggers ("queue is full"...): quiet only while the collector is down.
_PROCESSOR = ("opentelemetry.sdk.trace.export", "opentelemetry.sdk._shared_internal")


def tracer(provider: Any = None) -> Any:
    """Where spans open (see `spans.use`): ell's tracer on `provider`, else on the global provider
    if the program set one, else our own provider's fast feed (`fast.Pipeline`)."""
    global _provider
    with _lock:
        if provider is None:
            current = trace.get_tracer_provider()
            # A proxy or no-op provider means nobody configured tracing: build ours.
            if type(current).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider"):
                provider = current
        if provider is None:
            _provider = _own_provider()
            return _pipeline
        _provider = provider
        return provider.get_tracer("ell", __version__)


#: How long the program's exit waits for the exporter process to send what it holds.
EXIT_SECONDS = 30.0


def _own_provider() -> TracerProvider:
    global _own, _pipeline
    if _own is None:
        from opentelemetry.sdk.resources import Resource

        from . import fast, shipping

        # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; the sampler comes from
        # OTEL_TRACES_SAMPLER, as the SDK does it.
        provider = TracerProvider(resource=Resource.create({}))
        env = dict(os.environ)  # the exporter's settings as they are now, for a process started later

        def new_sink() -> Any:
            if not _child_gone and shipping.usable_interpreter() and os.environ.get("ELL_OTEL_EXPORT") != "thread":
                sink = shipping.ChildSink(env, provider.resource, _in_process_after)
                try:
                    sink.spawn()
                    return sink
                except OSError as exc:
                    _warn(f"could not start the span exporter process ({exc}); exporting in this process")
            return _local_sink(provider)

        _pipeline = fast.Pipeline(provider.sampler, new_sink)
        atexit.register(close)  # after the provider's own hook, so it runs before it
        _own = provider
    return _own


def _local_sink(provider: TracerProvider) -> Any:
    from . import shipping

    exporter = Guarded(exporter_from_env())
    processor = BatchSpanProcessor(exporter)
    provider.add_span_processor(processor)  # its shutdown at exit flushes the processor
    return shipping.LocalSink(processor, exporter.accepting, provider.resource, scope())


def _in_process_after(why: str) -> None:
    """The exporter process is gone: the next spans are exported here (what it held is lost)."""
    global _child_gone
    _warn(f"the span exporter process stopped ({why}); exporting spans in this process")
    _child_gone = True
    if _pipeline is not None:
        _pipeline.sink = None  # the next drain makes the local one (no lock: this may run under it)


def _warn(message: str) -> None:
    from ..warn import warn_once

    warn_once("otel-exporter", message)


def scope() -> InstrumentationScope:
    return InstrumentationScope("ell", __version__)


def close() -> None:
    """At exit: every waiting span to the sink, then the exporter process's last export."""
    pipeline = _pipeline
    if pipeline is None or (pipeline.sink is None and not pipeline.waiting):
        return
    try:
        pipeline.drain()
        pipeline.current_sink().close(EXIT_SECONDS)
    except Exception:
        pass


def exporter_from_env() -> SpanExporter:
    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf").strip().lower()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http()


class _Quiet(logging.Filter):
    """Keeps the exporters' failure records for `Guarded`'s warning instead of logging each one;
    drops the processor's while the collector is down."""

    def __init__(self, exporter: bool) -> None:
        super().__init__()
        self.exporter = exporter

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.exporter:
            return not Guarded.down
        if record.levelno >= logging.WARNING:
            try:
                Guarded.reason = record.getMessage()[:300]
            except Exception:
                pass
            return False
        return True


class Guarded(SpanExporter):
    """The real exporter, plus: one warning (through `warn`) for an unreachable collector, and a pause of `PAUSE` seconds after a
    failure (batches meanwhile are dropped: memory stays bounded and exit does not wait)."""

    PAUSE = 10.0
    down = False
    reason = ""  # the exporter's last failure message

    def __init__(self, inner: SpanExporter, warn: Any = None) -> None:
        self.inner = inner
        self.warn = warn or (lambda message: warnings.warn(message, RuntimeWarning, stacklevel=4))
        self.paused_until = 0.0
        self.busy_since = 0.0  # an export in progress since (its retries can take the exporter's timeout)
        self.warned = False
        for names, exporter in ((_EXPORTERS, True), (_PROCESSOR, False)):
            quiet = _Quiet(exporter)
            for name in names:
                logging.getLogger(name).addFilter(quiet)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if time.monotonic() < self.paused_until:
            return SpanExportResult.FAILURE
        self.busy_since = time.monotonic()
        try:
            result = self.inner.export(spans)
        except Exception as exc:
            result, why = SpanExportResult.FAILURE, f"{type(exc).__name__}: {exc}"
        else:
            why = Guarded.reason or "the collector did not accept them"
        finally:
            self.busy_since = 0.0
        if result is SpanExportResult.SUCCESS:
            Guarded.down = False
            return result
        Guarded.down = True
        self.paused_until = time.monotonic() + self.PAUSE
        if not self.warned:
            self.warned = True
            endpoint = getattr(self.inner, "_endpoint", None) or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
            self.warn(f"ell: cannot export spans to {endpoint or 'the OTLP collector'} ({why}); calls go on, "
                      f"spans are dropped while it is unreachable (retried every {self.PAUSE:g} s)")
        return result

    def accepting(self) -> bool:
        """False while the collector is known to be down, or one export has been trying for over a
        second (retrying a dead collector): spans are dropped before batching then."""
        now = time.monotonic()
        if self.busy_since and now - self.busy_since > 1.0:
            return False
        return not Guarded.down or now >= self.paused_until

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def flush(timeout: float = 10.0) -> bool:
    pipeline = _pipeline
    if pipeline is not None and _provider is _own:
        pipeline.drain()
        try:
            return bool(pipeline.current_sink().flush(timeout))
        except Exception:
            return False
    fn = getattr(_provider, "force_flush", None)
    if fn is None:
        return True
    try:
        return bool(fn(int(timeout * 1000)))
    except Exception:
        return False
