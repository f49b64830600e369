"""One commit of invocation batches on a writer's ref, and what to keep to make it again.

The writer (`writer`) journals batches first; this writes their segment blobs, the trees and the
commit, moves ``refs/ell/inv/<writer>`` by compare-and-swap (rebuilding on the new tip when another
process of the clone moved it), and returns a `durable.Made`: the same commit can be written again
byte for byte (`remake`: the same batches, parent tree, message and signature give the same ids),
or its batches committed again on whatever the ref became (`redo`).

`Committer` is the writer's commit step around it: batches journaled and fsynced before any object
is written, a ref lacking objects repaired once, races with `git gc` retried, each commit checked
whole on disk (`durable.Keeper`); what fails waits in `retry`, so nothing handed over is dropped.
"""

from __future__ import annotations

import collections
import time
from typing import Any, Callable

import pygit2

from . import durable, faults, layout, refs
from . import journal as jr
from .batch import Batch, batch_from_entry
from .packing import Packer
from .repo import signature


class Committer:
    """Commits invocation batches on one writer ref (`refname`) of `repo`, journaled in `journal`."""

    def __init__(self, repo: pygit2.Repository, refname: str, journal: jr.Journal, packer: Packer,
                 keeper: durable.Keeper) -> None:
        self.repo = repo
        self.refname = refname
        self.journal = journal
        self.packer = packer
        self.keeper = keeper
        self.retry: list[Batch] = []  # batches whose commit failed: committed again later

    def journal_batch(self, b: Batch, *, sync: bool) -> None:
        """Append `b` to the journal as one entry (fsynced if `sync`), remembering where it is."""
        b.where = self.journal.append("inv", {"batch": b.id, "t": b.time}, b"\n".join(ln for _, ln in b.lines), sync=sync)
        b.journaled, b.synced = True, sync
        if faults.ARMED:
            faults.reached("journal")

    def take_retry(self) -> list[Batch]:
        """The batches waiting for a retry; they no longer wait (a failed commit queues them again)."""
        batches, self.retry = self.retry, []
        return batches

    def commit(self, batches: list[Batch]) -> int:
        """Journal (if not yet) and commit `batches` on the writer ref (CAS loop), checked whole on disk
        after the ref moved (`durable`); on failure keep them for a retry, so nothing handed to the
        writer is ever dropped. Returns the records committed (a replay skips those already in)."""
        try:
            for b in batches:
                if not b.journaled:
                    self.journal_batch(b, sync=False)
            if any(not b.synced for b in batches):
                self.journal.sync()  # one fsync for the whole group, before any object is written
                for b in batches:
                    b.synced = True
            repaired = False
            for attempt in range(durable.TRANSIENT_ATTEMPTS):
                try:
                    # `redo` runs later (a held commit lost): late binding, since `take_retry` swaps the list
                    made = make(self.repo, self.refname, batches, self.journal, self.packer,
                                lambda again: self.retry.extend(again))
                    break
                except (refs.DamagedRef, KeyError, OSError, pygit2.GitError) as exc:
                    # A missing object under the ref: repair it (once), then build again on it.
                    if isinstance(exc, (refs.DamagedRef, KeyError)) and not repaired:
                        repaired = True
                        if self.keeper.repair(self.refname) is not None:
                            continue
                    if isinstance(exc, refs.DamagedRef) or attempt + 1 == durable.TRANSIENT_ATTEMPTS or not durable.transient(exc):
                        raise
                    time.sleep(0.005 * (attempt + 1))
            if made is not None and not self.keeper.made(made):
                raise durable.Unsettled(f"the objects of commit {made.oid} of {self.refname} keep disappearing "
                                        "(is `git gc --prune=now` or `git prune` running in a loop?)")
        except Exception:
            self.retry.extend(batches)
            raise
        return made.records if made is not None else 0


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

