"""The OpenAI provider: any OpenAI-compatible endpoint through the official `openai` SDK.

Handles sync and async clients, tools, structured outputs (pydantic `response_format`), images,
`n` choices and streaming (with the usage chunk).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, AsyncIterator, Callable, Iterator, Optional

import openai
from pydantic import BaseModel

from ..types import ContentBlock, Message, ToolCall
from ..types.lmp import params_model_of
from ..types.lstr import lstr, traced
from .base import ModelRefusalError, Provider, ProviderCall, ProviderResult


def _is_model_class(fmt: Any) -> bool:
    return isinstance(fmt, type) and issubclass(fmt, BaseModel)


def tool_schema(tool: Any) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool.__name__,
            "description": (tool.__doc__ or "").strip(),
            "parameters": params_model_of(tool).model_json_schema(),  # type: ignore[union-attr]
        },
    }


def _block_to_openai(block: ContentBlock) -> dict[str, Any]:
    if block.image is not None:
        image_url: dict[str, Any] = {"url": block.image.as_url()}
        if block.image.detail:
            image_url["detail"] = block.image.detail
        return {"type": "image_url", "image_url": image_url}
    if block.text is not None:
        return {"type": "text", "text": str(block.text)}
    if block.parsed is not None:
        return {"type": "text", "text": block.parsed.model_dump_json()}
    raise ValueError(f"content of type {block.type} cannot be sent to an OpenAI-compatible model")


def messages_to_openai(messages: list[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if len(m.content) == 1 and m.content[0].text is not None:  # fast path: one text block
            out.append({"role": m.role, "content": str(m.content[0].text)})
        elif m.tool_calls:
            out.append(
                {
                    "role": "assistant",
                    "content": m.text_only or None,
                    "tool_calls": [
                        {
                            "id": str(tc.tool_call_id),
                            "type": "function",
                            "function": {"name": tc.name, "arguments": json.dumps(tc.arguments(), ensure_ascii=False)},
                        }
                        for tc in m.tool_calls
                    ],
                }
            )
        elif m.tool_results:
            for tr in m.tool_results:
                out.append({"role": "tool", "tool_call_id": str(tr.tool_call_id), "content": tr.text_only})
        elif m.role == "system" or all(b.text is not None for b in m.content):
            out.append({"role": m.role, "content": str(m.text_only)})  # plain strings suit every server
        else:
            out.append({"role": m.role, "content": [_block_to_openai(b) for b in m.content]})
    return out


def _request(call: ProviderCall) -> tuple[dict[str, Any], bool]:
    """The request parameters and whether to use the structured-output `parse` endpoint."""
    params = dict(call.api_params)
    params["model"] = call.model
    params["messages"] = messages_to_openai(call.messages)
    if call.tools:
        params["tools"] = [tool_schema(t) for t in call.tools]
        params.setdefault("tool_choice", "auto")
    return params, _is_model_class(params.get("response_format"))


def _usage(usage: Any) -> dict[str, Any]:
    """The usage object as the provider reported it (cost is computed from it when history is read):
    token counts, the details (cached input, reasoning, audio tokens) and provider-specific counts
    (e.g. DeepSeek's prompt_cache_hit_tokens). Zero details are left out (~170 bytes a call).
    Attributes are read directly: `model_dump` would cost the caller ~10 µs a call."""
    if usage is None:
        return {}
    out: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens or 0,
        "completion_tokens": usage.completion_tokens or 0,
        "total_tokens": usage.total_tokens or 0,
    }
    for key in ("prompt_tokens_details", "completion_tokens_details"):
        details = _counts(getattr(usage, key, None))
        if details:
            out[key] = details
    extra = getattr(usage, "__pydantic_extra__", None)  # fields the SDK does not declare
    if extra:
        for key, value in extra.items():
            if type(value) is int and value:
                out[key] = value
            elif isinstance(value, dict) and (counts := _counts(value)):
                out[key] = counts
    return out


def _counts(details: Any) -> dict[str, int]:
    """The non-zero integer counts of a details object (a pydantic model or a dict)."""
    if details is None:
        return {}
    items = details if isinstance(details, dict) else details.__dict__
    out = {}
    for k, v in items.items():  # a loop, not a comprehension: this runs on the caller's thread
        if v and type(v) is int:
            out[k] = v
    extra = None if isinstance(details, dict) else getattr(details, "__pydantic_extra__", None)
    if extra:
        out.update((k, v) for k, v in extra.items() if v and type(v) is int)
    return out


def _tool_call(call: ProviderCall, name: str, call_id: str, arguments: str) -> ToolCall:
    tool = call.tool_by_name(name)
    if tool is None:
        raise ValueError(f"the model called tool {name!r}, which this LMP does not provide")
    try:
        params = json.loads(arguments or "{}")
        error = None if isinstance(params, dict) else "tool arguments are not a JSON object"
    except json.JSONDecodeError as exc:
        params, error = {}, f"the model sent invalid JSON arguments for tool {name!r}: {exc}"
    tc = ToolCall(tool=tool, params=params if not error else {}, tool_call_id=lstr(call_id, call.origin_id))
    if error:
        tc.error = error
        tc.params = {"__raw_arguments__": arguments}
    return tc


def _message_from_choice(call: ProviderCall, message: Any) -> Message:
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise ModelRefusalError(f"the model refused: {refusal}")
    # Only `parse` results have the field; a missing attribute costs pydantic an exception (~1.5 µs).
    parsed = message.__dict__.get("parsed") if hasattr(message, "__dict__") else getattr(message, "parsed", None)
    if parsed is None and message.content is not None and not message.tool_calls:  # plain text: the hot path
        return Message.of_text(message.role or "assistant", traced(message.content, call.origin_id))
    blocks: list[ContentBlock] = []
    if parsed is not None:
        blocks.append(ContentBlock(parsed=parsed))
    elif message.content:
        blocks.append(ContentBlock(text=lstr(message.content, call.origin_id)))
    for tc in message.tool_calls or []:
        blocks.append(ContentBlock(tool_call=_tool_call(call, tc.function.name, tc.id, tc.function.arguments)))
    if not blocks:
        blocks.append(ContentBlock(text=lstr("", call.origin_id)))
    return Message(role=message.role or "assistant", content=blocks)


def _result(call: ProviderCall, params: dict[str, Any], completion: Any) -> ProviderResult:
    messages = [_message_from_choice(call, c.message) for c in completion.choices]
    # Response id, model and finish reasons: what an OpenTelemetry span reports (ell.otel).
    meta = {"id": completion.id, "model": completion.model,
            "finish_reasons": [c.finish_reason for c in completion.choices]}
    return ProviderResult(messages, _usage(completion.usage), _sent(call, params), meta)


def _sent(call: ProviderCall, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters sent, without messages and model: the call's own unless tools were added."""
    if not call.tools:
        return call.api_params
    return {k: v for k, v in params.items() if k not in ("messages", "model")}


class _StreamAssembler:
    """Collects chunks (text and tool-call deltas per choice) into the final messages."""

    def __init__(self, call: ProviderCall, params: dict[str, Any]) -> None:
        self.call, self.params = call, params
        self.text: dict[int, list[str]] = defaultdict(list)
        self.tools: dict[int, dict[int, dict[str, str]]] = defaultdict(dict)
        self.usage: dict[str, Any] = {}
        self.refusal: list[str] = []
        self.meta: dict[str, Any] = {"finish_reasons": []}

    def feed(self, chunk: Any) -> Optional[str]:
        """Absorb one chunk; return the text delta of choice 0, if any."""
        if chunk.usage is not None:
            self.usage = _usage(chunk.usage)
        if "id" not in self.meta:
            self.meta["id"], self.meta["model"] = getattr(chunk, "id", None), getattr(chunk, "model", None)
        delta_text = None
        for choice in chunk.choices:
            if choice.finish_reason:
                self.meta["finish_reasons"].append(choice.finish_reason)
            d = choice.delta
            if d.content:
                self.text[choice.index].append(d.content)
                if choice.index == 0:
                    delta_text = d.content
            if getattr(d, "refusal", None):
                self.refusal.append(d.refusal)
            for tc in d.tool_calls or []:
                slot = self.tools[choice.index].setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                if tc.id:
                    slot["id"] = tc.id
                if tc.function and tc.function.name:
                    slot["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    slot["arguments"] += tc.function.arguments
        return delta_text

    def result(self) -> ProviderResult:
        if self.refusal:
            raise ModelRefusalError(f"the model refused: {''.join(self.refusal)}")
        messages = []
        for i in sorted(set(self.text) | set(self.tools)) or [0]:
            blocks = [ContentBlock(text=lstr("".join(self.text.get(i, [])), self.call.origin_id))]
            for _, t in sorted(self.tools.get(i, {}).items()):
                blocks.append(ContentBlock(tool_call=_tool_call(self.call, t["name"], t["id"], t["arguments"])))
            if len(blocks) > 1 and not blocks[0].text:
                blocks = blocks[1:]
            messages.append(Message(role="assistant", content=blocks))
        sent = {k: v for k, v in self.params.items() if k not in ("messages", "model")}  # with stream options
        return ProviderResult(messages, self.usage, sent, self.meta)


def _stream_params(params: dict[str, Any]) -> dict[str, Any]:
    params = dict(params)
    params["stream"] = True
    params.setdefault("stream_options", {"include_usage": True})
    return params


class OpenAIProvider(Provider):
    def call(self, call: ProviderCall) -> ProviderResult:
        params, parse = _request(call)
        completions = call.client.chat.completions
        completion = completions.parse(**params) if parse else completions.create(**params)
        return _result(call, params, completion)

    async def acall(self, call: ProviderCall) -> ProviderResult:
        params, parse = _request(call)
        completions = call.client.chat.completions
        completion = await (completions.parse(**params) if parse else completions.create(**params))
        return _result(call, params, completion)

    def stream(self, call: ProviderCall) -> tuple[Iterator[str], Callable[[], ProviderResult]]:
        params, parse = _request(call)
        if parse:
            raise ValueError("stream=True cannot be combined with a pydantic response_format")
        params = _stream_params(params)
        assembler = _StreamAssembler(call, params)

        def deltas() -> Iterator[str]:
            for chunk in call.client.chat.completions.create(**params):
                text = assembler.feed(chunk)
                if text:
                    yield text

        return deltas(), assembler.result

    def astream(self, call: ProviderCall) -> tuple[AsyncIterator[str], Callable[[], ProviderResult]]:
        params, parse = _request(call)
        if parse:
            raise ValueError("stream=True cannot be combined with a pydantic response_format")
        params = _stream_params(params)
        assembler = _StreamAssembler(call, params)

        async def deltas() -> AsyncIterator[str]:
            async for chunk in await call.client.chat.completions.create(**params):
                text = assembler.feed(chunk)
                if text:
                    yield text

        return deltas(), assembler.result


openai_provider = OpenAIProvider()


def register(config: Any) -> None:
    """The provider of OpenAI clients, unless one was registered already (this module is imported
    on first use: a user's own registration may come first)."""
    for client_type in (openai.OpenAI, openai.AsyncOpenAI):
        if client_type not in config.providers:
            config.register_provider(openai_provider, client_type)
