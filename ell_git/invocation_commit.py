"""One commit of invocation batches on a writer's ref, and what to keep to make it again.

The writer (`writer`) journals batches first; this writes their segment blobs, the trees and the
commit, moves ``refs/ell/inv/<writer>`` by compare-and-swap (rebuilding on the new tip when another
process of the clone moved it), and returns a `durable.Made`: the same commit can be written again
byte for byte (`remake`: the same batches, parent tree, message and signature give the same ids),
or its batches committed again on whatever the ref became (`redo`).
"""

from __future__ import annotations

import collections
from typing import Any, Callable

import pygit2

from . import durable, faults, layout, refs
from . import journal as jr
from .batch import Batch, batch_from_entry
from .packing import Packer
from .repo import signature


def make(repo: pygit2.Repository, refname: str, batches: list[Batch], journal: jr.Journal, packer: Packer,
         again: Callable[[list[Batch]], None]) -> durable.Made | None:
    """Write `batches` and move the ref; the `Made` to hold, or None if the ref held them all already.
    `again` queues batches for the writer to commit once more (`redo`)."""
    files: dict[str, pygit2.Oid] = {}
    owner: dict[str, Batch] = {}
    for b in batches:
        for path, oid in layout.write_segments(repo, b.id, b.time, b.lines).items():
            files[path] = oid
            owner[path] = b
    check = any(b.replay for b in batches)
    if faults.ARMED:
        faults.reached("objects")
    inputs: dict[str, Any] = {}

    def build(tip: pygit2.Oid | None) -> pygit2.Oid | None:
        if tip is not None:
            layout.check_commit_format(repo[tip])
        base = repo[tip].tree_id if tip is not None else None
        todo = files
        if check:  # replay: skip batches whose segments are already committed
            todo = {p: o for p, o in files.items() if layout.lookup(repo, base, p) is None}
        if not todo:
            return None
        tree = layout.put(repo, base, todo)
        if tree == base:
            return None
        done = {owner[p].id: owner[p] for p in todo}
        msg = message(refname, list(done.values()))
        sig = signature(repo, committer=True)
        parents = [tip] if tip is not None else []
        inputs.update(tip=tip, todo=todo, msg=msg, sig=sig, parents=parents, batches=list(done.values()))
        return repo.create_commit(None, sig, sig, msg, tree, parents)

    old = refs.read_tip(repo, refname)[1]
    new = refs.update(repo, refname, build)
    if faults.ARMED:
        faults.reached("ref")
    packer.count(len(files) + 8)  # segments (+ payloads), ~7 trees and a commit
    if new is None or new == old or not inputs:
        return None
    kept = [held(b) for b in inputs["batches"]]

    def remake() -> pygit2.Oid:  # the same objects again: same bytes, same ids
        for b in kept:
            b = revive(journal, b)
            layout.write_segments(repo, b.id, b.time, b.lines)
        tip = inputs["tip"]
        tree = layout.put(repo, repo[tip].tree_id if tip is not None else None, inputs["todo"])
        return repo.create_commit(None, inputs["sig"], inputs["sig"], inputs["msg"], tree, inputs["parents"])

    def redo() -> None:
        again([revive(journal, b) for b in kept])

    tip = inputs["tip"]
    records = sum(len(b.lines) for b in inputs["batches"])
    return durable.Made(refname, str(new), str(tip) if tip is not None else None, records, remake, redo)


def held(b: Batch) -> Batch:
    """What a held commit keeps of a batch: where it is in this process's journal (read back only if
    the commit must be made again), else its lines."""
    keep = b.where is None
    return Batch(b.id, b.time, b.lines if keep else [], b.names if keep else [], replay=True, where=b.where)


def revive(journal: jr.Journal, b: Batch) -> Batch:
    """`b` with its lines (read back from the journal if it kept only their place)."""
    if b.lines or b.where is None:
        return b
    return batch_from_entry(journal.read_at(*b.where), replay=True)


def message(refname: str, batches: list[Batch]) -> str:
    n = sum(len(b.lines) for b in batches)
    counts = collections.Counter(name for b in batches for name in b.names)
    top = ", ".join(name.rsplit(".", 1)[-1] for name, _ in counts.most_common(3))
    more = f" (+{len(counts) - 3} more)" if len(counts) > 3 else ""
    subject = f"Record {n} invocation{'s' if n != 1 else ''} of {top}{more}"
    trailers = [f"Ell-Batch: {b.id}" for b in batches]
    trailers += [f"Ell-Writer: {refname.rsplit('/', 1)[-1]}", f"Ell-Format: {layout.FORMAT_VERSION}"]
    return subject + "\n\n" + "\n".join(trailers) + "\n"

