"""The data ell works with: messages, content blocks, tool calls and results, `lstr`."""

from __future__ import annotations

from .lstr import _lstr, lstr
from .message import (
    ContentBlock,
    ImageContent,
    Message,
    ToolCall,
    ToolResult,
    assistant,
    system,
    to_content_blocks,
    user,
)

__all__ = [
    "ContentBlock",
    "ImageContent",
    "Message",
    "ToolCall",
    "ToolResult",
    "assistant",
    "system",
    "to_content_blocks",
    "user",
    "lstr",
    "_lstr",
]
