"""Committing again what journals hold: dead processes' journals, and this process's own after a repair.

A batch whose segment paths are already in the ref is skipped (its blobs are written again first,
which restores any that went missing), so a replay is exactly-once however often it runs or is
interrupted. Versions already in their ref's history are skipped the same way.
"""

from __future__ import annotations

from typing import Callable

from . import faults, refs
from . import journal as jr
from .batch import Batch, batch_from_entry
from .invocation_commit import Committer
from .versions import VersionWriter, version_from_payload

#: Batches per commit when replaying a journal.
BATCHES_PER_COMMIT = 64


class Replayer:
    """The writer's replay step: batches go through its `Committer` (so the exactly-once check and
    the retries are the same as for new ones), versions through a `VersionWriter` of its own."""

    def __init__(self, committer: Committer, versions: VersionWriter, journal_dir: str,
                 on_error: Callable[[str, str], None]) -> None:
        self.committer = committer
        self.versions = versions
        self.journal_dir = journal_dir
        self.on_error = on_error

    def orphans(self) -> int:
        """Commit what dead processes journaled but did not commit; returns batches replayed."""
        c = self.committer
        replayed = 0
        for orphan in jr.orphans(self.journal_dir, own=c.journal.path):
            ok = True
            damaged = 0  # entries or lines that cannot be read back (never committed)
            try:
                batches: list[Batch] = []
                for entry in jr.merge_batches(orphan.entries()):
                    # Decoding errors are the entry's own damage: skip it, keep the others.
                    if entry.kind == "inv":
                        try:
                            batch = batch_from_entry(entry, replay=True)
                        except (KeyError, TypeError, ValueError):
                            damaged += 1
                            continue
                        damaged += batch.bad
                        if batch.lines:
                            batches.append(batch)
                    elif entry.kind == "ver":
                        try:
                            version = version_from_payload(entry.payload)
                        except (KeyError, TypeError, ValueError):
                            damaged += 1
                            continue
                        self.versions.write(version)
                for i in range(0, len(batches), BATCHES_PER_COMMIT):
                    c.commit(batches[i : i + BATCHES_PER_COMMIT])
                    if faults.ARMED:
                        faults.reached("replay")
                replayed += len(batches)
            except Exception as exc:
                ok = False
                # The orphan file stays (the next replay checks paths again): forget only its batches.
                c.retry = [b for b in c.retry if not b.replay]
                self.on_error("replay", f"could not replay {orphan.path} ({exc}); it stays for the next run")
            finally:
                what = orphan.damage(damaged)
                if ok and what:
                    self.on_error("journal-damaged", (
                        f"the journal {orphan.path} of a dead process is damaged ({what}); everything readable "
                        f"in it is committed and the file is kept as {orphan.kept_as} for inspection"))
                orphan.done(delete=ok, damaged=bool(what))
        return replayed

    def recommit(self, ref: str) -> int:
        """After `ref` was repaired: commit again what this process's journal holds for it (then what
        dead processes' journals hold). Returns the records given back from this process's journal."""
        c = self.committer
        entries = c.journal.entries()
        given = 0
        if ref == c.refname:
            batches = []
            for entry in jr.merge_batches([e for e in entries if e.kind == "inv"]):
                try:
                    batches.append(batch_from_entry(entry, replay=True))
                except (KeyError, TypeError, ValueError):
                    continue
            for i in range(0, len(batches), BATCHES_PER_COMMIT):
                given += c.commit(batches[i : i + BATCHES_PER_COMMIT])
        else:
            given = versions(self.versions, entries, ref)
        self.orphans()
        return given


def versions(vw: VersionWriter, entries: list[jr.Entry], ref: str) -> int:
    """Write again the versions of LMP ref `ref` that `entries` (a journal) hold; returns how many
    were missing from it."""
    n = 0
    for entry in entries:
        if entry.kind != "ver":
            continue
        try:
            v = version_from_payload(entry.payload)
        except (KeyError, TypeError, ValueError):
            continue
        if refs.lmp_ref(v.name) == ref and vw.write(v) is not None:
            n += 1
    return n
