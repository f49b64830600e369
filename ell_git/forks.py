"""What a forked child of the caller must not inherit: the parent's threads, journal and writer
process channel. Objects registered here get their ``_after_fork()`` called in the child, right
after the fork (their own errors are swallowed: a fork must never fail because of tracking).

Child processes (forked, or started by `multiprocessing` with any start method) are where calls
got lost: a pool worker ends through ``os._exit`` (no `atexit`), or by SIGTERM (``Pool.terminate``,
which a ``with Pool()`` block calls on exit, right after the last result), or by SIGKILL. So in a
child nothing a call recorded ever waits in the child's memory; when ``record_invocation``
returns, the line is

* in a writer process's socket: a forked child has its own connection to its parent's writer
  process, made at the fork, so there is no start-up to wait for (`writer_process`); a spawned
  child's own writer process takes lines once it runs. A writer process commits what it was sent
  when the sender ends, however it ended; or
* in the child's journal, appended by the caller without fsync (`journal.append_to_batch`): a
  process's death leaves the page cache intact, and the next flush or start of any store on the
  repository replays the journal of a dead process (the pool's parent flushing or closing its
  store is one).

On a clean exit the child's store is closed by a `multiprocessing` finalizer (they run before
``os._exit``), so its journal-first lines are committed by the child itself. Nothing here depends
on timing: no signal handler, no "wait a little before exiting".
"""

from __future__ import annotations

import os
import weakref
from typing import Any

_live: "weakref.WeakSet[Any]" = weakref.WeakSet()


def reset_in_children(obj: Any) -> None:
    """Call ``obj._after_fork()`` in every forked child while `obj` lives."""
    _live.add(obj)


def _after_fork_in_child() -> None:
    for obj in list(_live):
        try:
            obj._after_fork()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
