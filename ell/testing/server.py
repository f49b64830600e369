"""``ModelServer``: a scripted, OpenAI-compatible model on 127.0.0.1.

Owns the scripting state (reply queue, fallback script, received requests)
behind one lock, and the lifecycle of the background HTTP thread.
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .handler import ThreadedServer
from .replies import ReplyLike

if TYPE_CHECKING:
    import openai

__all__ = ["ModelServer", "serve", "DEFAULT_MODELS", "TEST_API_KEY"]

DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o", "gpt-4o-mini", "gpt-4-turbo", "gpt-3.5-turbo", "o1-mini")
TEST_API_KEY = "sk-test"


class ModelServer:
    """A fake OpenAI chat-completions server running in a background thread.

    Use ``serve()`` (or ``ModelServer().start()``); as a context manager it
    stops on exit.  Replies come from, in order: the FIFO ``queue``, then
    the ``script`` callable, then the default behaviour (see
    ``ell.testing.behaviour``).  All methods are thread-safe.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        models: Iterable[str] = DEFAULT_MODELS,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.api_key = api_key  # None: accept any key; else others get 401
        self.models: tuple[str, ...] = tuple(models)
        self.verbose = verbose
        self._requested_port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._queue: collections.deque[ReplyLike] = collections.deque()
        self._script: Callable[[dict], Any] | None = None
        self._requests: list[dict] = []
        self._errors: list[BaseException] = []
        self._counter = 0
        self._httpd: ThreadedServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------

    def start(self) -> ModelServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = ThreadedServer((self.host, self._requested_port), self)
        # A short poll interval makes shutdown() return promptly.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"ell-testing-server-{self._httpd.server_address[1]}",
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving, drop open connections, interrupt delays; idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_all(timeout)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def serve_forever(self) -> None:
        """Block the calling thread until ``stop()`` (used by the CLI)."""
        self.start()
        self._stopping.wait()

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    # -- scripting -------------------------------------------------------

    def queue(self, *replies: ReplyLike) -> ModelServer:
        """Append replies; each request consumes exactly one (FIFO)."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def script(self, fn: Callable[[dict], Any] | None) -> ModelServer:
        """Set the fallback ``fn(request) -> reply | None`` used when the queue is empty."""
        with self._lock:
            self._script = fn
        return self

    def reset(self) -> None:
        """Forget queue, script, recorded requests, errors and the id counter."""
        with self._lock:
            self._queue.clear()
            self._script = None
            self._requests.clear()
            self._errors.clear()
            self._counter = 0

    @property
    def pending(self) -> int:
        """Number of queued replies not consumed yet."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[dict]:
        """Chat-completion request bodies received so far (a snapshot)."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> dict:
        with self._lock:
            if not self._requests:
                raise LookupError("no request received yet")
            return self._requests[-1]

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised by scripts (each also answered with HTTP 500)."""
        with self._lock:
            return list(self._errors)

    # -- clients / environment ------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment variables pointing an OpenAI program at this server."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": self.api_key or TEST_API_KEY}

    def client(self, **kwargs: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` client for this server (kwargs pass through)."""
        import openai  # lazy: the server itself must not need the SDK

        kwargs.setdefault("api_key", self.api_key or TEST_API_KEY)
        return openai.OpenAI(base_url=self.base_url, **kwargs)

    def async_client(self, **kwargs: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` client for this server (kwargs pass through)."""
        import openai

        kwargs.setdefault("api_key", self.api_key or TEST_API_KEY)
        return openai.AsyncOpenAI(base_url=self.base_url, **kwargs)

    # -- called by the handler threads -----------------------------------

    def _record(self, body: dict) -> None:
        with self._lock:
            self._requests.append(body)

    def _next_item(self) -> ReplyLike:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            return self._script  # called outside the lock by normalize()

    def _next_number(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _script_failed(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless stopping; True means "stop now"."""
        return self._stopping.wait(seconds)

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        return f"<ModelServer {where} pending={self.pending}>"


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    api_key: str | None = None,
    models: Iterable[str] = DEFAULT_MODELS,
    verbose: bool = False,
) -> ModelServer:
    """Start a ``ModelServer``; use as ``with serve() as server: ...``."""
    return ModelServer(host, port, api_key=api_key, models=models, verbose=verbose).start()
