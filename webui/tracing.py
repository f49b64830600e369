"""OpenTelemetry links and sampled counts in the UI.

`ell web --trace-url TEMPLATE` (or ``ELL_TRACE_URL``) links an invocation's trace to the user's
tracing UI: ``{trace_id}`` and ``{span_id}`` are filled in, e.g.
``http://localhost:16686/trace/{trace_id}`` (Jaeger) or
``http://localhost:6006/projects/default/traces/{trace_id}`` (Phoenix).
Templates get `trace_link(record)` and `sampled_calls(name=None)` (`sampled`; see `register`).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app

_HEX = re.compile(r"^[0-9a-f]{8,64}\Z")


def check_template(template: str | None) -> str | None:
    """The template if it is an http(s) URL with only {trace_id}/{span_id} fields; ValueError otherwise."""
    if not template:
        return None
    if not template.startswith(("http://", "https://")):
        raise ValueError(f"--trace-url must be an http(s) URL, got {template!r}")
    try:
        template.format(trace_id="0", span_id="0")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"--trace-url may hold {{trace_id}} and {{span_id}} only ({exc})") from None
    return template


def trace_link(record: dict[str, Any] | None) -> str | None:
    """The tracing UI's URL for an invocation record, when a template is set and it has a trace."""
    template = current_app.config.get("ELL_TRACE_URL")
    if not template or not record:
        return None
    trace_id, span_id = record.get("trace_id"), record.get("span_id") or ""
    if type(trace_id) is not str or not _HEX.match(trace_id) or (span_id and not _HEX.match(str(span_id))):
        return None  # ids go into a URL: only hex, as OpenTelemetry writes them
    return template.format(trace_id=trace_id, span_id=span_id)


def sampled(name: str | None = None) -> Any:
    """The recording policies calls were kept under: a list for LMP `name`, else name → list."""
    reader = current_app.extensions["ell_data"].reader
    found = getattr(reader, "sampling", None)
    policies = found(name) if found is not None else {}
    return policies.get(name, []) if name is not None else policies


def register(app: Flask, trace_url: str | None) -> None:
    app.config["ELL_TRACE_URL"] = check_template(trace_url)
    app.jinja_env.globals.update(trace_link=trace_link, sampled_calls=sampled)
