"""Crash points for the fault-injection tests (tests/reliability); inert unless asked for.

``ELL_TEST_KILL_AT=objects:3`` makes the process SIGKILL itself the 3rd time the writer reaches
the point ``objects``; ``journal`` alone means the first time; several are separated by commas.
A child forked from an interpreter that already imported this module calls `arm` instead. A
writer process (`writer_child`) is armed with its parent's spec and kills its parent first: the
pair dies as one process did before the writer had its own.
Unset (always, outside those tests) `ARMED` is empty and each point costs one truth test, once
per batch, never per call.

Points, in the order a commit passes them (see `writer` and `journal`):

* ``spill``   a caller appended a record to the journal itself (back-pressure), before queueing it;
* ``torn``    half of a journal entry is written (the tail a crash mid-append leaves);
* ``journal`` a batch is in the journal, not yet fsynced, no object written;
* ``objects`` segment blobs are written, the ref is not moved (dangling objects);
* ``ref``     the ref moved, the journal still holds the batch (replay must skip it);
* ``version`` a version is journaled, its commit not written;
* ``replay``  a dead process's journal is partly committed, the file not yet deleted.
"""

from __future__ import annotations

import os
import signal
from typing import Callable

POINTS = ("spill", "torn", "journal", "objects", "ref", "version", "replay")


def parse(spec: str) -> dict[str, int]:
    """``"objects:3,ref"`` → ``{"objects": 3, "ref": 1}``."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name, _, count = part.partition(":")
        if name not in POINTS:
            raise ValueError(f"ELL_TEST_KILL_AT: unknown point {name!r} (one of {', '.join(POINTS)})")
        out[name] = max(1, int(count or 1))
    return out


#: The spec armed (handed on to a writer process).
SPEC: str = os.environ.get("ELL_TEST_KILL_AT", "")
#: point -> arrivals left before the kill; empty: nothing armed.
ARMED: dict[str, int] = parse(SPEC)
#: Killed first on the armed arrival (a writer process's parent, see `writer_child`).
ALSO_KILL: list[int] = []


def arm(spec: str) -> None:
    global SPEC
    SPEC = spec
    ARMED.clear()
    ARMED.update(parse(spec))


def reached(point: str, last_words: Callable[[], object] | None = None) -> None:
    """Count an arrival at `point`; on the armed one, run `last_words` and die like a crash."""
    left = ARMED.get(point)
    if left is None:
        return
    if left > 1:
        ARMED[point] = left - 1
        return
    if last_words is not None:
        last_words()
    for pid in ALSO_KILL:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os.kill(os.getpid(), signal.SIGKILL)
