"""Live updates: a cheap poll that tells pages when any `refs/ell/*` tip moved.

Every page carries a poller holding the reader's state token from when it was rendered. Every
~2 s it asks `/_live?token=...`: an unchanged token costs one ref listing and answers 204
(`HX-Reswap: none`, nothing swapped); a changed one answers a fresh poller plus the event
`ell-changed`, on which each live region of the page reloads its own partial.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from htmx_flask import make_response

from .common import data

bp = Blueprint("live", __name__)


@bp.get("/_live")
def poll() -> ResponseReturnValue:
    current = data().state_token()
    if request.args.get("token") == current:
        resp = make_response("", 204, reswap="none")
    else:
        resp = make_response(render_template("_live_partial.html", state=current), trigger="ell-changed")
    resp.headers["Cache-Control"] = "no-store"  # a cached answer would freeze the page
    return resp


@bp.get("/_live.json")
def poll_json() -> ResponseReturnValue:
    return jsonify(state=data().state_token())
