"""The first request on a repository whose read cache is far behind: index in the background and answer a
page that says how far it got (and reloads itself), instead of hanging for the whole indexing.

The first request starts `Reader.refresh()` in a thread and waits up to `WAIT_S`; a small repository
is ready by then and the request is answered as usual. Otherwise it and every request after it, until the
thread ends, get the progress page (`.json` twins: 503 with the progress and ``Retry-After``).
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, jsonify, request
from markupsafe import escape

#: How long a request waits for the indexing before answering the progress page.
WAIT_S = 5.0
#: Requests that never wait: assets, and live polls (they only compare ref tips).
_PASS = ("/static/", "/_live")


class Warmup:
    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def _run(self) -> None:
        try:
            self.reader.refresh()
        except BaseException as exc:  # the request that follows calls refresh again and reports it
            self.error = exc

    def busy(self) -> bool:
        """Start the first indexing if needed; whether it is still running after `WAIT_S`."""
        with self._lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="ell-index", daemon=True)
                self.thread.start()
        self.thread.join(WAIT_S)
        return self.thread.is_alive()

    def page(self) -> Response:
        progress = getattr(self.reader, "indexing", lambda: None)() or (0, 0)
        done, total = progress
        if request.path.endswith(".json"):
            resp = jsonify(status=503, indexing={"done": done, "total": total})
            resp.status_code = 503
        else:
            what = f"{done:,} of {total:,} refs" if total else "listing refs"
            resp = Response(
                "<!doctype html><html lang=en><head><meta charset=utf-8><meta http-equiv=refresh content=2>"
                "<meta name=viewport content='width=device-width, initial-scale=1'><title>Indexing…</title></head>"
                f"<body><main><h1>Reading the history</h1><p id=indexing>Indexing {escape(what)}: the first visit "
                "builds the read cache (later ones only read what changed). This page reloads itself.</p>"
                "</main></body></html>", status=503, mimetype="text/html")
        resp.headers["Retry-After"] = "2"
        resp.headers["Cache-Control"] = "no-store"
        return resp


def register(app: Flask, reader: Any) -> None:
    if not callable(getattr(reader, "refresh", None)):
        return  # a reader without a cache to build (tests hand some in)
    warm = app.extensions["ell_warmup"] = Warmup(reader)

    @app.before_request
    def _wait_for_index() -> Response | None:
        if request.path.startswith(_PASS) or warm.thread is not None and not warm.thread.is_alive():
            return None
        return warm.page() if warm.busy() else None
