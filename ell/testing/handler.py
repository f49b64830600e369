"""HTTP plumbing: the threaded server and the OpenAI-shaped request handler.

Speaks HTTP/1.1 with keep-alive (exact ``Content-Length`` on JSON replies,
``Transfer-Encoding: chunked`` for SSE streams) so the openai SDK's pooled
httpx connections never hang.  Open connections are tracked so ``close_all``
can wake their threads at shutdown.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Protocol

from . import chat_request as rq
from .behaviour import completion_tokens, decide_choices
from .replies import ReplyLike, normalize
from .wire import Completion, completion_body, error_body, stream_chunks, usage_block

try:  # orjson is faster, but the server must also run without it
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    _loads = orjson.loads
except ImportError:  # pragma: no cover - exercised only without orjson
    import json

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    _loads = json.loads

__all__ = ["ThreadedServer", "Handler", "Owner"]


class Owner(Protocol):
    """What the handler threads need from the server that owns them (`server.ModelServer`)."""

    api_key: str | None
    models: Iterable[str]
    verbose: bool

    def _record(self, body: dict) -> None: ...

    def _next_item(self) -> ReplyLike: ...

    def _next_number(self) -> int: ...

    def _script_failed(self, exc: BaseException) -> None: ...

    def _wait(self, seconds: float) -> bool: ...


class ThreadedServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its open connections and threads."""

    daemon_threads = True
    block_on_close = False  # we join our own threads, with a timeout
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], owner: Owner) -> None:
        self.owner = owner
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address), daemon=True,
            name=f"ell-testing-conn-{self.server_address[1]}",
        )
        with self._lock:
            self._connections[request] = thread
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._connections.pop(request, None)

    def close_all(self, timeout: float) -> None:
        """Shut every open connection down and wait (bounded) for its thread."""
        with self._lock:
            connections = list(self._connections.items())
        for conn, _ in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for _, thread in connections:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients vanishing mid-response is normal in tests (timeouts, breaks).
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Routes OpenAI endpoints; one instance per connection."""

    protocol_version = "HTTP/1.1"
    server_version = "ell-testing/1.0"
    # Headers and body are separate writes: with Nagle on, the body waits for the client's delayed
    # ACK (~40 ms per request on Linux loopback).
    disable_nagle_algorithm = True
    server: ThreadedServer

    # -- routing ---------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def _route(self, method: str) -> None:
        try:
            try:
                raw = self._read_body()  # always drain, so keep-alive stays in sync
            except ValueError:
                self.close_connection = True  # framing is lost: cannot keep alive
                self._send_error(400, "Malformed request body framing.")
                return
            path = self.path.split("?", 1)[0].rstrip("/")
            if path.startswith("/v1/") or path == "/v1":
                path = path[3:]
            if method == "POST" and path == "/chat/completions":
                self._chat_completions(raw)
            elif method == "GET" and path == "/models":
                self._send_json(200, {"object": "list", "data": [self._model(m) for m in self.server.owner.models]})
            elif method == "GET" and path.startswith("/models/"):
                model = path[len("/models/") :]
                if model in self.server.owner.models:
                    self._send_json(200, self._model(model))
                else:
                    self._send_error(404, f"The model '{model}' does not exist", code="model_not_found")
            else:
                self._send_error(404, f"Invalid URL ({method} {self.path})", code="unknown_url")
        except OSError:  # client went away (timeout, cancelled stream): just drop it
            self.close_connection = True

    def _model(self, model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "ell-testing"}

    # -- chat completions ------------------------------------------------

    def _chat_completions(self, raw: bytes) -> None:
        owner = self.server.owner
        try:
            body = _loads(raw) if raw else None
        except ValueError:
            self._send_error(400, "We could not parse the JSON body of your request.")
            return
        if not self._authorized():
            return
        if isinstance(body, dict):
            owner._record(body)
        try:
            rq.validate(body)
        except rq.RequestError as exc:
            self._send_error(400, str(exc), param=exc.param)
            return
        try:
            replies = normalize(owner._next_item(), body)
        except Exception as exc:  # a broken script is a test bug: report it, never hang
            self._script_error(exc)
            return
        number = owner._next_number()

        delay = max(r.delay for r in replies)
        if delay > 0 and owner._wait(delay):
            self.close_connection = True  # server stopping: drop the request
            return
        error = next((r for r in replies if r.error is not None), None)
        if error is not None:
            self._send_error(int(error.error), error.error_message)
            return
        try:
            choices = decide_choices(body, replies, request_number=number)
        except Exception as exc:
            self._script_error(exc)
            return

        override = next((r.usage for r in replies if r.usage is not None), None)
        usage = usage_block(rq.prompt_tokens(body), completion_tokens(choices), override)
        completion = Completion(
            id=f"chatcmpl-elltest{number:012d}", created=int(time.time()), model=body["model"], choices=choices, usage=usage
        )
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            break_after = next((r.break_stream_after for r in replies if r.break_stream_after is not None), None)
            self._send_stream(stream_chunks(completion, include_usage=include_usage), break_after)
        else:
            self._send_json(200, completion_body(completion))

    def _script_error(self, exc: Exception) -> None:
        self.server.owner._script_failed(exc)
        self._send_error(500, f"ell.testing script error: {type(exc).__name__}: {exc}")

    def _authorized(self) -> bool:
        expected = self.server.owner.api_key
        if expected is None:
            return True
        given = self.headers.get("Authorization", "")
        if given == f"Bearer {expected}":
            return True
        key = given.removeprefix("Bearer ").strip()
        self._send_error(401, f"Incorrect API key provided: {key or '(none)'}.", code="invalid_api_key")
        return False

    # -- I/O -------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _common_headers(self) -> None:
        self.send_header("x-request-id", f"req_elltest{threading.get_ident():x}")
        self.send_header("openai-processing-ms", "1")

    def _send_json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        data = _dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self._common_headers()
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, status: int, message: str | None, *, code: str | None = None, param: str | None = None) -> None:
        # A short retry-after keeps SDK retries (default max_retries=2) fast.
        extra = {"retry-after-ms": "10"} if status == 429 or status >= 500 else None
        self._send_json(status, error_body(status, message, code=code, param=param), extra)

    def _send_stream(self, chunks: list[dict[str, Any]], break_after: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._common_headers()
        self.end_headers()
        events = [b"data: " + _dumps(chunk) + b"\n\n" for chunk in chunks] + [b"data: [DONE]\n\n"]
        for sent, event in enumerate(events):
            if break_after is not None and sent >= break_after:
                # Drop the connection without the terminating chunk: the
                # client sees an incomplete body, like a real network cut.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)  # OSError handled by _route
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.owner.verbose:
            sys.stderr.write("ell.testing: %s - %s\n" % (self.address_string(), format % args))
