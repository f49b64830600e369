"""The HTTP server under `ell web`: werkzeug's threaded server, bounded.

A thread per connection is fine for a handful of people, but a connection that sends nothing (or
one byte at a time) held its thread forever, and a thousand of them held a thousand threads. Here
every read and write on a connection times out (`REQUEST_TIMEOUT`, an idle keep-alive connection
included), and at most `MAX_CONNECTIONS` are served at once: the next one waits for a free slot
(at most `QUEUE_TIMEOUT`, in the accept loop, without a thread), then is answered ``503`` and closed.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

__all__ = ["REQUEST_TIMEOUT", "MAX_CONNECTIONS", "QUEUE_TIMEOUT", "BoundedServer", "make_bounded_server"]

REQUEST_TIMEOUT = 15.0  # seconds a connection may stay silent (reading a request or between requests)
MAX_CONNECTIONS = 64
QUEUE_TIMEOUT = 5.0  # how long a new connection waits for a free slot before it is told 503
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n"
         b"Retry-After: 1\r\nConnection: close\r\n\r\nell web is busy: try again in a moment.\n")


def _handler(timeout: float) -> type[WSGIRequestHandler]:
    class TimedHandler(WSGIRequestHandler):
        pass

    TimedHandler.timeout = timeout  # socketserver sets it on the connection: every read and write is bounded
    return TimedHandler


class BoundedServer(ThreadedWSGIServer):
    """At most `max_connections` connections served at once; the rest get 503 without a thread."""

    def __init__(self, *args: Any, max_connections: int = MAX_CONNECTIONS, queue_timeout: float = QUEUE_TIMEOUT,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(max_connections)
        self.max_connections, self.queue_timeout = max_connections, queue_timeout

    def process_request(self, request: Any, client_address: Any) -> None:
        waited = self.queue_timeout > 0
        if not (self._slots.acquire(timeout=self.queue_timeout) if waited else self._slots.acquire(blocking=False)):
            try:
                request.settimeout(1.0)
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # starts the thread that releases the slot
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def make_bounded_server(host: str, port: int, app: Any, *, timeout: float = REQUEST_TIMEOUT,
                        max_connections: int = MAX_CONNECTIONS, queue_timeout: float = QUEUE_TIMEOUT) -> BoundedServer:
    server = BoundedServer(host, port, app, _handler(timeout), max_connections=max_connections,
                           queue_timeout=queue_timeout)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    return server
