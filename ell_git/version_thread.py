"""The writer's second thread: version commits, one at a time, in the order they were queued.

A version may wait for a model-written commit message (`versions.VersionWriter`), so it does not
hold up invocations. Like the invocation thread it hands each commit it makes to a
`durable.Keeper` (checked on disk after the ref moved, held for a grace), repairs an LMP ref that
lacks objects before writing on it, and retries races with `git gc` silently.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any, Callable

import pygit2

from ell.records import VersionRecord

from . import durable, faults, refs, replay
from .tasks import Flush, Stop
from .versions import VersionWriter, version_payload

if TYPE_CHECKING:
    from .writer import Writer

#: Versions whose commit lost a race with garbage collection this many times in a row are warned about.
UNSETTLED_WARN = 5


def run(w: "Writer") -> None:
    """The thread's loop: write queued versions, answer flush markers, look at held commits, stop."""
    repo = pygit2.Repository(w.repo_path)
    vw = w.make_versions(repo, True)
    vw.hurry = w.hurry
    w._vunsettled = 0  # failures in a row that were races with garbage collection
    keeper = w._vkeeper = durable.Keeper(repo, w.on_error, lambda ref: replay.versions(vw, w.journal.entries(), ref))
    while True:
        w._vwake.wait(keeper.wait_seconds(5.0 if w._vretry else math.inf) if keeper.held or w._vretry else None)
        w._vwake.clear()
        if keeper.due():
            _guard(w, keeper.check)
        if w._vretry:
            pending, w._vretry = w._vretry, []
            w._vq.extendleft(reversed(pending))
        while w._vq:
            match w._vq.popleft():
                case Flush() as flush:
                    flush.ok = flush.ok and not w._vretry
                    flush.event.set()
                case VersionRecord() as version:
                    _write_reporting(w, vw, keeper, version)
                case Stop():
                    w._settled.append(bool(_guard(w, lambda: settle(w, vw, keeper))))
                    return


def _write_reporting(w: "Writer", vw: VersionWriter, keeper: durable.Keeper, v: VersionRecord) -> None:
    """Write `v`; on failure keep it for a retry and say so (a race with `git gc` only if it lasts)."""
    try:
        write_retrying(w, vw, keeper, v)
    except Exception as exc:
        w._vretry.append(v)
        w._failing.add("version")
        racing = isinstance(exc, durable.Unsettled) or durable.transient(exc)
        w._vunsettled = w._vunsettled + 1 if racing else 0
        if not 0 < w._vunsettled < UNSETTLED_WARN:  # a race with garbage collection: only if it lasts
            w.on_error("version", f"could not commit version {v.version_id} of {v.name} ({exc}); will retry")
    else:
        w._vunsettled = 0
        if "version" in w._failing and not w._vretry:
            w._failing.discard("version")
            w.on_error("version", "")  # recovered: the next failure is news again


def settle(w: "Writer", vw: VersionWriter, keeper: durable.Keeper) -> bool:
    """Before the thread stops: versions waiting for a retry written, held commits verified."""

    def retry() -> None:
        for v in w._vretry[:]:
            w._vretry.remove(v)
            try:
                write_retrying(w, vw, keeper, v)
            except Exception:
                w._vretry.append(v)

    return durable.settle(keeper, w._stop_by, retry, lambda: bool(w._vretry))


def _guard(w: "Writer", fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        w.on_error("version-check", f"checking version commits failed ({type(exc).__name__}: {exc}); will retry")
        return None


def write_retrying(w: "Writer", vw: VersionWriter, keeper: durable.Keeper, v: VersionRecord) -> None:
    for attempt in range(durable.TRANSIENT_ATTEMPTS):  # races with `git gc` are retried silently
        try:
            return write(w, vw, keeper, v)
        except Exception as exc:
            if attempt + 1 == durable.TRANSIENT_ATTEMPTS or not durable.transient(exc):
                raise
            vw.forget(refs.lmp_ref(v.name))
            time.sleep(0.005 * (attempt + 1))


def write(w: "Writer", vw: VersionWriter, keeper: durable.Keeper, v: VersionRecord, repaired: bool = False) -> None:
    """Journal `v` and commit it, unless its ref's history has it already; hand the commit to `keeper`."""
    refname = refs.lmp_ref(v.name)
    try:
        _, tip = refs.read_tip(vw.repo, refname)
        if v.version_id in vw.known(refname, tip):
            return  # the common case at every process start: nothing to journal or write
        if v.version_id in w._journaled_versions:
            w.journal.sync()  # the caller journaled it (no fsync): durable before the commit, as below
        else:
            w.journal.append("ver", {}, version_payload(v))
        if faults.ARMED:
            faults.reached("version")
        new = vw.write(v)
    except (refs.DamagedRef, KeyError, pygit2.GitError):
        # The LMP's ref (or its history) lacks objects: repair it once, then write again.
        if repaired or keeper.repair(refname) is None:
            raise
        vw.forget(refname)
        return write(w, vw, keeper, v, repaired=True)
    if new is None:
        return
    author, committer, text, tree, parents = vw.last_commit

    def remake() -> pygit2.Oid:  # the same commit again: same tree, message and signatures, same id
        vw.tree_of(v)
        return vw.repo.create_commit(None, author, committer, text, tree, parents)

    made = durable.Made(refname, str(new), str(parents[0]) if parents else None, 1, remake, lambda: w._vretry.append(v))
    if not keeper.made(made):
        raise durable.Unsettled(f"the objects of version commit {new} keep disappearing "
                                "(is `git gc --prune=now` or `git prune` running in a loop?)")
