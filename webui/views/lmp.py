"""One LMP: source, closure and dependencies, version history, diffs, invocations and charts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request
from flask.typing import ResponseReturnValue
from htmx_flask import make_response

from .. import diffview, tracing, versionchart
from ..data import Data, NotFound
from .common import (check_inv_id, check_name, check_version_ref, data, found, invocation_filters, page_info,
                     partial_target, resolve_vn, respond, split_json)

bp = Blueprint("lmp", __name__)

#: How many versions the page lists before "show all" (the JSON twin always has all of them).
HISTORY_ROWS = 12
#: Dependencies are expanded this deep (a closure rarely nests deeper; cycles are cut anyway).
DEP_DEPTH = 4


def _versions(d: Data, name: str) -> list[dict[str, Any]]:
    versions = found(d.versions, name, what=f"The LMP {name!r}")
    if not versions:
        abort(404, description=f"The LMP {name!r} is not in this repository.")
    return versions


def _previous(versions: list[dict[str, Any]], version: dict[str, Any]) -> str:
    """The id of the version before `version` (itself for the first)."""
    ids = [v["version_id"] for v in versions]
    i = ids.index(version["version_id"]) if version["version_id"] in ids else len(ids) - 1
    return ids[max(i - 1, 0)]


def uses_of(version: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, version id) of what a version calls: from its summary, else from its meta.json."""
    if version.get("uses_ids") is not None:
        return list(zip(version.get("uses") or [], version.get("uses_ids") or []))
    meta = version.get("meta") or {}
    return list(zip(meta.get("uses_names") or [], meta.get("uses") or []))


def _dependencies(d: Data, version: dict[str, Any], depth: int, seen: set[str]) -> list[dict[str, Any]]:
    """The LMPs/tools this version uses, each pinned at the version it used, recursively."""
    out = []
    for dep_name, vid in uses_of(version):
        entry: dict[str, Any] = {"name": dep_name, "version_id": vid, "vn": None, "source": None,
                                 "dependencies": []}
        if vid not in seen and depth > 0:
            seen.add(vid)
            try:
                dep = d.version(dep_name, vid)
            except NotFound:
                dep = None
            if dep is not None:
                entry.update(source=dep.get("source"), vn=dep.get("vn"),
                             dependencies=_dependencies(d, dep, depth - 1, seen))
        out.append(entry)
    return out


@bp.get("/lmp/<name>")
def page(name: str) -> ResponseReturnValue:
    name, _ = split_json(name)
    check_name(name)
    d = data()
    state = d.state_token()
    # A live region reloading itself gets only what it shows: these requests follow every
    # change in the repository, so they should stay cheap.
    part = partial_target(("invocations", "history", "version-head", "version-main"))
    versions = _versions(d, name)
    running = d.running([name]).get(name)  # this LMP only: O(1) at 5,000 LMPs
    shown = f"{versions[-1]['version_id']}/{running['version_id'] if running else '-'}"  # no edge spaces: HTTP trims them
    if part in ("version-head", "version-main") and request.headers.get("X-Ell-Shown") == shown:
        return make_response("", 204, reswap="none")  # new invocations only: the version shown is as it was
    ref = check_version_ref(request.args.get("v")) or versions[-1]["version_id"]
    source = found(d.version, name, ref, what=f"Version {ref!r} of {name!r}")
    by_id = {v["version_id"]: v for v in versions}
    # The page shows the version's files (source, closure, meta) with its history entry.
    version = {**by_id.get(source["version_id"], {}), **source}
    payload: dict[str, Any] = {
        "state": state,
        "name": name,
        "version": version,
        "latest": versions[-1]["version_id"],
        "versions": versions,
        "masked": source.get("masked") or [],
        "running": running,  # after a revert: the older version the newest calls run
    }
    if part in (None, "version-main"):
        payload["dependencies"] = _dependencies(d, version, DEP_DEPTH, {version["version_id"]})
        payload["bound_globals"] = _bound_globals(d, version)
    if part in (None, "invocations"):
        filters = invocation_filters(request.args, lmp=name)
        resolve_vn(filters, versions)
        invs = d.invocations(**filters)
        payload["filters"] = {k: v for k, v in filters.items() if k not in ("limit", "offset")}
        payload["invocations"] = {**invs, **page_info(invs["total"], invs["offset"], filters["limit"])}
        # Usage follows the version filter; a filtered table brings its stats along (out of band).
        payload["stats"] = d.stats(name, version=filters["version"])
        payload["sampled"] = tracing.sampled(name)  # recording policies: counts are of recorded calls
        payload["cost"] = payload["stats"].get("cost")  # stats carries cost: no second read
        per = payload["stats"].get("cost_per_version") or {}
        payload["cost_per_version"] = [{"version_id": v["version_id"], "vn": v["vn"], **(per.get(v["version_id"]) or {
            "cost_usd": None, "priced_calls": 0, "unpriced_calls": 0, "label": "–"})} for v in versions]
        # Did it get better: scores, thumbs and this same cost per version (aggregates, no invocation read).
        payload["per_version"] = versionchart.per_version(versions, *d.version_progress(name, state),
                                                          payload["cost_per_version"])
    show_all = request.args.get("versions") == "all"
    history = list(reversed(versions))
    return respond(
        "lmp.html",
        payload,
        partials={"invocations": "_invocations_partial.html", "history": "_history_partial.html",
                  "version-head": "_version_head_partial.html", "version-main": "_version_main_partial.html"},
        vn_of={vid: v.get("vn") for vid, v in by_id.items()},
        history=history if show_all else history[:HISTORY_ROWS],
        show_all=show_all,
        oob_stats=part == "invocations",
        progress=_progress(payload.get("per_version")),
    )


def _progress(rows: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The per-version chart's template context, when some version has scores or feedback."""
    if not rows or not versionchart.has_signal(rows):
        return None
    return {"chart": versionchart.chart(rows), "legend": versionchart.legend(rows), "rows": rows,
            "metrics": versionchart.metrics(rows)}


def _bound_globals(d: Data, version: dict[str, Any]) -> dict[str, Any]:
    """Mutable globals as at definition, or (`?at=<invocation>`) as that call saw them."""
    at = request.args.get("at") or None
    if not at:
        return {"invocation": None, "values": (version.get("meta") or {}).get("bound_globals") or {}}
    check_inv_id(at)
    inv = found(d.invocation, at, what=f"Invocation {at!r}")
    return {"invocation": at, "values": inv["record"].get("bound_globals") or {}}


@bp.get("/lmp/<name>/diff.json", endpoint="diff_json")
@bp.get("/lmp/<name>/diff")
def diff(name: str) -> ResponseReturnValue:
    check_name(name)
    d = data()
    versions = _versions(d, name)
    # Default: what b (the latest unless named) changed: the version before b → b.
    b = check_version_ref(request.args.get("b")) or versions[-1]["version_id"]
    a = check_version_ref(request.args.get("a")) or _previous(versions, found(d.version, name, b, what=f"A version of {name!r}"))
    result = found(d.diff, name, a, b, what=f"A version of {name!r}")
    view = "split" if request.args.get("view") == "split" else "unified"
    payload = {"state": d.state_token(), "name": name, "view": view, "diff": result}
    files = {
        "source": diffview.parse(result.get("source_diff"), default_path="source.py"),
        "closure": diffview.parse(result.get("closure_diff"), default_path="closure.py"),
    }
    return respond("diff.html", payload, versions=versions, files=files, a=result["a"], b=result["b"],
                   dependencies=_dependency_diffs(result))


def _dependency_diffs(result: dict[str, Any], via: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The changed dependencies' diffs, nested ones flattened with the path that leads to them."""
    out = []
    for dep in result.get("dependencies") or ():
        out.append({**dep, "via": via, "files": diffview.parse(dep.get("source_diff"), default_path="source.py")})
        out += _dependency_diffs(dep, (*via, dep["name"]))
    return out
