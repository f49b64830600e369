"""The OpenTelemetry bridge: every LMP call a span per the GenAI semantic conventions.

``ell.init(otel=True)`` or ``ELL_OTEL=1`` turns it on (``pip install 'ell-git[otel]'``). Spans go to
the TracerProvider the program already set, else to one built the standard way (OTLP over HTTP or
gRPC from ``OTEL_EXPORTER_OTLP_*``, ``OTEL_SERVICE_NAME``, a BatchSpanProcessor). Each span names
the LMP, its version id, the version's commit and the invocation id, so a trace leads back to
``git show <commit>``.

This module imports nothing of OpenTelemetry: the call path reads `active` (a bool) and, only when
it is True, calls into `ell.otel.spans`, imported by `configure`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

_spans: Any = None  # ell.otel.spans once configured


def env_enabled() -> bool:
    return os.environ.get("ELL_OTEL", "").strip().lower() in ("1", "true", "yes", "on")


#: Whether calls make spans; read on every call, so a plain module attribute. With ``ELL_OTEL=1``
#: and no `ell.init`, the first call configures the bridge.
active: bool = env_enabled()


def configure(enabled: Any = None, *, tracer_provider: Any = None) -> bool:
    """Turn spans on or off (None: ``ELL_OTEL``); returns whether they are on.

    `tracer_provider` (or a TracerProvider as `enabled`): use this provider instead of the global
    one or one built from the environment. Without the OpenTelemetry SDK installed it warns once
    and stays off.
    """
    global active, _spans
    if enabled is not None and not isinstance(enabled, bool):
        enabled, tracer_provider = True, enabled
    if enabled is None:
        enabled = env_enabled() or tracer_provider is not None
    if not enabled:
        active = False
        return False
    try:
        from . import setup, spans
    except ImportError as exc:
        warnings.warn(f"ell: otel=True needs OpenTelemetry ({exc.name or exc} is missing): "
                      "pip install 'ell-git[otel]'; calls go on without spans", RuntimeWarning, stacklevel=3)
        active = False
        return False
    spans.use(setup.tracer(tracer_provider))
    _spans = spans
    active = True
    return True


def begin_chat(call: Any) -> Any:
    """A started span for an LMP call (`ell.lmp.call.Call`), current until `detach`; None on failure."""
    try:
        return (_spans or _configured()).ChatSpan(call)
    except Exception as exc:  # tracing never fails a call
        _warn("span", f"could not start a span: {exc}")
        return None


def begin_tool(call: Any) -> Any:
    """A started ``execute_tool`` span for a tool call (`ell.lmp.tracking.PlainCall`); None on failure."""
    try:
        return (_spans or _configured()).ToolSpan(call)
    except Exception as exc:
        _warn("span", f"could not start a span: {exc}")
        return None


def _configured() -> Any:
    if not configure(True):
        raise RuntimeError("OpenTelemetry is not installed")
    return _spans


def flush(timeout: float = 10.0) -> bool:
    """Export what is buffered (tests, short scripts); True when done in time."""
    if _spans is None:
        return True
    from . import setup

    return setup.flush(timeout)


def _warn(key: str, message: str) -> None:
    from ..warn import warn_once

    warn_once("otel-" + key, message)


__all__ = ["active", "begin_chat", "begin_tool", "configure", "env_enabled", "flush"]
