"""`store.freeze(lmp)` replays recorded outputs of identical calls (ell-ai's API, which is broken there)."""

from __future__ import annotations

import ell


def test_freeze_hits_without_running_anything_inside(model_server, memory_store):
    @ell.simple(model="m")
    def inner(x: str):
        return f"inner {x}"

    @ell.simple(model="m")
    def outer(x: str):
        return "outer " + inner(x)

    first = outer("a")
    calls, invocations = len(model_server.requests), len(memory_store.invocations)
    with memory_store.freeze(outer):
        again = outer("a")
        assert again == first and isinstance(again, ell.lstr)
        assert len(model_server.requests) == calls  # no model call, and inner did not run either
        assert memory_store.invocations[-1].cached and len(memory_store.invocations) == invocations + 1
        miss = outer("b")  # different arguments: a real call
        assert miss == "Echo: outer Echo: inner b" and len(model_server.requests) == calls + 2
    outer("a")  # outside freeze: calls the model again
    assert len(model_server.requests) == calls + 4
