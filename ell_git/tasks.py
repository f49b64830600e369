"""What the writer's queues hold besides records: one small type per kind of work, which the writer's
loops handle with `match` (see `writer` and `version_thread`).

The invocation queue holds `InvocationRecord`s, `Line`s, `VersionRecord`s (handed to the version
thread), `Spilled`, `Flush`, `Orphans` and `Stop`; the version queue holds versions, `Flush` and `Stop`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import NamedTuple


class Line(NamedTuple):
    """An invocation serialised already (by the caller, or by the writer's staging): a tuple, because
    one is queued per call and a tuple is the cheapest thing to build on the caller's path."""

    version_id: str
    line: bytes  # one canonical JSONL line, no newline
    name: str  # the LMP's name, for the commit subject


@dataclass(frozen=True, slots=True)
class Spilled:
    """A record the caller wrote to the journal itself because the queue was full."""

    offset: int
    length: int


class Flush:
    """A flush request travelling through both queues; `ok` is False if something was deferred.
    The version thread sets `event` once everything queued before it is done."""

    __slots__ = ("event", "ok")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.ok = True


@dataclass(frozen=True, slots=True)
class Orphans:
    """Commit what dead processes journaled (queued by a flush or close that asks for it)."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Queued by `Writer.close`: a thread stops once what came before it is done."""


ORPHANS = Orphans()
STOP = Stop()
