"""Evaluations: the list, one evaluation (versions × metrics, runs), one run, two runs side by side,
a double-blind comparison, and an invocation's feedback. All read-only; votes and feedback are
posted to `views.feedback`, which exists only when the app runs with ``feedback=True``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Callable

from flask import Blueprint, abort, current_app, request
from flask.typing import ResponseReturnValue

from .. import blind
from ..data import plain
from .common import check_inv_id, data, found, respond, split_json

bp = Blueprint("evals", __name__)

_RUN_ID = re.compile(r"^run-[0-9a-f]{4,32}\Z")
_EVAL_ID = re.compile(r"^eval-[0-9a-f]{1,32}\Z")


def read(fn: Callable[..., Any], *args: Any, what: str = "That", **kwargs: Any) -> Any:
    """A reader call as plain data (through `Data`, which maps the reader's "unknown" error); an
    unknown name or id is a 404 page."""
    return plain(found(data()._call, fn, *args, what=what, **kwargs))


def check_name(name: str) -> str:
    if not name or len(name) > 300 or any(ord(c) < 32 for c in name):
        abort(404, description="No evaluation has that name.")
    return name


def check_run(run_id: str | None) -> str:
    if not run_id or not _RUN_ID.match(run_id):
        abort(404, description="That is not an evaluation run id (they look like run-0123abcd…).")
    return run_id


def writer() -> str:
    """This clone's writer id: whose blind votes and feedback are whose."""
    from ell_git.repo import writer_id

    cfg = current_app.config
    if "ELL_WRITER" not in cfg:
        cfg["ELL_WRITER"] = writer_id(data().reader.repo)
    return str(cfg["ELL_WRITER"])


def blind_secret() -> bytes:
    return current_app.config.setdefault("ELL_BLIND_SECRET", secrets.token_bytes(16))


@bp.app_template_filter("score")
def score_filter(value: Any) -> str:
    """A score with three significant digits ("–" when missing)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "–" if not isinstance(value, (int, float)) else f"{value:.3g}"


NO_FEEDBACK = {"count": 0, "up": 0, "down": 0, "score": None, "comments": 0, "entries": []}


@bp.app_context_processor
def feedback_globals() -> dict[str, Any]:
    """`feedback_of(inv)` for the invocation page's feedback panel (empty for a reader without notes,
    such as one a test hands to `create_app`)."""

    def feedback_of(inv_id: str) -> dict[str, Any]:
        notes = getattr(data().reader, "notes", None)
        return plain(notes.feedback(inv_id)) if notes is not None else dict(NO_FEEDBACK, invocation=inv_id)

    return {"feedback_of": feedback_of}


@bp.get("/evals.json", endpoint="index_json")
@bp.get("/evals")
def index() -> ResponseReturnValue:
    d = data()
    payload = {"state": d.state_token(), "evaluations": read(d.reader.evals.evaluations)}
    return respond("evals.html", payload, partials={"evals": "_evals_partial.html"})


@bp.get("/evals/<path:name>")
def show(name: str) -> ResponseReturnValue:
    name, _ = split_json(name)
    check_name(name)
    d = data()
    eval_id = request.args.get("eval_id") or None
    if eval_id is not None and not _EVAL_ID.match(eval_id):
        abort(404, description="That is not an evaluation version (they look like eval-0123abcd…).")
    detail = read(d.reader.evals.evaluation, name, eval_id, what=f"The evaluation {name!r}")
    definition = next(x for x in detail["definitions"] if x["id"] == detail["eval_id"])
    payload = {"state": d.state_token(), **detail, "definition": definition}
    return respond("eval.html", payload, partials={"eval": "_eval_partial.html"})


@bp.get("/runs/<run_id>")
def run(run_id: str) -> ResponseReturnValue:
    run_id, _ = split_json(run_id)
    check_run(run_id)
    d = data()
    payload = {"state": d.state_token(), **read(d.reader.evals.eval_run, run_id, what=f"Run {run_id!r}")}
    payload["cost"] = run_cost(d, payload.get("results") or ())
    return respond("eval_run.html", payload)


def _ids(result: dict[str, Any] | None, labelers: bool) -> list[str]:
    if not result:
        return []
    ids = [result.get("invocation_id")]
    if labelers:
        more = result.get("label_invocation_ids") or {}
        ids += list(more.values()) if isinstance(more, dict) else list(more)
    return [str(i) for i in ids if isinstance(i, str)]


def run_cost(d: Any, results: Any) -> dict[str, Any] | None:
    """What a run's calls cost: `lmp` (the evaluated LMP's calls) and `total` (with model-graded labelers)."""
    results = list(results)
    lmp = d.cost_of([i for r in results for i in _ids(r, False)])
    if lmp is None:
        return None
    return {"lmp": lmp, "total": d.cost_of([i for r in results for i in _ids(r, True)])}


def _per_point(cost: dict[str, Any] | None, summaries: dict[str, Any], names: Any) -> dict[str, float | None]:
    """USD of the run's LMP calls per point of each labeler's mean score (None: unpriced or mean ≤ 0)."""
    usd = ((cost or {}).get("lmp") or {}).get("cost_usd")
    out: dict[str, float | None] = {}
    for n in names:
        mean = (summaries.get(n) or {}).get("mean")
        out[n] = round(usd / mean, 12) if usd is not None and isinstance(mean, (int, float)) and mean > 0 else None
    return out


def comparison_of_request() -> dict[str, Any]:
    """The runs `a` and `b` of the query string (or of a posted vote) compared."""
    a, b = check_run(request.values.get("a")), check_run(request.values.get("b"))  # GET page or POST vote
    return read(data().reader.evals.compare_runs, a, b, what="One of those runs")


@bp.get("/compare.json", endpoint="compare_json")
@bp.get("/compare")
def compare() -> ResponseReturnValue:
    d = data()
    payload = {"state": d.state_token(), **comparison_of_request()}
    rows = payload.get("rows") or ()
    for side in ("a", "b"):  # cost of each run, and per point of score (the cheaper way to a score)
        cost = run_cost(d, [r.get(side) for r in rows])
        payload[f"cost_{side}"] = cost
        payload[f"cost_per_point_{side}"] = _per_point(cost, payload[side].get("summaries") or {},
                                                       payload.get("labelers") or ())
    return respond("eval_compare.html", payload)


def blind_payload() -> dict[str, Any]:
    """What the blind page and its vote handler show next (never which run wrote which output)."""
    comparison = comparison_of_request()
    st = blind.state(blind_secret(), comparison, data().reader.notes.feedback_index(), writer())
    runs = {k: {f: comparison[k][f] for f in ("id", "lmp", "version_id", "vn", "api_params")} for k in ("a", "b")}
    # The runs are named (the user picked them); which one wrote "1" is not, until every pair is voted.
    return {"name": comparison["name"], "a": runs["a"]["id"], "b": runs["b"]["id"], **st,
            "runs": runs if st["done"] else None}


@bp.get("/blind.json", endpoint="blind_json")
@bp.get("/blind")
def blind_page() -> ResponseReturnValue:
    d = data()
    return respond("eval_blind.html", {"state": d.state_token(), **blind_payload()},
                   partials={"blind": "_eval_blind_partial.html"})


@bp.get("/invocation/<inv_id>/feedback.json", endpoint="feedback_json")
@bp.get("/invocation/<inv_id>/feedback")
def feedback(inv_id: str) -> ResponseReturnValue:
    check_inv_id(inv_id)
    payload = {"feedback": plain(data().reader.notes.feedback(inv_id)), "invocation": inv_id}
    return respond("_feedback_partial.html", payload)
