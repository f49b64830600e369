"""async def LMPs and stream=True, through the real SDK."""

from __future__ import annotations

import asyncio

import pytest

import ell
from ell.testing import Reply


def test_async_lmp(model_server, memory_store):
    @ell.simple(model="m")
    async def hello(name: str):
        """Sys."""
        return f"hi {name}"

    out = asyncio.run(hello("Ada"))
    assert out == "Echo: hi Ada" and isinstance(out, ell.lstr)
    assert memory_store.invocations[-1].args == {"name": "Ada"}


def test_async_lmps_run_concurrently_with_parents(model_server, memory_store):
    @ell.simple(model="m")
    async def leaf(i: int):
        return f"leaf {i}"

    @ell.simple(model="m")
    async def root():
        parts = await asyncio.gather(*(leaf(i) for i in range(3)))
        return " ".join(parts)

    asyncio.run(root())
    root_inv = memory_store.invocations[-1]
    leaves = [i for i in memory_store.invocations if i.lmp_name.endswith("leaf")]
    assert len(leaves) == 3 and {l.parent_id for l in leaves} == {root_inv.id}


def test_stream_yields_deltas_and_records_the_whole_call(model_server, memory_store):
    model_server.queue(Reply(text="one two three four"))

    @ell.simple(model="m")
    def f():
        return "x"

    stream = f(stream=True)
    deltas = list(stream)
    assert len(deltas) > 1 and "".join(deltas) == "one two three four"
    assert stream.value == "one two three four"
    inv = memory_store.invocations[-1]
    assert inv.outputs[0].text == "one two three four" and inv.usage["total_tokens"] > 0
    assert model_server.requests[-1]["stream"] is True


def test_async_stream(model_server, memory_store):
    model_server.queue(Reply(text="alpha beta gamma"))

    @ell.simple(model="m")
    async def f():
        return "x"

    async def consume():
        s = await f(stream=True)
        return [d async for d in s]

    assert "".join(asyncio.run(consume())) == "alpha beta gamma"
    assert memory_store.invocations[-1].outputs[0].text == "alpha beta gamma"


def test_stream_broken_midway_records_error(model_server, memory_store):
    model_server.queue(Reply(text="a b c d e f g h", break_stream_after=2))

    @ell.simple(model="m")
    def f():
        return "x"

    with pytest.raises(Exception):
        list(f(stream=True, client=model_server.client(max_retries=0)))
    assert memory_store.invocations[-1].error


def test_function_with_its_own_stream_parameter(model_server, memory_store):
    @ell.simple(model="m")
    def f(stream: str):
        return stream

    assert f(stream="river") == "Echo: river"
