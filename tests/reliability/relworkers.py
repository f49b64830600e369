"""Code run in child processes (forked from the suite's fork server, see conftest.py).

Children report through small files, fsynced before they go on, so what a child said survives its
SIGKILL: a line is only written after the store acknowledged what it describes.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "store"))

from store_helpers import make_inv, make_version  # noqa: E402


def _say(f, text: str) -> None:
    f.write(text + "\n")
    f.flush()
    os.fsync(f.fileno())


def round_versions(rnd: int):
    """The versions a crash child records: one shared by every round, one of its own."""
    return [make_version(doc="Shared prompt."), make_version(doc=f"Prompt of round {rnd}.")]


def crash_child(repo: str, progress: str, rnd: int, spec: str, batches: int, batch: int, max_queue: int,
                pack_every: int = 10_000) -> None:
    """Record `batches` × `batch` invocations, flushing after each batch; `spec` arms a kill point.

    progress: "started" and "writer:<pid>" (its writer process), then after each acknowledged flush
    the number of invocations recorded so far, then "closed". Invocation i of round r has id
    make_inv(_, i, tag=f"r{r}").id."""
    from ell_git import GitStore, faults

    faults.arm(spec)
    with open(progress, "a") as f:
        store = GitStore(repo, autocommit=False, batch_size=batch, flush_interval=0.01, max_queue=max_queue,
                         spill_after=0.0005, exit_timeout=60, pack_every=pack_every)
        _say(f, "started")
        _say(f, f"writer:{store.writer_pid}")
        vs = round_versions(rnd)
        for v in vs:
            store.record_version(v)
        i = 0
        for _ in range(batches):
            for _ in range(batch):
                store.record_invocation(make_inv(vs[i % 2], i, tag=f"r{rnd}"))
                i += 1
            if store.flush(timeout=60):
                _say(f, str(i))
        store.close(timeout=60)
        _say(f, "closed")


def busy_writer(repo: str, k: int, threads: int, per_thread: int, out: str) -> None:
    """One of the concurrent writer processes: `threads` threads record versions and invocations.

    Every process records the same shared versions (racing to commit them first) and each thread
    adds new versions of a shared LMP now and then; invocation (k, t, i) has tag f"p{k}t{t}"."""
    from ell_git import GitStore

    store = GitStore(repo, autocommit=False, batch_size=40, flush_interval=0.02)
    shared = [make_version(name=f"conc.shared{j}", doc="Shared by every process.") for j in range(3)]
    own = make_version(name=f"conc.proc{k}", doc=f"Process {k}.")
    versions: list[list[str]] = [[] for _ in range(threads)]
    errors: list[str] = []

    def work(t: int) -> None:
        try:
            rng = random.Random(k * 100 + t)
            for i in range(per_thread):
                if i % 50 == 0:  # a new version of a shared LMP: versions race on one ref
                    v = make_version(name="conc.shared0", doc=f"Edited by p{k}t{t} at {i}.")
                    versions[t].append(v.version_id)
                    store.record_version(v)
                v = rng.choice([*shared, own])
                store.record_version(v)
                store.record_invocation(make_inv(v, i, tag=f"p{k}t{t}"))
                if i % 60 == 59 and not store.flush(timeout=120):
                    errors.append(f"thread {t}: flush at {i} was not acknowledged")
        except Exception:
            errors.append(traceback.format_exc())

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ok = store.flush(timeout=120)
    store.close(timeout=120)
    with open(out, "w") as f:
        json.dump({"ok": ok, "errors": errors, "versions": [v for vs in versions for v in vs],
                   "shared": [v.version_id for v in shared], "own": own.version_id}, f)


def sync_loop(a: str, b: str, stop: str, out: str) -> None:
    """`ell_git.sync.sync` in a loop on clone `a` (busy with writers) until `stop` exists; every few
    rounds clone `b` gets a new version of a shared LMP and syncs too, so `a` really merges."""
    from ell_git import GitStore
    from ell_git.sync import SyncError, sync

    done, failures, b_versions = 0, [], []
    n = 0
    while not os.path.exists(stop) and n < 10_000:
        n += 1
        try:
            sync(a, timeout=60)
            done += 1
        except SyncError as exc:
            failures.append(str(exc))
        if n % 3 == 0:
            v = make_version(name="conc.shared1", doc=f"Edited in clone b, round {n}.")
            s = GitStore(b, autocommit=False)
            s.record_version(v)
            s.flush(timeout=60)
            s.close()
            b_versions.append(v.version_id)
            try:
                sync(b, timeout=60)
                done += 1
            except SyncError as exc:
                failures.append(str(exc))
        time.sleep(0.05)
    with open(out, "w") as f:
        json.dump({"done": done, "failures": failures, "b_versions": b_versions}, f)


def sync_forever(a: str, progress: str) -> None:
    """Sync in a loop until killed; a line after each completed sync."""
    from ell_git.sync import sync

    with open(progress, "a") as f:
        _say(f, "started")
        while True:
            sync(a, timeout=60)
            _say(f, "synced")


def maintenance_child(repo: str, progress: str, stop: str, writer_process: bool, batch: int) -> None:
    """Record invocations in batches of `batch`, flushing after each, until `stop` exists (a new
    version every 5 batches). Progress: "n <acknowledged invocations>" and "v <version id>" after each
    acknowledged flush, then "closed". Invocation i has id make_inv(_, i, tag="m").id."""
    from ell_git import GitStore

    with open(progress, "a") as f:
        store = GitStore(repo, autocommit=False, flush_interval=0.05, writer_process=writer_process)
        if writer_process:
            store.wait_for_writer()
        i = rounds = 0
        v = None
        pending: list[str] = []
        while not os.path.exists(stop) and rounds < 10_000:
            if rounds % 5 == 0:
                v = make_version(name=f"maint.lmp{rounds // 25}", doc=f"Prompt of round {rounds}.")
                store.record_version(v)
                pending.append(v.version_id)
            for _ in range(batch):
                store.record_invocation(make_inv(v, i, tag="m"))
                i += 1
            rounds += 1
            if store.flush(timeout=120):
                for vid in pending:
                    _say(f, f"v {vid}")
                pending = []
                _say(f, f"n {i}")
        store.close(timeout=120)
        _say(f, "closed")


def git_loop(repo: str, command: list[str], stop: str, log: str) -> None:
    """Run `git <command>` in `repo` over and over until `stop` exists; a line per run: its exit status
    and, when it failed, git's first error line."""
    import subprocess

    with open(log, "a") as f:
        while not os.path.exists(stop):
            res = subprocess.run(["git", *command], cwd=repo, capture_output=True, text=True)
            lines = [l for l in res.stderr.splitlines() if l.startswith(("fatal:", "error:"))]
            err = lines[0] if res.returncode and lines else ""
            f.write(f"{res.returncode} {err}\n")
            f.flush()
