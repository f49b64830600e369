"""Code run in spawned processes by the multi-process and crash tests."""

from __future__ import annotations

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from store_helpers import make_inv, make_version  # noqa: E402


def write_many(path: str, tag: str, n: int, versions: int, batch_size: int) -> None:
    """Record `n` invocations over a few versions shared with the other workers."""
    from ell_git import GitStore

    store = GitStore(path, autocommit=False, batch_size=batch_size, flush_interval=0.01)
    vs = [make_version(doc=f"Prompt {k}.") for k in range(versions)]
    for k, v in enumerate(vs):
        store.record_version(v)
    for i in range(n):
        store.record_invocation(make_inv(vs[i % versions], i, tag=tag))
        if i % 97 == 0:
            store.flush()
    store.close(timeout=60)


def write_until_killed(path: str, progress: str, batch: int) -> None:
    """Write batches forever; after each acknowledged flush, append the count to `progress`."""
    from ell_git import GitStore

    store = GitStore(path, autocommit=False, batch_size=batch, flush_interval=0.01)
    v = make_version()
    store.record_version(v)
    i = 0
    with open(progress, "a") as f:
        while True:
            for _ in range(batch):
                store.record_invocation(make_inv(v, i, tag="k"))
                i += 1
            if store.flush(timeout=30):
                f.write(f"{i}\n")
                f.flush()
                os.fsync(f.fileno())


def journal_then_die(path: str, n: int, ready: str) -> None:
    """Record `n` invocations while the ref is locked (so they are journaled, not committed),
    then die by SIGKILL, like a crash."""
    from ell_git import GitStore

    store = GitStore(path, autocommit=False, batch_size=10, flush_interval=0.01)
    v = make_version()
    for i in range(n):
        store.record_invocation(make_inv(v, i, tag="j"))
    ok = store.flush(timeout=2.0)
    with open(ready, "w") as f:
        f.write("acknowledged" if ok else "deferred")
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)


def send_then_die(path: str, n: int, ready: str) -> None:
    """Hand `n` invocations to the writer process, then die by SIGKILL (no flush, no atexit)."""
    from ell_git import GitStore

    store = GitStore(path, autocommit=False)
    assert store.wait_for_writer(60)
    v = make_version()
    for i in range(n):
        store.record_invocation(make_inv(v, i, tag="d"))
    time.sleep(0.2)  # the last lines are gathered until the writer process asks for them (~20 ms)
    with open(ready, "w") as f:
        f.write(str(store.writer_pid))
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)


def race_new_refs(path: str, k: int, n_refs: int, start: float) -> None:
    """Add one commit to each of `n_refs` fresh refs, in lockstep with the other racers."""
    import pygit2

    from ell_git import refs

    repo = pygit2.Repository(path)
    sig = pygit2.Signature("t", "t@localhost")
    tree = repo.TreeBuilder().write()
    for r in range(n_refs):
        while time.time() < start + r * 0.01:  # all racers hit ref r at the same moment
            pass
        refs.update(repo, f"refs/ell/inv/race{r}",
                    lambda tip: repo.create_commit(None, sig, sig, f"p{k}", tree, [tip] if tip else []))
