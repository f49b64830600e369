"""What the fake model should answer: the ``Reply`` / ``ToolCall`` script types.

A scripted reply is any of:

* ``str`` – the assistant text;
* ``dict`` (or any JSON-able mapping) or a pydantic model instance –
  assistant content serialised as JSON, handy for structured outputs;
* ``Reply`` – full control (text, tool calls, refusal, errors, delays, ...);
* ``list``/``tuple`` of the above – one entry per choice (for ``n > 1``);
* a callable ``f(request: dict) -> any of the above | None`` – computed per
  request; ``None`` means "use the default behaviour".

``normalize`` turns any of these into a list of ``Reply`` (one per choice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, Union

__all__ = ["Reply", "ToolCall", "ToolCallReply", "ReplyLike", "normalize"]


@dataclass(frozen=True)
class ToolCall:
    """One function call the fake model makes.

    ``name=None`` picks the tool the model would call by default (the one
    named by ``tool_choice``, else the first tool).  ``arguments=None``
    generates arguments valid for that tool's JSON schema; a ``str`` is sent
    verbatim (use it to simulate invalid JSON); a mapping is JSON-encoded.
    ``id=None`` gets a deterministic ``call_...`` id.
    """

    name: str | None = None
    arguments: Mapping[str, Any] | str | None = None
    id: str | None = None

    @classmethod
    def coerce(cls, value: ToolCall | Mapping[str, Any]) -> ToolCall:
        if isinstance(value, ToolCall):
            return value
        if isinstance(value, Mapping):
            # Accept both {"name", "arguments"} and OpenAI's {"function": {...}} shape.
            fn = value.get("function", value)
            return cls(name=fn.get("name"), arguments=fn.get("arguments"), id=value.get("id"))
        raise TypeError(f"tool call must be ToolCall or dict, not {type(value).__name__}")


#: Alias kept for readability in scripts: ``Reply(tool_calls=[ToolCallReply(...)])``.
ToolCallReply = ToolCall


@dataclass(frozen=True)
class Reply:
    """A scripted answer for one request (or one choice of it).

    Content (``None`` everywhere = the default, request-derived answer):
      text:          assistant text (``""`` is a real, empty answer).
      tool_calls:    ``ToolCall``/dicts; ``finish_reason`` becomes "tool_calls".
      refusal:       sets ``message.refusal`` with ``content`` null.
      finish_reason: override ("stop", "length", "content_filter", ...).

    Request-level behaviour:
      error:         HTTP status to fail with (400, 401, 404, 429, 500, ...).
      error_message: message for ``error`` (a sensible default otherwise).
      delay:         seconds to wait before answering (interrupted by stop()).
      break_stream_after: when streaming, close the connection after this
                     many SSE events, without the final chunk (the SDK raises).
      usage:         keys merged over the computed usage numbers.
    """

    text: str | None = None
    tool_calls: Sequence[ToolCall | Mapping[str, Any]] | None = None
    refusal: str | None = None
    finish_reason: str | None = None
    error: int | None = None
    error_message: str | None = None
    delay: float = 0.0
    break_stream_after: int | None = None
    usage: Mapping[str, int] | None = None

    def __post_init__(self) -> None:
        # Normalise once so the rest of the server only sees ToolCall tuples.
        if self.tool_calls is not None:
            object.__setattr__(self, "tool_calls", tuple(ToolCall.coerce(t) for t in self.tool_calls))
        if self.error is not None and not 400 <= int(self.error) <= 599:
            raise ValueError(f"error must be an HTTP error status (4xx/5xx), got {self.error}")

    @property
    def has_content(self) -> bool:
        """True when the script decided the message; False = use the default."""
        return self.text is not None or self.tool_calls is not None or self.refusal is not None


ReplyLike = Union[str, Mapping[str, Any], Reply, Sequence[Any], Callable[[dict], Any], None]


def normalize(item: ReplyLike, request: dict) -> list[Reply]:
    """Turn a scripted item into one ``Reply`` per choice (at least one)."""
    if callable(item) and not isinstance(item, Reply):
        item = item(request)
    if item is None:
        return [Reply()]
    if isinstance(item, (list, tuple)):
        replies = [_one(element, request) for element in item]
        if not replies:
            raise ValueError("an empty list of replies has no choice to answer with")
        return replies
    return [_one(item, request)]


def _one(item: Any, request: dict) -> Reply:
    if callable(item) and not isinstance(item, Reply):
        item = item(request)
    if item is None:
        return Reply()
    if isinstance(item, Reply):
        return item
    if isinstance(item, str):
        return Reply(text=item)
    if isinstance(item, Mapping):
        return Reply(text=json.dumps(item))
    if hasattr(item, "model_dump_json"):  # pydantic model, without importing pydantic
        return Reply(text=item.model_dump_json())
    raise TypeError(f"cannot use {type(item).__name__} as a reply; use str, dict, a pydantic model, Reply or a callable")

