"""Serialised invocations and the batches the writer journals and commits (the rest of what its
queues hold: `tasks`).

The line itself is `ell.records`' (`InvocationRecord.to_line`); here it is only bytes.

A batch is the unit of journaling and of segment naming: its id and time fix its segment paths
(see `layout.segment_path`), which is what makes replays checkable.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import orjson

from ell.records import InvocationRecord

from . import journal as jr
from .tasks import Line


def serialise(inv: InvocationRecord) -> bytes:
    """The record's line (`InvocationRecord.to_line`), copied fit to wait in a queue."""
    return keep(inv.to_line())


def keep(line: bytes) -> bytes:
    """A copy of an orjson result (without a trailing newline) fit to wait in a queue: orjson's
    own result keeps its whole output buffer allocated (~8 KB for a 700 B line, measured)."""
    return bytes(memoryview(line)[:-1] if line[-1:] == b"\n" else memoryview(line))


def queue_item(line: bytes) -> Line:
    """What the writer queues for a serialised line. Raises
    orjson.JSONDecodeError, KeyError or TypeError for a line that is not an invocation."""
    record = orjson.loads(line)
    return Line(str(record["version_id"]), line, str(record["lmp_name"]))


@dataclass
class Batch:
    id: str
    time: float
    lines: list[tuple[str, bytes]]  # (version id, canonical line)
    names: list[str] = field(default_factory=list)  # lmp names, for the commit subject
    replay: bool = False  # committed before? check segment paths first
    journaled: bool = True  # already in a journal (ours or a dead process's)
    synced: bool = True  # and fsynced
    bad: int = 0  # journal lines that were not a JSON object (left out)
    where: tuple[int, int] | None = None  # (offset, length) of its one entry in this process's journal


def new_batch_id() -> str:
    return secrets.token_hex(8)


def batch_from_entry(entry: jr.Entry, replay: bool) -> Batch:
    """The batch a journal entry holds. A line that is not a JSON object is left out and counted
    (`bad`): one damaged line must not hold back its batch, nor go into a segment. A header
    without a batch id or time raises KeyError/ValueError."""
    lines, names, bad = [], [], 0
    for line in entry.payload.split(b"\n"):
        if line:
            try:
                d = orjson.loads(line)
            except orjson.JSONDecodeError:
                d = None
            if type(d) is not dict:
                bad += 1
                continue
            lines.append((str(d.get("version_id")), line))
            names.append(str(d.get("lmp_name")))
    return Batch(str(entry.header["batch"]), float(entry.header["t"]), lines, names, replay, bad=bad)
