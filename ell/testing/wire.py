"""OpenAI wire format: completion bodies, stream chunks, usage and errors.

Takes already-decided ``Choice`` objects and renders them exactly the way
the OpenAI API does, so the official SDK parses them unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

__all__ = ["Choice", "Completion", "completion_body", "stream_chunks", "error_body", "usage_block"]

SYSTEM_FINGERPRINT = "fp_ell_testing"

# Default error type/code per status, as the real API reports them.
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Permission denied."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1ms."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass
class Choice:
    """One decided assistant message."""

    index: int
    content: str | None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # OpenAI shape
    finish_reason: str = "stop"


@dataclass
class Completion:
    id: str
    created: int
    model: str
    choices: list[Choice]
    usage: dict[str, Any]


def usage_block(prompt: int, completion: int, override: Mapping[str, Any] | None = None) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    if override:
        usage.update(override)
        if "total_tokens" not in override:  # keep the sum consistent with overrides
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return usage


def completion_body(completion: Completion) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` object."""
    choices = []
    for choice in completion.choices:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": choice.content,
            "refusal": choice.refusal,
            "annotations": [],
        }
        if choice.tool_calls:  # the API omits the key when there are none
            message["tool_calls"] = choice.tool_calls
        choices.append(
            {"index": choice.index, "message": message, "logprobs": None, "finish_reason": choice.finish_reason}
        )
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": choices,
        "usage": completion.usage,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def stream_chunks(completion: Completion, *, include_usage: bool) -> list[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a stream, in sending order.

    Choices are interleaved round-robin like the real API; the usage chunk
    (empty ``choices``) comes last when ``include_usage`` is set.
    """
    base: dict[str, Any] = {
        "id": completion.id,
        "object": "chat.completion.chunk",
        "created": completion.created,
        "model": completion.model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if include_usage:
        base["usage"] = None  # every chunk but the last carries usage: null
    per_choice = [list(_choice_deltas(choice)) for choice in completion.choices]
    chunks: list[dict[str, Any]] = []
    for step in range(max(len(deltas) for deltas in per_choice)):
        for choice, deltas in zip(completion.choices, per_choice):
            if step < len(deltas):
                delta, finish = deltas[step]
                chunks.append(
                    {**base, "choices": [{"index": choice.index, "delta": delta, "logprobs": None, "finish_reason": finish}]}
                )
    if include_usage:
        chunks.append({**base, "choices": [], "usage": completion.usage})
    return chunks


def _choice_deltas(choice: Choice) -> Iterator[tuple[dict[str, Any], str | None]]:
    first: dict[str, Any] = {"role": "assistant", "content": None if choice.content is None else "", "refusal": None}
    if choice.refusal is not None:
        first["refusal"] = ""
    yield first, None
    for piece in split_text(choice.content or ""):
        yield {"content": piece}, None
    for piece in split_text(choice.refusal or ""):
        yield {"refusal": piece}, None
    for k, call in enumerate(choice.tool_calls):
        head = {"index": k, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
        yield {"tool_calls": [head]}, None
        arguments = call["function"]["arguments"]
        for start in range(0, len(arguments), 8):
            yield {"tool_calls": [{"index": k, "function": {"arguments": arguments[start : start + 8]}}]}, None
    yield {}, choice.finish_reason


def split_text(text: str) -> list[str]:
    """Word-sized pieces (with their leading whitespace) that rejoin to ``text``."""
    return re.findall(r"\s*\S+|\s+$", text)


def error_body(status: int, message: str | None = None, *, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's ``{"error": {...}}`` envelope for an HTTP error status."""
    kind, default_code, default_message = _ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}")
    )
    return {
        "error": {
            "message": message or default_message,
            "type": kind,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }
