"""The only writes `ell web` makes, registered only with ``create_app(..., feedback=True)``
(``ell web --feedback``): thumbs up/down and comments on an invocation, and blind-comparison votes.

Each is an append to this clone's entries in the ``refs/notes/ell/feedback`` notes (see
`ell_git.notes`). Every POST must carry the per-process token (form field ``token`` or header
``X-Ell-Token``), come to a loopback Host (no DNS rebinding) and, when the browser says where it
comes from, from this same origin: another site open in the same browser cannot vote for you.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ell.records import FeedbackRecord

from .. import blind
from ..data import plain
from ..hosts import is_loopback
from .common import check_inv_id, data, wants_partial
from .evals import blind_payload, blind_secret, comparison_of_request, writer

bp = Blueprint("feedback", __name__)

TOKEN_HEADER = "X-Ell-Token"


def init_app(app: Flask) -> None:
    """Turn feedback on: a fresh token for this process, and the POST routes."""
    app.config["ELL_FEEDBACK_TOKEN"] = secrets.token_urlsafe(32)
    app.register_blueprint(bp)


@bp.before_request
def same_origin_only() -> None:
    token = str(current_app.config.get("ELL_FEEDBACK_TOKEN") or "")
    sent = request.headers.get(TOKEN_HEADER) or request.form.get("token") or ""
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        abort(403, description="Missing or stale feedback token: reload the page and try again.")
    if not is_loopback(urlsplit("//" + request.host).hostname or ""):
        abort(403, description="Feedback is accepted on a loopback address only (127.0.0.1 or localhost).")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        abort(403, description="Feedback must come from this page, not from another site.")
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        abort(403, description="Feedback must come from this page, not from another site.")


def _write(records: list[FeedbackRecord]) -> None:
    from ell_git.notes import write_feedback

    reader = data().reader
    try:
        write_feedback(reader.repo.path, reader, records, writer())
    except LookupError as exc:
        abort(404, description=str(exc))


@bp.post("/invocation/<inv_id>/feedback", endpoint="invocation")
def invocation(inv_id: str) -> ResponseReturnValue:
    from ell.feedback import make_record

    check_inv_id(inv_id)
    raw = (request.form.get("score") or "").strip()
    try:
        record = make_record(inv_id, raw or None, request.form.get("comment"), None, source="web")
    except (TypeError, ValueError) as exc:
        abort(400, description=str(exc))
    _write([record])
    if not wants_partial("feedback"):  # a plain form post (no JavaScript): back to the page
        return redirect(url_for("invocations.show", inv_id=inv_id), code=303)
    return render_template("_feedback_partial.html", feedback=plain(data().reader.notes.feedback(inv_id)),
                           invocation=inv_id)


@bp.post("/blind/vote", endpoint="vote")
def vote() -> ResponseReturnValue:
    from ell.feedback import make_record

    comparison = comparison_of_request()
    a, b = comparison["a"]["id"], comparison["b"]["id"]
    key = request.form.get("key") or ""
    try:
        sample = int(request.form.get("sample") or "")
    except ValueError:
        abort(400, description="sample must be a number")
    try:
        entries = blind.ballots(blind_secret(), comparison, key, sample, request.form.get("pick") or "",
                                comparison["name"])
    except ValueError as exc:
        abort(400, description=str(exc))
    except LookupError as exc:
        abort(404, description=str(exc))
    _write([make_record(e["invocation"], e["score"], None, e["labels"], source="blind") for e in entries])
    if not wants_partial("blind"):
        return redirect(url_for("evals.blind_page", a=a, b=b), code=303)
    return render_template("_eval_blind_partial.html", **blind_payload())
