"""Spans of LMP and tool calls, with the GenAI semantic conventions' attributes.

Imported only when OpenTelemetry is on. On the caller's path: one `start_span` with the identity
attributes, one context attach/detach, and at the end one `set_attributes` and `end`; the
BatchSpanProcessor exports in its own thread.
"""

from __future__ import annotations

import os
from typing import Any, Optional
from urllib.parse import urlsplit

from opentelemetry import context as _context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import commits

_attach, _detach, _in_context = _context.attach, _context.detach, trace.set_span_in_context
_CLIENT, _INTERNAL = SpanKind.CLIENT, SpanKind.INTERNAL
_fast = False  # spans go through `fast` (our own provider): attributes are built in its thread
#: Message content goes into spans only when the conventions' switch says so.
capture_content = False

#: ell/OpenAI parameter → GenAI request attribute.
_REQUEST = {
    "temperature": "gen_ai.request.temperature", "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens", "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k", "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty", "seed": "gen_ai.request.seed",
}
#: Hosts of OpenAI-compatible APIs → the conventions' gen_ai.provider.name (anything else: "openai").
_PROVIDERS = {
    "api.openai.com": "openai", "api.deepseek.com": "deepseek", "api.groq.com": "groq", "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai", "api.anthropic.com": "anthropic", "generativelanguage.googleapis.com": "gcp.gemini",
    "api.perplexity.ai": "perplexity",
}
_servers: dict[int, dict[str, Any]] = {}


def _open(name: str, kind: Any, attrs: dict[str, Any]) -> tuple[Any, Any]:
    """(span, context to attach): replaced by `use`."""
    raise RuntimeError("ell.otel is not configured")


def use(where: Any) -> None:
    """Open spans on `where`: an SDK tracer (a provider of the program's own) or a `fast.Pipeline`."""
    global _open, _fast, capture_content
    _fast = not hasattr(where, "start_span")
    if not _fast:
        start = where.start_span

        def _open(name: str, kind: Any, attrs: dict[str, Any]) -> tuple[Any, Any]:
            span = start(name, kind=kind, attributes=attrs)
            return span, _in_context(span)
    else:
        pipe_open = where.open

        def _open(name: str, kind: Any, attrs: dict[str, Any]) -> tuple[Any, Any]:
            span = pipe_open(name, kind, attrs)
            return span, span.context()
    capture_content = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower() == "true"


def _identity(version: Any, invocation_id: str) -> dict[str, Any]:
    """What leads from a span back to git: LMP name, version id, version commit, invocation id."""
    attrs: dict[str, Any] = {"ell.invocation.id": invocation_id}
    if version is not None:
        name, vid = version.name, version.version_id
        attrs["gen_ai.prompt.name"] = name  # the conventions' prompt attribute
        attrs[commits.NAME] = name
        attrs[commits.VERSION] = vid
        commit = commits.get(name, vid)
        if commit is not None:
            attrs[commits.ATTR] = commit
    return attrs


def _ids(span: Any) -> Any:
    """The span's SpanContext ((trace id, span id, ...) as integers; formatted only for a record),
    None when the sampler dropped it: a record must not point at a trace no backend has."""
    ctx = span.get_span_context()
    return ctx if ctx.trace_flags.sampled else None


def _chat_end(version: Any, invocation_id: str, model: Optional[str], params: dict[str, Any], spec_model: Optional[str],
              client: Any, meta: Optional[dict], usage: Optional[dict], error: Optional[BaseException], cached: bool,
              messages: list[Any], outputs: list[Any]) -> tuple[Optional[str], dict[str, Any], Optional[Status]]:
    """(new span name or None, every attribute but the operation's, status or None), from what a
    call left (its own fields, not the call: the pipeline keeps these until its thread runs, and
    the fewer objects a call leaves alive the less the garbage collector costs the caller)."""
    attrs = _identity(version, invocation_id)
    attrs["gen_ai.operation.name"] = "chat"
    attrs.update(_request(model, params, client))
    if usage:
        _usage(attrs, usage)
    if meta:
        for key, attr in (("id", "gen_ai.response.id"), ("model", "gen_ai.response.model")):
            if meta.get(key):
                attrs[attr] = str(meta[key])
        reasons = [str(r) for r in meta.get("finish_reasons") or () if r]
        if reasons:
            attrs["gen_ai.response.finish_reasons"] = reasons
    if cached:
        attrs["ell.cached"] = True
    if capture_content:
        _content(attrs, messages, outputs, meta)
    status = None
    if error is not None:
        attrs["error.type"] = type(error).__qualname__
        status = Status(StatusCode.ERROR, _text(error))
    name = f"chat {model}" if model and model != spec_model else None
    return name, attrs, status


class ChatSpan:
    """The span of one LMP call (`ell.lmp.call.Call`): current from `begin` until `detach`. With our
    own provider (`fast`) attributes are built in the background from the call's own objects."""

    __slots__ = ("span", "token", "client", "meta")

    def __init__(self, call: Any) -> None:
        model = call.spec.model
        name = f"chat {model}" if model else "chat"
        self.span, ctx = _open(name, _CLIENT, None if _fast else {**_identity(call.version, call.id),
                                                                  "gen_ai.operation.name": "chat"})
        self.token = _attach(ctx)
        self.client: Any = None
        self.meta: Optional[dict[str, Any]] = None

    def detach(self) -> None:
        token, self.token = self.token, None
        if token is not None:
            try:
                _detach(token)
            except Exception:
                pass

    def end(self, call: Any, outputs: list[Any], usage: Optional[dict], error: Optional[BaseException],
            cached: bool) -> Any:
        """Request, response, usage and error attributes; ends the span; returns its SpanContext."""
        span = self.span
        facts = (call.version, call.id, call.model, call.params, call.spec.model, self.client, self.meta, usage, error,
                 cached, call.messages if capture_content else (), outputs if capture_content else ())
        if _fast:
            span.later(_chat_end, facts)
            return _ids(span)
        try:
            name, attrs, status = _chat_end(*facts)
            if status is not None:
                span.set_status(status)
            span.set_attributes(attrs)
            if name:
                span.update_name(name)
        finally:
            span.end()
        return _ids(span)


def _tool_start(call: Any) -> dict[str, Any]:
    wrapper = call.wrapper
    attrs = _identity(call.version, call.id)
    attrs.update({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": _tool_name(call),
                  "gen_ai.tool.type": "function"})
    tool_call_id = next((str(o) for o in call.extra_origins if o), None)
    if tool_call_id:
        attrs["gen_ai.tool.call.id"] = tool_call_id
    doc = (getattr(wrapper, "__doc__", None) or "").strip()
    if doc:
        attrs["gen_ai.tool.description"] = doc.splitlines()[0][:500]
    if capture_content:
        from ..redaction import redact_value

        attrs["gen_ai.tool.call.arguments"] = _json(redact_value(wrapper.binder.bind(call.args, call.kwargs)))
    return attrs


def _tool_name(call: Any) -> str:
    return getattr(call.wrapper, "__name__", "tool")


def _tool_end(result: Any, error: Optional[BaseException]) -> tuple[dict[str, Any], Optional[Status]]:
    if error is not None:
        return {"error.type": type(error).__qualname__}, Status(StatusCode.ERROR, _text(error))
    if capture_content:
        from ..redaction import redact_value

        return {"gen_ai.tool.call.result": _json(redact_value(result))}, None
    return {}, None


def _tool_later(call: Any, result: Any, error: Optional[BaseException]) -> tuple[None, dict[str, Any], Optional[Status]]:
    attrs, status = _tool_end(result, error)
    return None, {**_tool_start(call), **attrs}, status


class ToolSpan:
    """An ``execute_tool`` span for one tool call (`ell.lmp.tracking.PlainCall` of an `@ell.tool`)."""

    __slots__ = ("span", "token", "call")

    def __init__(self, call: Any) -> None:
        self.call = call
        self.span, ctx = _open(f"execute_tool {_tool_name(call)}", _INTERNAL, None if _fast else _tool_start(call))
        self.token = _attach(ctx)

    detach = ChatSpan.detach

    def end(self, result: Any, error: Optional[BaseException]) -> Any:
        span = self.span
        if _fast:
            span.later(_tool_later, (self.call, result, error))
            return _ids(span)
        try:
            attrs, status = _tool_end(result, error)
            if status is not None:
                span.set_status(status)
            if attrs:
                span.set_attributes(attrs)
        finally:
            span.end()
        return _ids(span)


def _request(model: Optional[str], params: dict[str, Any], client: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = dict(_server(client))
    if model:
        attrs["gen_ai.request.model"] = model
    for key, value in params.items():
        attr = _REQUEST.get(key)
        if attr is not None and type(value) in (int, float):
            attrs[attr] = value
        elif key == "stop" and value:
            attrs["gen_ai.request.stop_sequences"] = [value] if isinstance(value, str) else [str(v) for v in value]
        elif key == "n" and type(value) is int and value != 1:
            attrs["gen_ai.request.choice.count"] = value
        elif key == "response_format" and value is not None:
            attrs["gen_ai.output.type"] = "json"
    return attrs


def _server(client: Any) -> dict[str, Any]:
    """gen_ai.provider.name, server.address and server.port of a client (cached per client)."""
    found = _servers.get(id(client))
    if found is not None and found["_client"] is client:
        return found["attrs"]
    attrs: dict[str, Any] = {"gen_ai.provider.name": "openai"}
    url = getattr(client, "base_url", None)
    if url is not None:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        attrs["gen_ai.provider.name"] = _PROVIDERS.get(host, "azure.ai.openai" if host.endswith(".azure.com") else "openai")
        if host:
            attrs["server.address"] = host
            attrs["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
    if len(_servers) > 256:  # per-loop async clients come and go
        _servers.clear()
    _servers[id(client)] = {"_client": client, "attrs": attrs}
    return attrs


def _usage(attrs: dict[str, Any], usage: dict[str, Any]) -> None:
    for key, attr in (("prompt_tokens", "gen_ai.usage.input_tokens"), ("completion_tokens", "gen_ai.usage.output_tokens")):
        value = usage.get(key)
        if type(value) is int:
            attrs[attr] = value
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if type(details) is dict else None
    if type(cached) is int and cached:
        attrs["gen_ai.usage.cache_read.input_tokens"] = cached


def _content(attrs: dict[str, Any], messages: list[Any], outputs: list[Any], meta: Optional[dict]) -> None:
    """gen_ai.system_instructions / input.messages / output.messages, redacted as git records are."""
    from ..redaction import redact_value

    system = [_parts(m) for m in messages if getattr(m, "role", None) == "system"]
    inputs = [{"role": m.role, "parts": _parts(m)} for m in messages if getattr(m, "role", None) != "system"]
    reasons = list((meta or {}).get("finish_reasons") or ())
    out = []
    for i, m in enumerate(outputs):
        entry: dict[str, Any] = {"role": getattr(m, "role", "assistant"), "parts": _parts(m)}
        if i < len(reasons) and reasons[i]:
            entry["finish_reason"] = reasons[i]
        out.append(entry)
    if system:
        attrs["gen_ai.system_instructions"] = _json(redact_value([p for parts in system for p in parts]))
    attrs["gen_ai.input.messages"] = _json(redact_value(inputs))
    attrs["gen_ai.output.messages"] = _json(redact_value(out))


def _parts(message: Any) -> list[dict[str, Any]]:
    content = getattr(message, "content", None)
    if content is None:
        return [{"type": "text", "content": str(message)}]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else [content]:
        if isinstance(block, str):
            parts.append({"type": "text", "content": str(block)})
        elif getattr(block, "text", None) is not None:
            parts.append({"type": "text", "content": str(block.text)})
        elif getattr(block, "tool_call", None) is not None:
            tc = block.tool_call
            parts.append({"type": "tool_call", "id": str(tc.tool_call_id), "name": getattr(tc.tool, "__name__", "?"),
                          "arguments": tc.params})
        elif getattr(block, "tool_result", None) is not None:
            tr = block.tool_result
            parts.append({"type": "tool_call_response", "id": str(tr.tool_call_id),
                          "response": " ".join(str(b.text) for b in tr.result if getattr(b, "text", None) is not None)})
        elif getattr(block, "parsed", None) is not None:
            parts.append({"type": "text", "content": block.parsed.model_dump_json()})
        else:
            parts.append({"type": "blob"})  # images and audio stay out of spans
    return parts


def _json(value: Any) -> str:
    from ..serialize import dumps

    return dumps(value).decode("utf-8", "replace")


def _text(error: BaseException) -> str:
    from ..redaction import redact_text

    try:
        return redact_text(str(error)[:500])
    except Exception:
        return type(error).__name__
