"""The Flask app factory: blueprints, filters, the vendored htmx route, security headers, errors.

The app reads: every page asks `ell_git.Reader` (through `webui.data`). It writes to the repository
only with ``feedback=True``, and then only feedback notes (`views.feedback`); the reader alone may
write its cache under `.git/ell/`.
"""

from __future__ import annotations

import importlib.resources
import logging
import os
from pathlib import Path
from typing import Any, Iterable

from flask import Flask, Response, jsonify, render_template, request, send_file
from htmx_flask import Htmx
from werkzeug.exceptions import HTTPException

from ell_git.errors import NewerFormatError

from . import format as fmt
from . import hosts, templating, tracing, warmup
from .data import Data
from .json_provider import OrjsonProvider

log = logging.getLogger(__name__)

# Strict CSP: our own scripts and styles only, images inline (data:) or ours. htmx is configured
# (see base.html) not to eval or inject styles, so it runs under this policy too.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def htmx_js_path() -> Path:
    """Where the installed `django-js-lib-htmx` package keeps htmx.min.js (served as is, never copied)."""
    path = Path(str(importlib.resources.files("js_lib_htmx").joinpath("static/htmx/htmx.min.js")))
    if not path.is_file():
        raise FileNotFoundError(f"htmx.min.js not found at {path}: reinstall django-js-lib-htmx")
    return path


def open_reader(repo_path: str | os.PathLike[str]) -> Any:
    """`ell_git.Reader` over the repository at or above `repo_path` (it only writes its cache)."""
    from ell_git import Reader

    return Reader(repo_path)


def create_app(repo_path: str | os.PathLike[str], *, feedback: bool = False, testing: bool = False,
               reader: Any = None, host: str | None = None, allowed_hosts: Iterable[str] = (),
               trace_url: str | None = None) -> Flask:
    """Build the web app over the ell repository at `repo_path`.

    `feedback` also serves the only writes: thumbs, comments and blind votes, appended to git notes
    (see `views.feedback`); off by default, so the UI is read-only.
    `reader` lets tests hand in a prepared reader; by default `ell_git.Reader(repo_path)` is opened.
    Requests are answered only when addressed (``Host``) to a loopback name, to `host` (the bound
    address) or to one of `allowed_hosts` (see `hosts`); others get 403.
    `trace_url`: a URL template linking invocations to a tracing UI (see `tracing`).
    """
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.jinja_environment = templating.DictFirstEnvironment  # before anything makes app.jinja_env
    app.config.update(
        TESTING=testing,
        ELL_FEEDBACK=feedback,
        # Templates are fixed at install time; skipping the mtime check saves time on every render.
        TEMPLATES_AUTO_RELOAD=False,
    )
    hosts.install(app, hosts.allowed_names(host, allowed_hosts))  # first: before any view reads anything
    app.json = OrjsonProvider(app)
    Htmx(app)
    fmt.register(app)
    templating.register(app)
    tracing.register(app, trace_url if trace_url is not None else os.environ.get("ELL_TRACE_URL"))
    if reader is None:
        reader = open_reader(repo_path)
    app.extensions["ell_data"] = Data(reader)
    warmup.register(app, reader)  # a first indexing runs in the background behind a progress page
    # The header names the repository (its folder), not the path it was opened with (often ".").
    top = getattr(getattr(reader, "repo", None), "workdir", None) or getattr(getattr(reader, "repo", None), "path", None)
    where = Path(top or repo_path).resolve()
    app.config.update(ELL_REPO=str(where), ELL_REPO_NAME=where.name or str(where))

    from .views import evals, home, invocations, live, lmp

    for bp in (home.bp, lmp.bp, invocations.bp, live.bp, evals.bp):
        app.register_blueprint(bp)
    if feedback:
        from .views import feedback as feedback_views

        feedback_views.init_app(app)

    htmx_path = htmx_js_path()

    @app.get("/static/vendor/htmx.min.js")
    def htmx_js() -> Response:
        # Served from the installed package so upgrading the package upgrades the UI.
        resp = send_file(htmx_path, mimetype="text/javascript", max_age=3600, conditional=True)
        return resp

    @app.after_request
    def security_headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        if request.headers.get("HX-Request"):
            # Partials and full pages share URLs: caches must keep them apart.
            resp.vary.add("HX-Request")
            resp.vary.add("HX-Target")
        return resp

    _register_errors(app)
    return app


def _wants_json() -> bool:
    return request.path.endswith(".json") or request.accept_mimetypes.best == "application/json"


def _register_errors(app: Flask) -> None:
    """Every error is a page (or JSON for `.json` URLs) and never shows a traceback."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Any, int]:
        code = exc.code or 500
        title = exc.name or "Error"
        # Our own aborts carry a human sentence; werkzeug's defaults are generic and fine as they are.
        detail = exc.description or ""
        if _wants_json():
            return jsonify(error=title, status=code, detail=detail), code
        return render_template("error.html", code=code, title=title, detail=detail), code

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> tuple[Any, int]:
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return http_error(exc)
        title, detail = "Internal Server Error", "Something went wrong while reading the repository."
        if isinstance(exc, NewerFormatError):  # its one line says what to do
            log.error("%s", exc)
            detail = str(exc)
        else:
            log.exception("error while serving %s", request.path)
        if _wants_json():
            return jsonify(error=title, status=500, detail=detail), 500
        try:
            return render_template("error.html", code=500, title=title, detail=detail), 500
        except Exception:  # a broken template must not turn into a traceback either
            return Response(f"500 {title}", status=500, mimetype="text/plain"), 500


__all__ = ["create_app", "htmx_js_path", "open_reader"]
