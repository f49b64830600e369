"""Exporting an LMP's invocations as training data (`ell export`).

Formats, one JSON object per line:

* ``openai-jsonl``: OpenAI chat fine-tuning examples, ``{"messages": [...prompt, assistant]}`` (plus
  ``"tools"`` when the LMP offered tools), one line per output choice;
* ``jsonl``: the same conversation split into ``messages`` (the prompt) and ``completion`` (the
  assistant message), with the invocation's id, version, model, params and its human feedback
  (score, up/down votes, comments): what preference (DPO) pairs are built from.

Errored and frozen (cached) calls are skipped: they teach nothing new. `min_score` keeps only
invocations whose mean human feedback score is at least that.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Optional, TextIO

from .errors import NotFound

FORMATS = ("openai-jsonl", "jsonl")
_PAGE = 500


def _text(blocks: list[Any]) -> str:
    parts = []
    for b in blocks:
        if isinstance(b, dict) and "text" in b:
            parts.append(str(b["text"]))
        elif isinstance(b, dict) and "parsed" in b:
            parts.append(json.dumps(b["parsed"], ensure_ascii=False))
    return "".join(parts)


def _image_url(block: dict[str, Any]) -> dict[str, Any]:
    image = block["image"]
    return image if isinstance(image, dict) else {"url": str(image)}


def openai_messages(messages: list[Any]) -> list[dict[str, Any]]:
    """Stored ell messages (``{"role", "content": [blocks]}``) as OpenAI chat messages."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if not isinstance(m, dict) or "role" not in m:
            continue  # a tool's plain return value, not a message
        content = m.get("content")
        blocks = content if isinstance(content, list) else [{"text": content or ""}]
        calls = [b["tool_call"] for b in blocks if isinstance(b, dict) and "tool_call" in b]
        results = [b["tool_result"] for b in blocks if isinstance(b, dict) and "tool_result" in b]
        if calls:
            out.append({"role": "assistant", "content": _text(blocks) or None, "tool_calls": [
                {"id": c.get("id"), "type": "function",
                 "function": {"name": c.get("name"), "arguments": json.dumps(c.get("arguments"), ensure_ascii=False)}}
                for c in calls]})
        elif results:
            out += [{"role": "tool", "tool_call_id": r.get("tool_call_id"), "content": _text(r.get("result") or [])}
                    for r in results]
        elif any(isinstance(b, dict) and "image" in b for b in blocks):
            out.append({"role": m["role"], "content": [
                {"type": "image_url", "image_url": _image_url(b)} if "image" in b else {"type": "text", "text": _text([b])}
                for b in blocks if isinstance(b, dict) and ("image" in b or "text" in b or "parsed" in b)]})
        else:
            out.append({"role": m["role"], "content": _text(blocks)})
    return out


def _candidates(reader: Any, lmp: str, version: Optional[str], min_score: Optional[float]) -> Iterator[str]:
    """Invocation ids to consider, oldest first."""
    if min_score is not None:  # feedback is human-scale: start from it, not from every call
        page = reader.notes.invocations_with_feedback("any", lmp=lmp, version=version, limit=10**9)
        ids = [r.id for r in page.items]
    else:
        ids, offset = [], 0
        while True:
            page = reader.invocations(lmp=lmp, version=version, limit=_PAGE, offset=offset)
            ids += [r.id for r in page.items]
            offset += _PAGE
            if offset >= page.total or not page.items:
                break
    yield from reversed(ids)


def rows(reader: Any, lmp: str, *, version: Optional[str] = None, min_score: Optional[float] = None,
         fmt: str = "openai-jsonl", cost: bool = False) -> Iterator[dict[str, Any]]:
    """The export's lines as dicts. `version`: an id, prefix or vN (see `Reader.version`). `cost`: each
    line also carries the call's `usage` and `cost_usd` (priced now; None when its model has no price)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not reader.versions(lmp):
        raise NotFound(f"no LMP named {lmp!r} (`ell log` lists them)")
    vid = reader.version(lmp, version).version_id if version else None
    index = reader.notes.feedback_index()
    for inv_id in _candidates(reader, lmp, vid, min_score):
        fb = index.summary(inv_id)
        if min_score is not None and (fb["score"] is None or fb["score"] < min_score):
            continue
        detail = reader.invocation(inv_id)
        rec = detail.record
        extra = {"usage": rec.get("usage") or {}, "cost_usd": getattr(detail, "cost_usd", None)} if cost else {}
        if rec.get("error") or rec.get("cached") or rec.get("version_id") != (vid or rec.get("version_id")):
            continue
        prompt = openai_messages(rec.get("messages") or [])
        tools = (rec.get("api_params") or {}).get("tools")
        for choice, completion in enumerate(openai_messages(rec.get("outputs") or [])):
            if fmt == "openai-jsonl":
                yield {"messages": prompt + [completion], **({"tools": tools} if tools else {}), **extra}
            else:
                yield {"id": rec["id"], "choice": choice, "lmp": rec.get("lmp_name"), "version_id": rec.get("version_id"),
                       "model": rec.get("model"), "api_params": {k: v for k, v in (rec.get("api_params") or {}).items()
                                                                 if k != "tools"},
                       **({"tools": tools} if tools else {}), "args": rec.get("args"), "messages": prompt,
                       "completion": completion, "started_at": rec.get("started_at"),
                       "feedback": {k: fb[k] for k in ("score", "up", "down")} | {
                           "comments": [e["comment"] for e in fb["entries"] if e.get("comment")]}, **extra}


def export(reader: Any, lmp: str, out: TextIO, *, version: Optional[str] = None, min_score: Optional[float] = None,
           fmt: str = "openai-jsonl", cost: bool = False) -> int:
    """Write `lmp`'s invocations to `out` in `fmt`; returns the number of lines written."""
    n = 0
    for row in rows(reader, lmp, version=version, min_score=min_score, fmt=fmt, cost=cost):
        out.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
        n += 1
    return n
