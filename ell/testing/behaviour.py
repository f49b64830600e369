"""The fake model's mind: decide each choice's message for a request.

Scripted ``Reply`` objects win; whatever they leave unset is filled by the
deterministic default behaviour:

* the conversation ends with ``tool`` results -> ``"Tool results: a; b"``;
* function tools offered (and ``tool_choice`` is not "none") -> one call to
  the ``tool_choice`` function or the first tool, arguments valid for its
  JSON schema;
* ``response_format`` json_schema -> JSON valid for the schema;
  json_object -> ``{"echo": <last user text>}``;
* otherwise ``"Echo: <last user text>"`` (prefixed with ``"I see N image(s). "``
  when the request carries images), truncated to ``ECHO_LIMIT`` characters.

With ``n > 1`` and a single text reply, choice ``i`` gets the suffix
``" (i)"`` so choices differ; JSON choices differ through the schema salt.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from . import chat_request as rq
from .replies import Reply, ToolCall
from .schema_fake import fake_instance
from .wire import Choice, split_text

__all__ = ["ECHO_LIMIT", "decide_choices", "completion_tokens", "ScriptError"]

ECHO_LIMIT = 200


class ScriptError(RuntimeError):
    """A scripted reply cannot be applied to this request (a test bug)."""


def decide_choices(body: Mapping[str, Any], replies: list[Reply], *, request_number: int) -> list[Choice]:
    n = body.get("n") or 1
    kind, schema = rq.response_format_kind(body)
    # Distinguish identical text choices only when one reply fans out to n.
    suffix_texts = n > 1 and len(replies) == 1 and kind == "text"
    choices = []
    for i in range(n):
        reply = replies[i % len(replies)]
        choice = _decide(body, reply, i, kind, schema, call_prefix=f"call_{request_number}_{i}")
        if suffix_texts and choice.content is not None:
            choice.content += f" ({i})"
        choices.append(choice)
    return choices


def _decide(body: Mapping[str, Any], reply: Reply, i: int, kind: str, schema: Any, *, call_prefix: str) -> Choice:
    if reply.has_content:
        calls = [_render_call(body, call, i, f"{call_prefix}_{k}") for k, call in enumerate(reply.tool_calls or ())]
        content = None if reply.refusal is not None and reply.text is None else reply.text
        if content is None and not calls and reply.refusal is None:
            content = ""
        choice = Choice(index=i, content=content, refusal=reply.refusal, tool_calls=calls)
        choice.finish_reason = "tool_calls" if calls else "stop"
    else:
        choice = _default(body, i, kind, schema, call_prefix=call_prefix)
    _apply_max_tokens(body, choice)
    if reply.finish_reason is not None:
        choice.finish_reason = reply.finish_reason
    return choice


def _default(body: Mapping[str, Any], i: int, kind: str, schema: Any, *, call_prefix: str) -> Choice:
    results = rq.trailing_tool_results(body)
    if results:
        return Choice(index=i, content=_clip("Tool results: " + "; ".join(results)))
    if rq.chosen_tool(body) is not None:
        call = _render_call(body, ToolCall(), i, f"{call_prefix}_0")
        return Choice(index=i, content=None, tool_calls=[call], finish_reason="tool_calls")
    if kind == "json_schema":
        return Choice(index=i, content=json.dumps(fake_instance(schema or {"type": "object"}, salt=i)))
    echo = _clip(rq.last_user_text(body))
    if kind == "json_object":
        payload: dict[str, Any] = {"echo": echo}
        if (body.get("n") or 1) > 1:
            payload["choice"] = i
        return Choice(index=i, content=json.dumps(payload))
    images = rq.count_images(body)
    seen = f"I see {images} image{'s' if images != 1 else ''}. " if images else ""
    return Choice(index=i, content=_clip(f"{seen}Echo: {echo}"))


def _render_call(body: Mapping[str, Any], call: ToolCall, i: int, call_id: str) -> dict[str, Any]:
    tools = {t["name"]: t for t in rq.function_tools(body)}
    name = call.name
    if name is None:
        chosen = rq.chosen_tool(body) or next(iter(tools.values()), None)
        if chosen is None:
            raise ScriptError("ToolCall(name=None) needs the request to offer at least one function tool")
        name = chosen["name"]
    if call.arguments is None:
        params = (tools.get(name) or {}).get("parameters") or {"type": "object", "properties": {}}
        arguments = json.dumps(fake_instance(params, salt=i), separators=(",", ":"))
    elif isinstance(call.arguments, str):
        arguments = call.arguments  # verbatim, possibly deliberately invalid JSON
    else:
        arguments = json.dumps(dict(call.arguments), separators=(",", ":"))
    return {"id": call.id or call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _apply_max_tokens(body: Mapping[str, Any], choice: Choice) -> None:
    """Cut text at the requested token budget like the API ("length")."""
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if not isinstance(limit, int) or choice.content is None or rq.word_count(choice.content) <= limit:
        return
    choice.content = "".join(split_text(choice.content)[:limit])
    choice.finish_reason = "length"


def _clip(text: str) -> str:
    return text if len(text) <= ECHO_LIMIT else text[: ECHO_LIMIT - 3] + "..."


def completion_tokens(choices: list[Choice]) -> int:
    """Deterministic token estimate for the generated messages."""
    total = 0
    for choice in choices:
        tokens = rq.word_count(choice.content) + rq.word_count(choice.refusal)
        tokens += sum(max(1, len(c["function"]["arguments"]) // 4) for c in choice.tool_calls)
        total += max(1, tokens)
    return total
