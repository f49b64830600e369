"""The data ell works with: messages, content blocks, tool calls and results, `lstr`."""

from __future__ import annotations

from .lstr import _lstr, lstr
from .message import (
    AnyContent,
    ContentBlock,
    ImageContent,
    InvocableTool,
    Message,
    ToolCall,
    ToolResult,
    assistant,
    system,
    _content_to_text,
    _content_to_text_only,
    to_content_blocks,
    user,
)

__all__ = [
    "AnyContent",
    "ContentBlock",
    "ImageContent",
    "InvocableTool",
    "Message",
    "ToolCall",
    "ToolResult",
    "assistant",
    "system",
    "to_content_blocks",
    "user",
    "lstr",
    "_lstr",
    "_content_to_text",
    "_content_to_text_only",
]
