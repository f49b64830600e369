"""Jinja filters: times, durations, token counts, JSON, ids, safe image URLs.

Each filter returns plain text (Jinja escapes it) except the few marked as returning `Markup`,
which build their markup from escaped parts only.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from typing import Any

import orjson
from flask import Flask
from markupsafe import Markup

from ell_git.costs import money
from ell_git.ids import short_invocation_id


def time_ago(ts: float | int | str | None, now: float | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', '2 d ago', then the date: dense and unambiguous."""
    t = _epoch(ts)
    if t is None:
        return "never"
    delta = (time.time() if now is None else now) - t
    if delta < 0:
        delta = 0  # clocks of two writers disagree a little: never show "in 3 s"
    if delta < 10:
        return "just now"
    if delta < 60:
        return f"{int(delta)} s ago"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    if delta < 86400 * 30:
        return f"{int(delta // 86400)} d ago"
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d")


def iso_time(ts: float | int | str | None) -> str:
    """Full UTC timestamp for `title=` tooltips and `<time datetime=...>`."""
    t = _epoch(ts)
    if t is None:
        return ""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(ms: float | int | None) -> str:
    """Latency in the unit a person reads fastest: 850 ms, 1.24 s, 2 min 5 s."""
    if ms is None or (isinstance(ms, float) and not math.isfinite(ms)):
        return "–"
    ms = float(ms)
    if ms < 1:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.2f} s"
    return f"{int(s // 60)} min {int(s % 60)} s"


def tokens(n: int | float | None) -> str:
    """Token counts: 950, 12.3k, 4.1M."""
    if n is None:
        return "–"
    n = float(n)
    if n < 1000:
        return f"{n:.0f}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def number(n: int | float | None) -> str:
    """Thousands separators for counts."""
    if n is None:
        return "–"
    return f"{int(n):,}"


def pretty_json(value: Any) -> str:
    """Indented JSON for <pre> blocks; never raises (odd values are already JSON-safe in the store)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return repr(value)


def short_id(value: str | None, n: int = 8) -> str:
    """`lmp-0123abcd…` → `0123abcd`: ids stay readable in dense tables. An invocation id shows a
    little of its process and its counter (`c449-22fa`): its first digits are its process's."""
    if not value:
        return ""
    s = str(value)
    if short := short_invocation_id(s):
        return short
    for prefix in ("inv-", "lmp-"):
        if s.startswith(prefix):
            return s[len(prefix) : len(prefix) + n]
    return s[:n]


def short_name(name: str | None) -> str:
    """The last dotted part of a qualified LMP name (`pkg.mod.hello` → `hello`)."""
    if not name:
        return ""
    return str(name).rsplit(".", 1)[-1]


def truncate_text(value: Any, n: int = 120) -> str:
    """One line of at most `n` characters, for table cells."""
    s = "" if value is None else str(value)
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def safe_image_src(url: Any) -> str | None:
    """Only inline `data:image/...` URLs may become an <img src>: no remote fetches, no scripts.

    Remote images would make the UI leak what is viewed (and break offline); `data:` URLs of
    other types (e.g. text/html, image/svg+xml with scripts) are refused too.
    """
    if not isinstance(url, str):
        return None
    head = url[:64].lower()
    if not head.startswith("data:image/") or head.startswith("data:image/svg"):
        return None
    return url


def hl_json(value: Any) -> Markup:
    """Pretty JSON with keys/strings/numbers wrapped in spans (escaped), for readable params."""
    from .highlight import highlight_json

    return highlight_json(pretty_json(value))


def block_text(block: Any) -> str:
    """A one-line rendering of one stored content block (text, image, tool call/result, parsed)."""
    if not isinstance(block, dict):
        return "" if block is None else str(block)
    if "text" in block:
        return str(block.get("text") or "")
    if "image" in block:
        return "[image]"
    if "tool_call" in block:
        tc = block.get("tool_call") or {}
        return f"{tc.get('name', '?')}({pretty_args(tc.get('arguments'))})"
    if "tool_result" in block:
        tr = block.get("tool_result") or {}
        return " ".join(block_text(b) for b in tr.get("result") or [])
    if "parsed" in block:
        return pretty_args(block.get("parsed"))
    if "audio" in block:
        return "[audio]"
    return ""


def message_text(message: Any) -> str:
    """All of a stored message's content as one line; plain values (tool outputs) as themselves."""
    if isinstance(message, dict) and "content" in message:
        content = message.get("content")
        if isinstance(content, str):
            return content
        return " ".join(t for t in (block_text(b) for b in content or []) if t)
    if isinstance(message, (dict, list)):
        return pretty_args(message)
    return "" if message is None else str(message)


def pretty_args(value: Any) -> str:
    """Compact `k=v, …` for argument dicts; compact JSON for anything else."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_compact(v)}" for k, v in value.items())
    return _compact(value)


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) < 200 else repr(value[:200] + "…")
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return repr(value)


def input_preview(inv: dict[str, Any]) -> str:
    """What went in: the arguments (the messages can be long and repeat the system prompt)."""
    if inv.get("args_preview") is not None:
        return str(inv["args_preview"])
    args = inv.get("args")
    if args:
        return pretty_args(args)
    msgs = inv.get("messages") or []
    return message_text(msgs[-1]) if msgs else ""


def output_preview(inv: dict[str, Any]) -> str:
    """What came out; an error row says so (rows carry a flag, full records the message)."""
    err = inv.get("error")
    if isinstance(err, str) and err:
        return f"error: {err}"
    if inv.get("output_preview") is not None:
        text = str(inv["output_preview"])
    else:
        text = " ".join(message_text(o) for o in inv.get("outputs") or [])
    return f"error: {text}" if err is True else text


def usd(value: Any, unpriced: int = 0) -> str:
    """A cost: "$0.00048", "$1.23 + 40 unpriced calls"; "–" when unpriced (never "$0")."""
    return money(value if isinstance(value, (int, float)) else None, int(unpriced or 0))


def cost_label(summary: Any) -> str:
    """A cost summary (`ell_git.costs.CostSummary` as JSON) as one label; "–" without one."""
    if not isinstance(summary, dict):
        return "–"
    label = summary.get("label")  # made once by the reader
    return label if isinstance(label, str) else usd(summary.get("cost_usd"), summary.get("unpriced_calls") or 0)


def total_tokens(inv: dict[str, Any]) -> int | None:
    usage = inv.get("usage") or {}
    if inv.get("total_tokens") is not None:
        return inv["total_tokens"]
    if isinstance(usage, dict):
        if usage.get("total_tokens") is not None:
            return usage["total_tokens"]
        parts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
        if any(p is not None for p in parts):
            return sum(p or 0 for p in parts)
    return None


def _epoch(ts: float | int | str | None) -> float | None:
    if ts is None or ts == "":
        return None
    if isinstance(ts, (int, float)):
        return float(ts) if ts > 0 else None
    try:
        return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def register(app: Flask) -> None:
    """Install every filter on the app's Jinja environment."""
    app.jinja_env.filters.update(
        time_ago=time_ago,
        iso_time=iso_time,
        duration=duration,
        tokens=tokens,
        number=number,
        pretty_json=pretty_json,
        hl_json=hl_json,
        short_id=short_id,
        short_name=short_name,
        truncate_text=truncate_text,
        safe_image_src=safe_image_src,
        block_text=block_text,
        message_text=message_text,
        pretty_args=pretty_args,
        input_preview=input_preview,
        output_preview=output_preview,
        total_tokens=total_tokens,
        usd=usd,
        cost_label=cost_label,
    )
