"""Home: every LMP with its latest version and usage, and the dependency graph between them."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from .common import data, respond

bp = Blueprint("home", __name__)


# The `.json` twins are separate endpoints so that url_for("home.index") is always the page.
@bp.get("/.json", endpoint="index_json")
@bp.get("/index.json", endpoint="index_json_alias")
@bp.get("/")
def index() -> ResponseReturnValue:
    d = data()
    state = d.state_token()
    lmps = d.lmps()
    # The graph is the newest versions' `uses` (what Reader.graph() returns): read from the
    # rows already fetched rather than listing the LMPs a second time.
    edges = [(l["name"], u) for l in lmps for u in l.get("uses") or []]
    payload = {
        "state": state,
        "lmps": lmps,
        "graph": {"nodes": [l["name"] for l in lmps], "edges": [list(e) for e in edges]},
        "sharing": d.sharing(),
        "problems": d.problems(),
    }
    return respond("home.html", payload, partials={"lmps": "_home_partial.html"})
