"""Read what a chat-completions request asks for (text, images, tools, format).

Pure functions over the decoded request body; also validates the few fields
OpenAI rejects with a 400 so the fake server fails the same way.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = [
    "RequestError",
    "validate",
    "message_text",
    "last_user_text",
    "count_images",
    "trailing_tool_results",
    "function_tools",
    "chosen_tool",
    "response_format_kind",
    "prompt_tokens",
    "word_count",
]


class RequestError(ValueError):
    """A request OpenAI would reject with HTTP 400; ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def validate(body: Any) -> None:
    """Raise ``RequestError`` for requests the real API refuses."""
    if not isinstance(body, Mapping):
        raise RequestError("The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise RequestError("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty array.", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            raise RequestError(f"Invalid 'messages[{i}]': expected an object with a 'role'.", f"messages[{i}]")
    n = body.get("n", 1)
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128):
        raise RequestError("'n' must be an integer between 1 and 128.", "n")
    choice = body.get("tool_choice")
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        if name not in {t["name"] for t in function_tools(body)}:
            raise RequestError(f"Invalid 'tool_choice': no function named {name!r} in 'tools'.", "tool_choice")
    fmt = body.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise RequestError("Missing required parameter: 'response_format.json_schema.name'.", "response_format")


def message_text(message: Mapping[str, Any]) -> str:
    """Concatenated text of a message (string content or text parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def last_user_text(body: Mapping[str, Any]) -> str:
    for message in reversed(body["messages"]):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def count_images(body: Mapping[str, Any]) -> int:
    """Number of ``image_url`` parts across all messages of the request."""
    return sum(
        1
        for message in body["messages"]
        if isinstance(message.get("content"), list)
        for part in message["content"]
        if isinstance(part, Mapping) and part.get("type") == "image_url"
    )


def trailing_tool_results(body: Mapping[str, Any]) -> list[str]:
    """Contents of the ``tool`` messages that end the conversation, if any."""
    results: list[str] = []
    for message in reversed(body["messages"]):
        if message.get("role") != "tool":
            break
        results.append(message_text(message))
    return results[::-1]


def function_tools(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``function`` definitions of ``tools`` (other tool kinds ignored)."""
    found = []
    for tool in body.get("tools") or []:
        if isinstance(tool, Mapping) and tool.get("type", "function") == "function":
            fn = tool.get("function")
            if isinstance(fn, Mapping) and isinstance(fn.get("name"), str):
                found.append(dict(fn))
    return found


def chosen_tool(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The function the model should call now, or None to answer in text."""
    tools = function_tools(body)
    choice = body.get("tool_choice")
    if not tools or choice == "none" or trailing_tool_results(body):
        return None
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        return next((t for t in tools if t["name"] == name), tools[0])
    return tools[0]


def response_format_kind(body: Mapping[str, Any]) -> tuple[str, Any]:
    """("text"|"json_object"|"json_schema", schema-or-None)."""
    fmt = body.get("response_format")
    if not isinstance(fmt, Mapping):
        return "text", None
    kind = fmt.get("type", "text")
    if kind == "json_schema":
        return kind, (fmt.get("json_schema") or {}).get("schema", {})
    if kind == "json_object":
        return kind, None
    return "text", None


def word_count(text: str | None) -> int:
    return len(text.split()) if text else 0


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Deterministic stand-in for a tokenizer: words + 1 per message."""
    total = 0
    for message in body["messages"]:
        total += 1 + word_count(message_text(message))
        for call in message.get("tool_calls") or []:
            total += word_count(str((call.get("function") or {}).get("arguments", "")))
    return total
