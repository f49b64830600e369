"""Secrets recorded before redaction existed (or by an older client) are masked when shown.

Recording redacts everything now, but a repository may still hold older records. `ell web` and
`ell show` pass what they show (the `Reader`'s results, as plain dicts) through the same detectors
(`ell.redaction`, with this repository's `git config ell.allow` / `ell.redact`), so a screen share
never shows a key, and say so with the labels of what was masked: the data itself stays in the
repository until `ell forget --secrets`.
"""

from __future__ import annotations

import re
from typing import Any

from ell.redaction import current, redact_source, redact_text, redact_value

__all__ = ["version", "invocation", "page", "diff"]

_PLACEHOLDER = re.compile(r"<redacted:([A-Za-z0-9_.:@-]{1,64})>")
_RECORD_KEYS = ("args", "bound_globals", "api_params", "messages", "outputs")


def _labels(before: Any, after: Any) -> set[str]:
    return set(_PLACEHOLDER.findall(repr(after))) - set(_PLACEHOLDER.findall(repr(before)))


_versions: dict[tuple[Any, int], dict[str, Any]] = {}  # a commit never changes: mask it once


def version(v: dict[str, Any]) -> dict[str, Any]:
    """A version's files as shown; `masked` lists what was hidden (empty: nothing)."""
    key = (v.get("commit"), id(current()))
    hit = _versions.get(key) if key[0] else None
    if hit is None:
        hit = _mask_version(v)
        if key[0]:
            if len(_versions) > 4096:
                _versions.clear()
            _versions[key] = hit
    return {**v, **hit}


def _mask_version(v: dict[str, Any]) -> dict[str, Any]:
    out, masked = {}, set()
    for key in ("source", "closure"):
        if isinstance(v.get(key), str):
            out[key] = redact_source(v[key])
            masked |= _labels(v[key], out[key])
    if isinstance(v.get("message"), str):
        out["message"] = redact_text(v["message"])
        masked |= _labels(v["message"], out["message"])
    meta = v.get("meta")
    if isinstance(meta, dict):
        new = {k: redact_value(meta[k]) if k in ("bound_globals", "api_params") else meta[k] for k in meta}
        masked |= _labels(meta, new)
        out["meta"] = new
    out["masked"] = sorted(masked)
    return out


def invocation(detail: dict[str, Any]) -> dict[str, Any]:
    record = detail.get("record")
    if not isinstance(record, dict):
        return {**detail, "masked": []}
    new = dict(record)
    for key in _RECORD_KEYS:
        if key in record:
            new[key] = redact_value(record[key])
    if isinstance(record.get("error"), str):
        new["error"] = redact_text(record["error"])
    return {**detail, "record": new, "masked": sorted(_labels(record, new))}


def page(invocations: dict[str, Any]) -> dict[str, Any]:
    """An invocation list: its argument and output previews."""
    items = []
    for row in invocations.get("items") or []:
        if isinstance(row, dict):
            row = {**row, **{k: redact_text(row[k]) for k in ("args_preview", "output_preview")
                             if isinstance(row.get(k), str)}}
        items.append(row)
    return {**invocations, "items": items}


def diff(d: dict[str, Any]) -> dict[str, Any]:
    """A version diff, with the diffs of the dependencies it carries."""
    deps = [diff(x) if isinstance(x, dict) else x for x in d.get("dependencies") or ()]
    return {**d, **{k: redact_text(d[k]) for k in ("source_diff", "closure_diff") if isinstance(d.get(k), str)},
            "dependencies": deps}
