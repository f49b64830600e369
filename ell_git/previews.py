"""Previews of an invocation for lists: the first text of its outputs, compact arguments."""

from __future__ import annotations

from typing import Any

import orjson

PREVIEW = 160


def first_text(value: Any) -> Any:
    """The first text found in outputs (message dicts with content blocks, or plain values)."""
    try:  # the common shape: [{"role": ..., "content": [{"text": ...}, ...]}]
        t = value[0]["content"][0]["text"]
        if type(t) is str:
            return t
    except (LookupError, TypeError):
        pass
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return value["text"]
        for k in ("content", "tool_call", "tool_result", "result"):
            if k in value:
                t = first_text(value[k])
                if t is not None:
                    return t
        return None
    if isinstance(value, list):
        for v in value:
            t = first_text(v)
            if t is not None:
                return t
    return None if value is None else value


def preview(v: Any) -> str:
    """One short line for a value (arguments or output text), as listed in tables."""
    if v is None:
        return ""
    s = v if type(v) is str else orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS)[: PREVIEW * 4].decode("utf-8", "ignore")
    return s if len(s) <= PREVIEW else s[: PREVIEW - 1] + "…"
