"""How values and message content show in a terminal: short argument values, wrapped and elided
text, tool calls and results, structured output, images as placeholders. Used by `verbose`.

A line is a list of (text, style) segments, style an ANSI SGR code ("" for none), so widths are
measured on the plain text and colour is added only when the output is a terminal.
"""

from __future__ import annotations

import json
import reprlib
import textwrap
from typing import Any, Optional

from pydantic import BaseModel

from ..configurator import config
from ..types import ContentBlock, ImageContent, Message, ToolCall, ToolResult

Line = list[tuple[str, str]]

BOLD, DIM, ERROR, RAIL, TOOL, ARG = "1", "2", "31", "34", "35", "35"
SYSTEM, USER, ASSISTANT = "36", "32", "33"
ROLE_STYLES = {"system": SYSTEM, "user": USER, "assistant": ASSISTANT}

MAX_CHARS = 2000  # a longer text keeps its first 2/3 and last 1/4 of this; the middle is cut
MAX_LINES = 60  # and at most this many lines of one content block
ARG_CHARS = 40  # an argument value in a header

_REPR = reprlib.Repr()  # containers shown without walking all of a huge one
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict, _REPR.maxset = 3, 6, 6, 6, 6
_REPR.maxstring, _REPR.maxother = ARG_CHARS, ARG_CHARS * 2

# Control characters would move the cursor or recolour the terminal: show them as symbols (␛, ␍...).
_CONTROLS = {c: 0x2400 + c for c in range(32) if c not in (9, 10)} | {0x7F: 0x2421}


def render(line: Line, colour: bool) -> str:
    line = list(line)
    while line and not line[-1][0].strip():  # no trailing blanks
        line.pop()
    if line:
        line[-1] = (line[-1][0].rstrip(), line[-1][1])
    if not colour:
        return "".join(text for text, _ in line)
    merged: Line = []
    for text, style in line:  # one escape sequence per run of one style
        if merged and merged[-1][1] == style:
            merged[-1] = (merged[-1][0] + text, style)
        elif text:
            merged.append((text, style))
    return "".join(f"\x1b[{style}m{text}\x1b[0m" if style else text for text, style in merged)


def cut(text: str, limit: int) -> str:
    """`text`, ending in … when longer than `limit`."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def short_value(value: Any, limit: int = ARG_CHARS) -> str:
    """An argument as it shows in a header: a conversation as its length, a long string cut."""
    try:
        if isinstance(value, str):
            text = str(value)
            return repr(text) if len(text) <= limit else f"{repr(text[: limit - 2] + '…')} ({len(text):,} chars)"
        if isinstance(value, Message):
            return f"{value.role}({short_value(value.text_only, limit - len(value.role) - 2)})"
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Message) for v in value):
            return f"[{len(value)} message{'s' if len(value) > 1 else ''}]"
        if _is_image(value):
            return f"<image {value.size[0]}×{value.size[1]}>"
        return cut(_clean(_REPR.repr(value)), limit)
    except Exception:  # a repr that raises still names the value
        return f"<{type(value).__name__}>"


def wrap(text: str, width: int, style: str) -> list[Line]:
    """`text` cut in the middle when huge, then wrapped to `width` (unless `wrapped_logging` is off)."""
    text = _clean(text)
    if len(text) <= MAX_CHARS:
        lines = [[(t, style)] for t in _wrap_lines(text, width)]
    else:
        head, tail = _halves(text)
        marker = f"… {len(text) - len(head) - len(tail):,} characters cut …"
        lines = [[(t, style)] for t in _wrap_lines(head, width)]
        lines += [[(marker, DIM)]] + [[(t, style)] for t in _wrap_lines(tail, width)]
    if len(lines) > MAX_LINES:
        keep_head, keep_tail = MAX_LINES * 2 // 3, MAX_LINES // 4
        dropped = len(lines) - keep_head - keep_tail
        lines = lines[:keep_head] + [[(f"… {dropped:,} lines cut …", DIM)]] + lines[-keep_tail:]
    return lines


def message_lines(message: Message, width: int, style: str, tool_names: dict[str, str]) -> list[Line]:
    """The lines of a message's content, block after block."""
    lines: list[Line] = []
    for block in message.content:
        lines += block_lines(block, width, style, tool_names)
    return lines


def block_lines(block: ContentBlock, width: int, style: str, tool_names: dict[str, str]) -> list[Line]:
    if block.text is not None:
        return wrap(block.text, width, style)
    if block.tool_call is not None:
        return _tool_call_lines(block.tool_call, width)
    if block.tool_result is not None:
        return _tool_result_lines(block.tool_result, width, style, tool_names)
    if block.parsed is not None:
        return _parsed_lines(block.parsed, width, style)
    if block.image is not None:
        return [[(image_label(block.image), DIM)]]
    if block.audio is not None:
        return [[("[audio]", DIM)]]
    return []


def image_label(image: ImageContent) -> str:
    """A placeholder with what matters of an image: its size, never its pixels or base64."""
    detail = f", detail={image.detail}" if image.detail else ""
    if image.image is not None:
        w, h = image.image.size
        return f"[image {w}×{h} {image.image.mode}{detail}]"
    url = image.url or ""
    if url.startswith("data:"):
        kind, _, data = url[5:].partition(",")
        return f"[image {kind.split(';')[0] or 'data'}, {_size(len(data) * 3 // 4)}{detail}]"
    return f"[image {cut(url, 60)}{detail}]"


# -- content kinds ------------------------------------------------------------------------------
def _tool_call_lines(call: ToolCall, width: int) -> list[Line]:
    try:
        args = ", ".join(f"{k}={short_value(v, 60)}" for k, v in call.arguments().items())
    except Exception:
        args = short_value(call.params, 60)
    lines = [[(t, TOOL)] for t in _wrap_lines(f"→ {call.name}({args})", width, hang="    ")]
    ident = f" [{call.tool_call_id}]" if call.tool_call_id else ""
    if ident and len(lines[-1][0][0]) + len(ident) <= width:
        lines[-1].append((ident, DIM))
    elif ident:
        lines.append([(ident.strip(), DIM)])
    if call.error:
        lines += [[(t, ERROR)] for t in _wrap_lines(f"✗ {call.error}", width, hang="  ")]
    return lines


def _tool_result_lines(result: ToolResult, width: int, style: str, tool_names: dict[str, str]) -> list[Line]:
    name = tool_names.get(str(result.tool_call_id))
    label: Line = [(f"← {name} result" if name else "← tool result", TOOL), (f" [{result.tool_call_id}]", DIM)]
    inner: list[Line] = []
    for block in result.result:
        inner += block_lines(block, width - 2, style, tool_names)
    used = sum(len(t) for t, _ in label) + 2
    if len(inner) == 1 and used + sum(len(t) for t, _ in inner[0]) <= width:
        return [label + [(": ", TOOL)] + inner[0]]
    return [label + [(":", TOOL)]] + [[("  ", "")] + line for line in inner]


def _parsed_lines(parsed: Any, width: int, style: str) -> list[Line]:
    name = type(parsed).__name__
    try:
        compact = parsed.model_dump_json() if isinstance(parsed, BaseModel) else json.dumps(parsed)
    except Exception:
        compact = repr(parsed)
    if len(name) + 1 + len(compact) <= width:
        return [[(name, f"{style};1"), (" " + compact, style)]]
    try:
        pretty = parsed.model_dump_json(indent=2) if isinstance(parsed, BaseModel) else json.dumps(parsed, indent=2)
    except Exception:
        pretty = compact
    return [[(name, f"{style};1")]] + wrap(pretty, width, style)


# -- text ---------------------------------------------------------------------------------------
def _wrap_lines(text: str, width: int, hang: Optional[str] = None) -> list[str]:
    """Lines of at most `width` characters; a wrapped line keeps its own indentation (code stays
    readable). With `config.wrapped_logging` off, lines are left as they are."""
    out: list[str] = []
    for raw in text.expandtabs(4).split("\n"):
        line = raw.rstrip()
        if not config.wrapped_logging or len(line) <= width:
            out.append(line)
            continue
        indent = hang if hang is not None else line[: len(line) - len(line.lstrip())]
        if len(indent) > width // 2:
            indent = ""
        out += textwrap.wrap(line, width, subsequent_indent=indent, break_on_hyphens=False) or [""]
    return out


def _halves(text: str) -> tuple[str, str]:
    """The kept head and tail of a huge text, cut at a line break, else a space, when one is near."""
    head, tail = text[: MAX_CHARS * 2 // 3], text[-(MAX_CHARS // 4):]
    for sep in ("\n", " "):
        end = head.rfind(sep)
        if end > len(head) * 4 // 5:
            head = head[:end]
            break
    for sep in ("\n", " "):
        start = tail.find(sep)
        if 0 <= start < len(tail) // 5:
            tail = tail[start + 1:]
            break
    return head, tail


def _clean(text: str) -> str:
    return text.translate(_CONTROLS)


def _size(n: int) -> str:
    return f"{n} B" if n < 1000 else f"{n / 1000:.1f} kB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"


def _is_image(value: Any) -> bool:
    return type(value).__module__.startswith("PIL.") and hasattr(value, "size") and hasattr(value, "mode")
