"""The storage format, checked: what a reader may rely on in a stored record.

Readers (the read cache, `Reader`, `ell export`), `ell pull` (on what it fetched) and `ell doctor`
ask these functions before using a record. Each returns None for a good record, or one short
phrase saying what is wrong ("usage is not an object"), so that a bad record is skipped, counted
and named, and never breaks the reader nor travels on. The checks are of *types and shapes*,
written to accept everything ell-git ever wrote (format 1) and nothing a reader would trip on.

Invocation lines (one per line of a ``.jsonl`` segment, see `ell.records.InvocationRecord`)::

    id str "inv-..."      version_id str     lmp_name str      format int
    args dict             messages list of message objects      outputs list
    model str|null        api_params dict    usage dict (token counts int|null)
    latency_ms number     started_at number  parent_id str|null
    origin_ids list[str]  bound_globals dict error str|null     cached bool
    cache_key hex str     and, only when set: trace_id, span_id, recording str

A version's ``meta.json`` is `ell.records.version_to_dict` of a `VersionRecord`.
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

_HEX = re.compile(r"[0-9a-f]{15,64}\Z")
_TOKENS = ("prompt_tokens", "completion_tokens", "total_tokens")
_NUMBER = (int, float)


def _number(v: Any) -> bool:
    return type(v) in _NUMBER and math.isfinite(v)


def _text(v: Any, limit: int = 10_000) -> bool:
    return type(v) is str and 0 < len(v) <= limit


def _optional(v: Any, kind: type) -> bool:
    return v is None or type(v) is kind


def invocation(d: Any) -> str | None:
    """What is wrong with one stored invocation (parsed JSON), or None."""
    if type(d) is not dict:
        return "not a JSON object"
    iid = d.get("id")
    if not (_text(iid, 200) and iid.startswith("inv-") and iid.isprintable() and " " not in iid):
        return "id is not an invocation id (inv-...)"
    for key in ("version_id", "lmp_name"):
        if not _text(d.get(key)):
            return f"{key} is not a non-empty string"
    for key in ("args", "api_params", "bound_globals"):
        if key in d and type(d[key]) is not dict:
            return f"{key} is not an object"
    for key in ("messages", "outputs"):
        if key in d and type(d[key]) is not list:
            return f"{key} is not a list"
    for m in d.get("messages") or ():
        if type(m) is not dict or type(m.get("role", "")) is not str or type(m.get("content", "")) not in (list, str, type(None)):
            return "messages holds something that is not a message"
    for key in ("model", "error", "parent_id", "trace_id", "span_id", "recording"):
        if not _optional(d.get(key), str):
            return f"{key} is not a string or null"
    if "cached" in d and type(d["cached"]) is not bool:
        return "cached is not true or false"
    if "format" in d and type(d["format"]) is not int:
        return "format is not an integer"
    usage = d.get("usage", {})
    if usage is not None and type(usage) is not dict:
        return "usage is not an object"
    for key in _TOKENS:  # whatever integer the model's API reported (even an absurd one) is kept as it was
        v = (usage or {}).get(key)
        if v is not None and type(v) is not int:
            return f"usage.{key} is not an integer"
    for key in ("latency_ms", "started_at"):
        if key in d and not _number(d[key]):
            return f"{key} is not a number"
    origins = d.get("origin_ids", [])
    if type(origins) is not list or any(type(o) is not str for o in origins):
        return "origin_ids is not a list of ids"
    key = d.get("cache_key")
    if key is not None and not (type(key) is str and _HEX.match(key)):
        return "cache_key is not a hex digest"
    return None


def invocation_line(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """(the record, None) for a good line, (None, what is wrong) for a bad one."""
    try:
        d = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None, "not JSON"
    problem = invocation(d)
    return (None, problem) if problem else (d, None)


def version_meta(d: Any) -> str | None:
    """What is wrong with a version's parsed ``meta.json``, or None."""
    if type(d) is not dict:
        return "not a JSON object"
    if not _text(d.get("version_id"), 200):
        return "version_id is not a non-empty string"
    for key in ("name", "kind"):
        if key in d and not _text(d[key]):
            return f"{key} is not a non-empty string"
    if not _optional(d.get("model"), str):
        return "model is not a string or null"
    for key in ("api_params", "bound_globals", "packages"):
        if key in d and type(d[key]) is not dict:
            return f"{key} is not an object"
    for key in ("uses", "uses_names"):
        if key in d and (type(d[key]) is not list or any(type(u) is not str for u in d[key])):
            return f"{key} is not a list of strings"
    if "created_at" in d and not _number(d["created_at"]):
        return "created_at is not a number"
    if "format" in d and type(d["format"]) is not int:
        return "format is not an integer"
    return None


def meta_blob(data: bytes) -> tuple[dict[str, Any], str | None]:
    """(meta, None) for a good ``meta.json``; ({}, what is wrong) for a bad one."""
    try:
        d = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}, "meta.json is not JSON"
    problem = version_meta(d)
    return (d, None) if problem is None else ({}, f"meta.json: {problem}")


def json_object(data: bytes, what: str) -> str | None:
    """What is wrong with a file that must be one JSON object (evaluation.json, run.json), or None."""
    try:
        d = orjson.loads(data)
    except orjson.JSONDecodeError:
        return f"{what} is not JSON"
    return None if type(d) is dict else f"{what} is not a JSON object"


def json_lines(data: bytes, what: str) -> str | None:
    """What is wrong with a file of JSON objects, one per line (results.jsonl, dataset.jsonl), or None."""
    for n, line in enumerate(data.splitlines(), 1):
        if line.strip() and json_object(line, f"{what} line {n}") is not None:
            return f"{what} line {n} is not a JSON object"
    return None
