"""Which client a call uses: async LMPs in any number of event loops, and every client's calls
going to that client's own server with its own key (never a collected client's twin)."""

from __future__ import annotations

import asyncio
import gc
import ssl
import threading

import openai
import pytest

import ell
from ell.providers import clients
from ell.testing import serve


@pytest.fixture
def hello():
    @ell.simple(model="m")
    async def hello(name: str):
        return f"hi {name}"

    return hello


def _requests_with(server, text: str) -> int:
    return sum(1 for r in server.requests if text in r["messages"][-1]["content"])


@pytest.mark.parametrize("kind", ["sync client", "async client", "environment"])
def test_async_lmp_in_successive_event_loops(model_server, monkeypatch, hello, kind):
    if kind == "environment":
        for k, v in model_server.env().items():
            monkeypatch.setenv(k, v)
        ell.config.default_client = None
        client = None
    elif kind == "sync client":
        client = model_server.client(max_retries=0)
    else:
        client = model_server.async_client(max_retries=0)
    for i in range(5):
        assert asyncio.run(hello(f"loop {i}", client=client)) == f"Echo: hi loop {i}"
    assert _requests_with(model_server, "hi loop") == 5


def test_async_lmp_in_event_loops_of_several_threads_at_once(model_server, hello):
    ell.init(store=None, default_client=model_server.client(max_retries=0))
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(t: int) -> None:
        start.wait()
        try:
            for i in range(3):
                results.append(asyncio.run(hello(f"t{t}-{i}")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(results) == sorted(f"Echo: hi t{t}-{i}" for t in range(4) for i in range(3))


def test_a_loops_client_is_closed_with_the_loop_and_not_kept(model_server, hello):
    client = model_server.client(max_retries=0)
    seen = []

    async def main():
        await hello("x", client=client)
        made = clients.client_for_call(client, asynchronous=True)
        assert made is clients.client_for_call(client, asynchronous=True)  # one per loop
        seen.append(made)

    for _ in range(3):
        asyncio.run(main())
    assert len({id(c) for c in seen}) == 3 and all(c.is_closed() for c in seen)
    assert not clients._loop_clients.get(client)  # shut-down loops leave nothing behind

    loop = asyncio.new_event_loop()  # closed without shutting down its generators
    loop.run_until_complete(main())
    loop.close()
    asyncio.run(main())  # the next loop forgets the closed one
    assert list(clients._loop_clients.get(client, {})) == []


def test_calls_reach_their_own_clients_server_even_at_a_reused_id(hello):
    """Tenants with their own servers and keys: a client made after another was collected (often at
    the same id) must never use the collected client's async twin, URL or key. (Twins keyed by id()
    sent 13 of 200 such prompts to the other tenant's server.)"""
    kept_before = len(clients._loop_clients), len(clients._sync_twins)
    tls = ssl.create_default_context()

    async def tenants(a, b) -> None:
        for i in range(40):
            tenant, server = ("a", a) if i % 2 == 0 else ("b", b)
            client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0,
                                   http_client=openai.DefaultHttpxClient(verify=tls))  # no CA bundle load each
            assert await hello(f"{tenant}{i}", client=client) == f"Echo: hi {tenant}{i}"
            del client
            gc.collect(0)  # the client's reference cycles are young

    with serve(api_key="key-a") as a, serve(api_key="key-b") as b:
        asyncio.run(tenants(a, b))  # one loop: only the client decides where a call goes
        asyncio.run(tenants(a, b))  # and in a second loop
        assert _requests_with(a, "hi a") == 40 and _requests_with(a, "hi b") == 0
        assert _requests_with(b, "hi b") == 40 and _requests_with(b, "hi a") == 0
        assert (len(clients._loop_clients), len(clients._sync_twins)) == kept_before  # nothing kept of them


def test_a_changed_key_or_url_is_honoured_by_twins(hello):
    with serve(api_key="key-a") as a, serve(api_key="key-b") as b:
        client = openai.OpenAI(base_url=a.base_url, api_key="key-a", max_retries=0)
        aclient = openai.AsyncOpenAI(base_url=a.base_url, api_key="key-a", max_retries=0)

        @ell.simple(model="m")
        def sync_hello(name: str):
            return f"hi {name}"

        async def both(tag: str):
            await hello(tag, client=client)
            return sync_hello(tag, client=aclient)  # a sync call made with an async client: its twin

        asyncio.run(both("first"))
        client.base_url, client.api_key = b.base_url, "key-b"
        aclient.base_url, aclient.api_key = b.base_url, "key-b"
        asyncio.run(both("second"))
        assert _requests_with(a, "hi first") == 2 and _requests_with(b, "hi second") == 2
