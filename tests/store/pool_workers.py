"""What the pool tests run in their workers: a real LMP called through the openai SDK.

Importable by spawned and forkserver workers (tests/store is on their inherited sys.path).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import ell
from ell.versioning import compute_version


@ell.simple(model="gpt-4o-mini", temperature=0.0)
def echo(n: int):
    """You repeat numbers."""
    return f"Say {n}."


# What a first call would do in every worker (~0.4 s of CPU each), done once at import: forked
# workers inherit it. The version is still recorded by each worker's store, at its first call.
compute_version(echo)
importlib.import_module("openai.resources.chat")


def init_worker(base_url: str, api_key: str, repo: str | None, options: dict[str, Any]) -> None:
    """Pool initializer: a client of this process's own (an inherited one shares its parent's
    connections), and with `repo` a store of its own (spawn and forkserver start without one)."""
    import openai

    from ell_git import GitStore

    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
    if repo is None:
        ell.config.default_client = client
    else:
        ell.init(store=GitStore(repo, autocommit=False, **options), default_client=client)


def call(n: int) -> tuple[int, str]:
    """One LMP call; returns (worker pid, the invocation id ell gave it)."""
    out = echo(n)
    (invocation_id,) = out.origin_trace
    return os.getpid(), invocation_id


def call_then_die(k: int, n: int, report: str, *initargs: Any) -> None:
    """A worker that makes `n` calls, reports their ids, and is SIGKILLed before it could flush."""
    import signal

    init_worker(*initargs)
    ids = [call(k * n + i)[1] for i in range(n)]
    store = ell.config.store
    writer = getattr(store, "writer_pid", None) or 0  # the writer process this worker started, if any
    lines = "".join(f"{k} {writer} {inv}\n" for inv in ids)
    fd = os.open(report, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(fd, lines.encode())
    os.fsync(fd)
    os.kill(os.getpid(), signal.SIGKILL)


class Point:
    """A user object: not plain JSON, so the store cannot take the cheap path for it."""

    def __init__(self, x: int) -> None:
        self.x = x


def record_odd_then_die(n: int, ready: str) -> None:
    """Record `n` invocations whose arguments hold a user object (inherited store), then die by SIGKILL."""
    import signal

    import store_helpers

    v = store_helpers.make_version()
    for i in range(n):
        ell.config.store.record_invocation(store_helpers.make_inv(v, i, tag="odd", args={"p": Point(i)}))
    with open(ready, "w") as f:
        f.write("recorded")
    os.kill(os.getpid(), signal.SIGKILL)
