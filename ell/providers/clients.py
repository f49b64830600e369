"""The client object a call really uses, given the client it was configured with.

A sync call given an `AsyncOpenAI` (or an async call given an `OpenAI`) uses a *twin*: a client
of the other kind with the same key, URL and options. An async call also never shares a connection
pool across event loops: an httpx pool belongs to the loop that opened its connections, and using
it from a later `asyncio.run()` fails with "Event loop is closed". So every event loop gets its own
async client, made from the configured one.

Twins live in a `WeakKeyDictionary` keyed by the configured client *object*: they die with it, and
a new client can never inherit another's twin, even at the same `id()` (a twin keyed by `id()` once
sent one tenant's prompt to another tenant's endpoint with the other's key). A twin is also checked
against its client's current key and URL on every use, so reassigning `client.api_key` is honoured.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import weakref
from typing import Any, AsyncIterator, Optional

import openai

_lock = threading.Lock()
#: configured sync/async client → its twin of the other kind (sync calls)
_sync_twins: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()
#: configured client → {event loop → _LoopClient} (async calls)
_loop_clients: "weakref.WeakKeyDictionary[Any, dict[asyncio.AbstractEventLoop, _LoopClient]]" = (
    weakref.WeakKeyDictionary()
)


class _LoopClient:
    """An async client owned by one event loop, closed inside that loop when it shuts down.

    asyncio closes every async generator first iterated in a loop when the loop shuts down
    (`loop.shutdown_asyncgens()`, which `asyncio.run` and pytest-asyncio call) while it still runs:
    `_closer`'s `finally` closes the pool's connections there and forgets the client.
    """

    __slots__ = ("client", "loop", "per_loop", "closer")

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop, per_loop: dict) -> None:
        self.client, self.loop, self.per_loop = client, loop, per_loop
        self.closer = self._closer()  # the loop holds it weakly: this entry keeps it alive
        try:  # run it to its `yield` now, without awaiting: the loop's first-iteration hook registers it
            self.closer.asend(None).send(None)
        except StopIteration:
            pass

    async def _closer(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            with _lock:
                if self.per_loop.get(self.loop) is self:
                    del self.per_loop[self.loop]
            if not self.loop.is_closed():
                await self.client.close()

    def abandon(self) -> None:
        """Forget a client whose loop was closed without shutting down its generators (nothing to await)."""
        try:
            self.closer.aclose().send(None)
        except (StopIteration, RuntimeError):
            pass


def client_for_call(client: Any, asynchronous: bool) -> Any:
    """What a call made with `client` uses: `client` itself, or its twin for this kind of call and loop."""
    if not isinstance(client, (openai.OpenAI, openai.AsyncOpenAI)):
        return client  # another provider's client: its own business
    if not asynchronous:
        return client if isinstance(client, openai.OpenAI) else _sync_twin(client)
    if isinstance(client, openai.AsyncOpenAI) and not _has_sdk_pool(client):
        return client  # the user's own http_client: we cannot make another like it, and they chose it
    return _async_client_in_this_loop(client)


def _sync_twin(client: Any) -> Any:
    with _lock:
        twin = _sync_twins.get(client)
        if twin is None or not _same_endpoint(twin, client):
            twin = _sync_twins[client] = openai.OpenAI(**_options(client))
        return twin


def _async_client_in_this_loop(client: Any) -> Any:
    loop = asyncio.get_running_loop()
    with _lock:
        per_loop = _loop_clients.get(client)
        if per_loop is None:
            per_loop = _loop_clients[client] = {}
        entry = per_loop.get(loop)
        if entry is not None and _same_endpoint(entry.client, client):
            return entry.client
        closed = [old for lp, old in per_loop.items() if lp.is_closed()]
        fresh = openai.AsyncOpenAI(**_options(client), http_client=_new_pool())
        per_loop[loop] = _LoopClient(fresh, loop, per_loop)
    for old in closed:  # outside the lock: their generators take it
        old.abandon()
    return fresh


def _new_pool() -> Any:
    """A connection pool like the SDK's own, sharing one TLS context: building a context loads the CA
    bundle (~100 ms), which a new event loop (each `asyncio.run`, each pytest-asyncio test) must not pay."""
    return openai.DefaultAsyncHttpxClient(verify=_tls_context())


@functools.cache
def _tls_context() -> Any:
    httpx = getattr(openai._base_client, "httpx2", None) or openai._base_client.httpx  # openai 3.x / 1.x
    return httpx.create_ssl_context()


def _has_sdk_pool(client: Any) -> bool:
    """Whether `client` uses the openai SDK's own httpx pool (which we can recreate per loop)."""
    pool_type = getattr(getattr(openai, "_base_client", None), "AsyncHttpxClientWrapper", None)
    return pool_type is not None and isinstance(getattr(client, "_client", None), pool_type)


def _same_endpoint(twin: Any, client: Any) -> bool:
    return twin.api_key == client.api_key and str(twin.base_url) == str(client.base_url)


def _options(client: Any) -> dict[str, Any]:
    """The constructor arguments that make another client like `client` (with a pool of its own)."""
    options: dict[str, Any] = {
        "api_key": client.api_key,
        "base_url": client.base_url,
        "organization": client.organization,
        "timeout": client.timeout,
        "max_retries": client.max_retries,
        "default_headers": dict(getattr(client, "_custom_headers", {}) or {}),
        "default_query": dict(getattr(client, "_custom_query", {}) or {}),
    }
    project: Optional[str] = getattr(client, "project", None)
    if project is not None:
        options["project"] = project
    return options
