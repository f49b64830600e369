"""Process pools: every LMP call made in a worker is recorded exactly once.

Real pools (fork, spawn, forkserver; `with Pool()`, whose exit terminates the workers with
SIGTERM, and close + join, whose workers leave through `os._exit`; ProcessPoolExecutor), real LMP
calls through the openai SDK to the local model server, a real repository. A worker SIGKILLed
after its calls leaves them to the journal, which the next store on the repository commits.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any, Iterator

import orjson
import pool_workers
import pytest
from store_helpers import (
    git,
    make_inv,
    make_version,
    recorded_ids,
    wait_for_writer_process,
    wait_for_writer_processes,
)

import ell
from ell.testing import ModelServer, serve
from ell_git import GitStore, Reader, journal

pytestmark = pytest.mark.slow

CALLS = 200
WORKERS = 4  # fork; spawned and forkserver workers start their own interpreter and writer process: 2
KILLED_CALLS = 50  # per SIGKILLed worker
LMP = "pool_workers.echo"
TIMEOUT = 120


@pytest.fixture(scope="module")
def server() -> Iterator[ModelServer]:
    with serve() as s:
        yield s


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(key, "t")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(key, "t@l")
    path = tmp_path / "proj"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def _context(method: str) -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":  # workers fork from a server that imported these already (ignored if it runs)
        ctx.set_forkserver_preload(["pool_workers", "openai", "ell_git.store"])
    return ctx


def _parent_store(repo: Path, server: ModelServer, **options: Any) -> GitStore:
    """The test process is the pool's parent: like a user's script, it has a store (fork workers inherit it)."""
    store = GitStore(repo, autocommit=False, **options)
    ell.init(store=store, default_client=server.client(max_retries=0))
    return store


def _initargs(server: ModelServer, repo: Path, method: str) -> tuple[Any, ...]:
    # Forked workers inherit the parent's store; spawned ones open their own, as the user's module would.
    return (server.base_url, server.api_key or "test", None if method == "fork" else str(repo), {})


def _ids(results: list[tuple[int, str]]) -> set[str]:
    ids = [inv for _, inv in results]
    assert len(ids) == len(set(ids)) == CALLS
    return set(ids)


def _check_all_recorded_once(repo: Path, expected: set[str]) -> None:
    """After the parent closed its store and the writer processes ended: each call exactly once."""
    wait_for_writer_processes(repo)
    ids = recorded_ids(repo)
    missing = expected - set(ids)
    assert not missing, f"{len(missing)} of {len(expected)} calls lost"
    assert sorted(ids) == sorted(expected), "recorded twice, or unknown ids"
    vids = git(repo, "log", "--format=%(trailers:key=Ell-Version,valueonly,separator=)", f"refs/ell/lmp/{LMP}")
    assert len([v for v in vids.splitlines() if v]) == 1  # its version, committed once
    with Reader(repo) as r:
        assert r.invocations(lmp=LMP).total == len(expected)
    git(repo, "fsck", "--strict", "--no-progress")


@pytest.mark.parametrize("with_block", [True, False], ids=["with-block", "close-join"])
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_workers_lose_no_call(repo: Path, server: ModelServer, method: str, with_block: bool) -> None:
    store = _parent_store(repo, server)
    pool = _context(method).Pool(WORKERS if method == "fork" else 2, pool_workers.init_worker,
                                 _initargs(server, repo, method))
    if with_block:
        with pool:  # its exit terminates the workers (SIGTERM), right after their last result
            results = pool.map_async(pool_workers.call, range(CALLS), chunksize=1).get(TIMEOUT)
    else:
        results = pool.map_async(pool_workers.call, range(CALLS), chunksize=1).get(TIMEOUT)
        pool.close()
        pool.join()  # the workers leave through os._exit: no atexit
    store.close()
    _check_all_recorded_once(repo, _ids(results))


def test_process_pool_executor_loses_no_call(repo: Path, server: ModelServer) -> None:
    store = _parent_store(repo, server)
    with concurrent.futures.ProcessPoolExecutor(
            WORKERS, mp_context=multiprocessing.get_context("fork"), initializer=pool_workers.init_worker,
            initargs=_initargs(server, repo, "fork")) as executor:
        results = list(executor.map(pool_workers.call, range(CALLS), timeout=TIMEOUT))
    store.close()
    _check_all_recorded_once(repo, _ids(results))


def _journaled_ids(repo: Path) -> set[str]:
    """Invocation ids in the journals left under .git/ell/journal (read as the next store would)."""
    ids = set()
    directory = repo / ".git" / "ell" / "journal"
    for name in os.listdir(directory):
        for _, _, entry in journal.parse((directory / name).read_bytes()):
            if entry.kind == "inv":
                ids.update(orjson.loads(line)["id"] for line in entry.payload.split(b"\n") if line)
    return ids


def _kill_workers(server: ModelServer, tmp_path: Path, repo: Path | None,
                  options: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Forked workers, one after the other, one per `options`: each opens a store on `repo` (None:
    uses the inherited one), makes `KILLED_CALLS` calls, reports them, and is SIGKILLed; its writer
    process (if it has one of its own) ends before the next worker starts. Returns (worker, id)."""
    report = tmp_path / "ids"
    ctx = multiprocessing.get_context("fork")
    for k, opts in enumerate(options):
        worker = ctx.Process(target=pool_workers.call_then_die,
                             args=(k, KILLED_CALLS, str(report), server.base_url, server.api_key or "test",
                                   None if repo is None else str(repo), opts))
        worker.start()
        worker.join(TIMEOUT)
        assert worker.exitcode == -signal.SIGKILL
        writer = next(int(w) for i, w, _ in (line.split() for line in report.read_text().splitlines()) if int(i) == k)
        if repo is not None:
            wait_for_writer_process(writer)  # it commits what its dead worker had sent, then ends
    results = [(int(k), inv) for k, _, inv in (line.split() for line in report.read_text().splitlines())]
    assert len({inv for _, inv in results}) == len(options) * KILLED_CALLS
    return results


def test_sigkilled_workers_are_restored_from_their_journals_at_the_next_start(
        repo: Path, server: ModelServer, tmp_path: Path) -> None:
    """Workers with stores of their own (the parent has none) make their calls and are SIGKILLed
    before they could flush. What a worker's writer process had is committed by it; the rest is in
    the worker's journal, which the next store to start commits (here the second worker's store
    replays the first's). Without a writer process, everything waits in the journal."""
    # A long batch interval: nothing the killed workers' writer threads hold is committed by chance.
    results = _kill_workers(server, tmp_path, repo, [{"flush_interval": 60},
                                                    {"flush_interval": 60, "writer_process": False}])
    expected = {inv for _, inv in results}
    before = set(recorded_ids(repo))
    assert before | _journaled_ids(repo) == expected
    # No writer process, and nothing started after it to replay its journal: all of it is there.
    assert not before & {inv for k, inv in results if k == 1}
    nxt = GitStore(repo, autocommit=False)  # the next start replays the dead workers' journals
    assert nxt.flush(timeout=TIMEOUT)
    nxt.close()
    _check_all_recorded_once(repo, expected)
    assert os.listdir(repo / ".git" / "ell" / "journal") == []


def test_sigkilled_forked_workers_lose_no_call(repo: Path, server: ModelServer, tmp_path: Path) -> None:
    """Workers forked from the parent's store are SIGKILLed after their calls: their connections to
    the parent's writer process carried the lines, and the parent's close commits the journal of the rest."""
    store = _parent_store(repo, server, flush_interval=60)
    results = _kill_workers(server, tmp_path, None, [{}, {}])
    store.close()  # replays the dead workers' journals
    _check_all_recorded_once(repo, {inv for _, inv in results})
    assert os.listdir(repo / ".git" / "ell" / "journal") == []


def test_a_killed_workers_records_of_user_objects_are_not_held_in_memory(repo: Path, server: ModelServer,
                                                                        tmp_path: Path) -> None:
    """Records that are not plain JSON are serialised on the caller's thread in a child (the parent
    leaves them to its writer thread), so they too are sent or journaled before the call returns."""
    store = _parent_store(repo, server, flush_interval=60)
    ready = tmp_path / "ready"
    worker = multiprocessing.get_context("fork").Process(target=pool_workers.record_odd_then_die,
                                                         args=(20, str(ready)))
    worker.start()
    worker.join(TIMEOUT)
    assert worker.exitcode == -signal.SIGKILL and ready.read_text() == "recorded"
    store.close()
    wait_for_writer_processes(repo)
    v = make_version()
    assert sorted(recorded_ids(repo)) == sorted(make_inv(v, i, tag="odd").id for i in range(20))
