"""What every page does the same way: HTML vs. partial vs. `.json`, ids, filters, URLs.

A page's view builds one dict of JSON-ready data and calls `respond`: the `.json` twin gets that
dict, an HTMX request aimed at a region gets the region's `_partial.html`, anyone else the page.
"""

from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import urlencode

from flask import abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from ..data import Data, NotFound

PAGE_SIZE = 50

# Qualified Python names (module.Class.<locals>.fn), written as the store records them. Anything
# else (slashes, `..`, control characters) cannot be an LMP and is refused before the reader.
# (\Z, not $: `$` also matches before a trailing newline.)
_NAME = re.compile(r"^(?!.*\.\.)(?!\.)[\w<>.\-]{1,400}\Z")
_INV_ID = re.compile(r"^inv-[0-9a-f]{4,64}\Z")
# A version: its id (or a prefix), "v3", or a commit id (or prefix).
_VERSION_REF = re.compile(r"^(?:v\d{1,9}|lmp-[0-9a-f]{1,64}|[0-9a-f]{4,64})\Z")


def split_json(value: str) -> tuple[str, bool]:
    """`hello.json` → (`hello`, True): the `.json` twin lives at the same path plus `.json`."""
    if value.endswith(".json"):
        return value[:-5], True
    return value, False


def wants_json() -> bool:
    return request.path.endswith(".json")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        abort(404, description="No LMP has that name.")
    return name


def check_inv_id(inv_id: str) -> str:
    if not _INV_ID.match(inv_id):
        abort(404, description="That is not an invocation id (they look like inv-0123abcd…).")
    return inv_id


def check_version_ref(ref: str | None) -> str | None:
    if ref is None or ref == "":
        return None
    if not _VERSION_REF.match(ref):
        abort(404, description="That is not a version (use vN, a version id or a commit id).")
    return ref


def found(fn: Any, *args: Any, what: str = "That", **kwargs: Any) -> Any:
    """Call a data method; an unknown name/id becomes a 404 page instead of an error."""
    try:
        return fn(*args, **kwargs)
    except NotFound:
        abort(404, description=f"{what} is not in this repository.")


def wants_partial(target: str) -> bool:
    """An HTMX request that swaps the region `target` (history restores need the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


def partial_target(targets: tuple[str, ...]) -> str | None:
    """Which of a page's regions this request wants alone (None: the page or its JSON)."""
    if wants_json():
        return None
    return next((t for t in targets if wants_partial(t)), None)


def respond(template: str, data: Mapping[str, Any], *, partials: Mapping[str, str] | None = None,
            **extra: Any) -> ResponseReturnValue:
    """The JSON twin, a region's partial, or the full page, from the same data."""
    if wants_json():
        return jsonify(dict(data))
    for target, partial in (partials or {}).items():
        if wants_partial(target):
            return render_template(partial, **data, **extra)
    return render_template(template, **data, **extra)


# -- filters in the query string --------------------------------------------------------
_NUM_FILTERS = ("min_latency", "max_latency", "min_tokens", "max_tokens", "min_cost")  # min_cost: USD
#: Larger numbers are clamped to this: it still fits SQLite's 64-bit integers.
_HUGE = 2**62


def invocation_filters(args: Mapping[str, str], *, lmp: str | None = None) -> dict[str, Any]:
    """Reader keyword arguments from the query string; malformed numbers are ignored, not fatal."""
    out: dict[str, Any] = {"lmp": lmp if lmp is not None else (args.get("lmp") or None)}
    if out["lmp"] is not None and not _NAME.match(out["lmp"]):
        out["lmp"] = None
    version = args.get("version") or None
    out["version"] = version if version and _VERSION_REF.match(version) else None
    q = (args.get("q") or "").strip()
    out["q"] = q[:500] or None
    feedback = args.get("feedback") or None  # any | up | down | comment (ell_git.notes.FEEDBACK_FILTERS)
    out["feedback"] = feedback if feedback in ("any", "up", "down", "comment") else None
    for key in _NUM_FILTERS:
        raw = (args.get(key) or "").strip()
        try:
            val = float(raw) if raw else None
        except ValueError:
            val = None
        if val is not None and val == val and val >= 0:  # NaN and negatives mean nothing here
            val = min(val, _HUGE)  # 1e400 is inf; beyond SQLite's integers means "more than any"
            out[key] = int(val) if key.endswith("tokens") else val
        else:
            out[key] = None
    page = _int(args.get("page"), 1)
    out["limit"] = PAGE_SIZE
    out["offset"] = (min(max(page, 1), _HUGE // PAGE_SIZE) - 1) * PAGE_SIZE
    return out


def resolve_vn(filters: dict[str, Any], versions: list[dict[str, Any]]) -> None:
    """A `version=v3` filter names a version by its number; the reader wants its id."""
    ref = filters.get("version")
    if ref and re.fullmatch(r"v\d+", ref):
        match = [v["version_id"] for v in versions if f"v{v.get('vn')}" == ref]
        filters["version"] = match[0] if match else "lmp-none"  # a number it does not have: no rows


def page_info(total: int, offset: int, limit: int) -> dict[str, Any]:
    page = offset // limit + 1
    pages = max((total + limit - 1) // limit, 1)
    return {"page": page, "pages": pages, "total": total, "limit": limit, "offset": offset,
            "first": offset + 1 if total else 0, "last": min(offset + limit, total)}


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def url_with(path: str | None = None, /, **changes: Any) -> str:
    """The current URL (or `path`) with query parameters changed; None removes one."""
    args = {k: v for k, v in request.args.items()}
    for k, v in changes.items():
        if v is None or v == "":
            args.pop(k, None)
        else:
            args[k] = str(v)
    base = request.path if path is None else path
    qs = urlencode(args)
    return f"{base}?{qs}" if qs else base


def data() -> Data:
    from flask import current_app

    return current_app.extensions["ell_data"]
