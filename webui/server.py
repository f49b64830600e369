"""Running the UI: `serve()` is what `ell web [PATH] [--host] [--port] [--open]` calls.

A threaded werkzeug server, bounded (`serving`): enough for the handful of people who look at one
repository, with no extra dependency. It answers only requests addressed to itself (`hosts`).
Binding to anything but loopback exposes prompts and outputs, so it warns.
"""

from __future__ import annotations

import os
import sys
import threading
import webbrowser
from typing import Iterable, TextIO

from .app import create_app
from .hosts import is_loopback
from .serving import MAX_CONNECTIONS, QUEUE_TIMEOUT, REQUEST_TIMEOUT, make_bounded_server


def url_for_host(host: str, port: int) -> str:
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def serve(repo_path: str | os.PathLike[str] = ".", host: str = "127.0.0.1", port: int = 8000,
          open_browser: bool = False, *, feedback: bool = False, allowed_hosts: Iterable[str] = (),
          request_timeout: float = REQUEST_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
          queue_timeout: float = QUEUE_TIMEOUT, out: TextIO | None = None, err: TextIO | None = None,
          trace_url: str | None = None) -> None:
    """Serve the UI for the repository at `repo_path` until interrupted (Ctrl-C).

    `port=0` picks a free port; the URL printed (on `out`, one line) always has the real one.
    `feedback=True` also serves the feedback endpoints (thumbs, comments, blind votes); loopback only.
    Only requests addressed to loopback names, to `host` or to `allowed_hosts` are answered (see
    `hosts`); connections time out after `request_timeout` silent seconds and at most
    `max_connections` are served at once, the next waiting up to `queue_timeout` (see `serving`).
    `trace_url` links invocations to a tracing UI (``{trace_id}``, ``{span_id}``; see `tracing`).
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if feedback and not is_loopback(host):
        # Feedback writes to the repository; the CSRF token and Origin check assume a local browser.
        raise ValueError(f"--feedback writes to the repository, so it serves on loopback only (got --host {host}): "
                         "use --host 127.0.0.1")
    allowed = tuple(allowed_hosts)
    app = create_app(repo_path, feedback=feedback, host=host, allowed_hosts=allowed, trace_url=trace_url)
    server = make_bounded_server(host, port, app, timeout=request_timeout, max_connections=max_connections,
                                 queue_timeout=queue_timeout)
    url = url_for_host(host, server.server_port)
    if not is_loopback(host):
        print(
            f"warning: serving on {host}: anyone who can reach this machine can read every prompt and output "
            "in this repository; use --host 127.0.0.1 to keep it local",
            file=err,
            flush=True,
        )
        if host in ("0.0.0.0", "::") and not allowed:
            print("note: only requests addressed to localhost are answered; name the address others use with "
                  "--allow-host (e.g. --allow-host myhost.local)", file=err, flush=True)
    print(f"ell web: serving {os.fspath(repo_path)} at {url}  (Ctrl-C to stop)", file=out, flush=True)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
