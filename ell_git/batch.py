"""Serialised invocations and the batches the writer journals and commits (the rest of what its
queues hold: `tasks`).

A batch is the unit of journaling and of segment naming: its id and time fix its segment paths
(see `layout.segment_path`), which is what makes replays checkable.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import orjson

from ell.serialize import dumps, dumps_plain, dumps_spliced
from ell.store import InvocationRecord, cache_key

from . import journal as jr
from .tasks import Line


#: `serialise_plain` leaves records whose arguments and globals exceed this to the writer (they are hashed).
PLAIN_KEY_BYTES = 16 * 1024


def serialise(inv: InvocationRecord) -> bytes:
    """One canonical JSONL line, with the freeze key computed from the same canonical data."""
    args, bound = dumps(inv.args), dumps(inv.bound_globals)
    fields = dict(vars(inv), cache_key=cache_key(str(inv.version_id), args, bound))
    _drop_unset(fields)
    return keep(dumps_spliced(fields, {"args": args, "bound_globals": bound}))


def serialise_plain(inv: InvocationRecord, *, newline: bool = False) -> bytes | None:
    """`serialise(inv)` if that is cheap (plain data, text messages, small arguments), else None.

    The store calls this on the caller's thread: a line is a few µs of C, while a record left
    queued as live objects survives young collections and costs the caller more in full ones.
    With `newline` the line ends in ``\n`` and is orjson's own buffer, for writing at once:
    `keep` it before queueing."""
    args = dumps_plain(inv.args)
    bound = dumps_plain(inv.bound_globals) if inv.bound_globals else b"{}"
    if args is None or bound is None or len(args) + len(bound) > PLAIN_KEY_BYTES:
        return None
    fields = dict(vars(inv))
    _drop_unset(fields)
    fields["args"], fields["bound_globals"] = orjson.Fragment(args), orjson.Fragment(bound)
    fields["cache_key"] = cache_key(str(inv.version_id), args, bound)
    line = dumps_plain(fields, newline=newline)
    return line if newline or line is None else keep(line)


#: Fields a line holds only when set (OpenTelemetry ids, a recording policy): lines stay as they were.
OPTIONAL = ("trace_id", "span_id", "recording")


def _drop_unset(fields: dict) -> None:
    for key in OPTIONAL:
        if fields.get(key, 0) is None:
            del fields[key]


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
