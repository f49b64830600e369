"""The writer process: plain invocations reach git through a child process fed by a pipe.

What it must keep: nothing lost when the parent is killed (the child commits what it was sent),
nothing lost when the child is killed or stalls (the parent falls back to its writer thread, with
one warning), the child's problems reported in the parent, and one writer process per process.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest
import store_workers
from store_helpers import (
    git,
    make_inv,
    make_version,
    recorded_ids,
    wait_for_writer_process,
    wait_for_writer_processes,
)

from ell_git import GitStore

SPAWN = multiprocessing.get_context("spawn")
BIG = [{"role": "assistant", "content": [{"text": "x" * 2000}]}]


@pytest.fixture
def running(user_repo: Path) -> Iterator[tuple[GitStore, Any]]:
    """A store whose writer process runs, with invocation 0 committed."""
    store = GitStore(user_repo, autocommit=False, flush_interval=0.05)
    v = make_version()
    store.record_invocation(make_inv(v, 0))
    assert store.wait_for_writer(60) and store.flush(timeout=30)
    yield store, v
    store.close()


def _ell_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if str(w.message).startswith("ell:")]


def test_invocations_go_through_the_writer_process(user_repo: Path) -> None:
    store = GitStore(user_repo, autocommit=False)
    pid = store.writer_pid  # started with the store, in the background
    assert pid is not None and b"ell_git.writer_child" in Path(f"/proc/{pid}/cmdline").read_bytes()
    v = make_version()
    store.record_version(v)
    store.record_invocation(make_inv(v, 0))  # most likely before it is ready: the writer thread takes it
    assert store.wait_for_writer(60)
    for i in range(1, 300):
        store.record_invocation(make_inv(v, i))
    assert store.flush(timeout=30)
    assert sorted(recorded_ids(user_repo)) == sorted(make_inv(v, i).id for i in range(300))
    # the writer process's own journal is beside the parent's while it runs
    journals = os.listdir(user_repo / ".git" / "ell" / "journal")
    assert any(name.startswith(f"{pid}-") for name in journals), journals
    store.close()
    wait_for_writer_process(pid, timeout=5)  # close ends it
    assert os.listdir(user_repo / ".git" / "ell" / "journal") == []
    git(user_repo, "fsck", "--strict", "--no-progress")


def test_lines_gathered_when_calls_stop_are_committed_without_a_flush(user_repo: Path,
                                                                      running: tuple[GitStore, Any]) -> None:
    store, v = running
    for i in range(1, 6):  # in quick succession: gathered, not written one by one
        store.record_invocation(make_inv(v, i))
    expected = sorted(make_inv(v, i).id for i in range(6))
    deadline = time.monotonic() + 10
    while sorted(recorded_ids(user_repo)) != expected:  # the writer process asks for them once input stops
        assert time.monotonic() < deadline, "gathered lines were not committed without a flush"
        time.sleep(0.05)
    store.close()


def test_a_killed_parent_loses_nothing_it_handed_over(user_repo: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    p = SPAWN.Process(target=store_workers.send_then_die, args=(str(user_repo), 2000, str(ready)))
    p.start()
    p.join(120)
    assert p.exitcode == -signal.SIGKILL
    wait_for_writer_process(int(ready.read_text()))  # it read to the end of its input, committed, exited
    v = make_version()
    ids = recorded_ids(user_repo)
    assert sorted(ids) == sorted(make_inv(v, i, tag="d").id for i in range(2000))
    git(user_repo, "fsck", "--strict", "--no-progress")


def test_a_killed_writer_process_falls_back_to_the_thread(user_repo: Path, running: tuple[GitStore, Any]) -> None:
    store, v = running
    for i in range(1, 100):
        store.record_invocation(make_inv(v, i))
    assert store.flush(timeout=30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        os.kill(store.writer_pid, signal.SIGKILL)
        while not _ell_warnings(caught):  # the store notices (a line written meanwhile would be lost)
            time.sleep(0.01)
        for i in range(100, 200):
            store.record_invocation(make_inv(v, i))
        assert store.flush(timeout=30)
        store.close()
    msgs = _ell_warnings(caught)
    assert len(msgs) == 1 and "writer process ended unexpectedly" in msgs[0], msgs
    assert sorted(recorded_ids(user_repo)) == sorted(make_inv(v, i).id for i in range(200))


def test_a_stalled_writer_process_overflows_to_the_thread_and_loses_nothing(user_repo: Path,
                                                                           running: tuple[GitStore, Any]) -> None:
    store, v = running
    pid = store.writer_pid
    os.kill(pid, signal.SIGSTOP)  # its input fills: lines wait gathered, then go to the writer thread
    try:
        n = 3000  # ~2 KB each: more than the pipe holds
        for i in range(1, n):
            store.record_invocation(make_inv(v, i, outputs=BIG))
        assert store.flush(timeout=1) is False  # the stalled child cannot confirm
    finally:
        os.kill(pid, signal.SIGCONT)
    assert store.flush(timeout=60)
    store.close()
    ids = recorded_ids(user_repo)
    assert len(ids) == len(set(ids)) == n
    refs = git(user_repo, "log", "--format=%s", "--glob=refs/ell/inv/*").splitlines()
    assert len(refs) >= 2  # committed by both writers


def test_problems_of_the_writer_process_are_warned_in_the_parent(user_repo: Path,
                                                                 running: tuple[GitStore, Any]) -> None:
    store, v = running
    ref_file = user_repo / ".git" / store.inv_ref
    good = git(user_repo, "rev-parse", store.inv_ref).strip()
    garbage = "0123456789abcdef0123456789abcdef01234567"
    ref_file.write_text(garbage + "\n")  # damaged: the writer process repairs it, and says so
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.record_invocation(make_inv(v, 1))
        assert store.flush(timeout=10)
    msgs = _ell_warnings(caught)
    assert len(msgs) == 1 and f"{store.inv_ref} lacked 1 object(s) ({garbage[:12]};" in msgs[0], msgs
    assert f"reset it to {good[:12]}" in msgs[0] and "1 records committed again" in msgs[0], msgs
    store.close()
    assert sorted(recorded_ids(user_repo)) == sorted(make_inv(v, i).id for i in range(2))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_writes_through_its_own_connection(user_repo: Path, running: tuple[GitStore, Any]) -> None:
    store, v = running
    parent_writer = store.writer_pid
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own connection to the same writer process, its own records and flushes
        code = 1
        try:
            os.close(r)
            store.record_invocation(make_inv(v, 1000, tag="child"))
            assert store.wait_for_writer(0)  # usable at once: nothing to start
            for i in range(1001, 1100):
                store.record_invocation(make_inv(v, i, tag="child"))
            ok = store.flush(timeout=30)
            os.write(w, f"{store.writer_pid} {ok}".encode())
            store.close()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    for i in range(1, 100):
        store.record_invocation(make_inv(v, i))
    assert store.flush(timeout=30)
    _, status = os.waitpid(pid, 0)
    child_writer, ok = os.read(r, 100).decode().split()
    os.close(r)
    assert os.waitstatus_to_exitcode(status) == 0 and ok == "True"
    assert int(child_writer) == parent_writer  # no writer process of its own
    store.close()
    expected = [make_inv(v, i).id for i in range(100)] + [make_inv(v, i, tag="child").id for i in range(1000, 1100)]
    assert sorted(recorded_ids(user_repo)) == sorted(expected)
    wait_for_writer_processes(user_repo)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_whose_parent_lost_its_writer_process_starts_its_own(
        user_repo: Path, running: tuple[GitStore, Any]) -> None:
    store, v = running
    gone = store.writer_pid
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        os.kill(gone, signal.SIGKILL)
        while not _ell_warnings(caught):  # the parent noticed
            time.sleep(0.01)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # no connection to be had: its own writer process; its first lines are journaled meanwhile
        code = 1
        try:
            os.close(r)
            store.record_invocation(make_inv(v, 1000, tag="child"))
            assert store.wait_for_writer(60)
            for i in range(1001, 1100):
                store.record_invocation(make_inv(v, i, tag="child"))
            ok = store.flush(timeout=30)
            os.write(w, f"{store.writer_pid} {ok}".encode())
            store.close()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    child_writer, ok = os.read(r, 100).decode().split()
    os.close(r)
    assert os.waitstatus_to_exitcode(status) == 0 and ok == "True"
    assert int(child_writer) not in (gone, None)
    store.close()
    expected = [make_inv(v, 0).id] + [make_inv(v, i, tag="child").id for i in range(1000, 1100)]
    assert sorted(recorded_ids(user_repo)) == sorted(expected)
    wait_for_writer_processes(user_repo)


def test_a_writer_process_that_cannot_start_is_warned_once_and_the_thread_records(
        user_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(user_repo / "missing" / "python3"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = GitStore(user_repo, autocommit=False)
        v = make_version()
        for i in range(20):
            store.record_invocation(make_inv(v, i))
        assert store.flush(timeout=30) and store.writer_pid is None and not store.wait_for_writer(0.5)
        store.close()
    msgs = _ell_warnings(caught)
    assert len(msgs) == 1 and "could not start the writer process" in msgs[0], msgs
    assert len(recorded_ids(user_repo)) == 20


def test_writer_process_off_writes_from_a_thread(user_repo: Path) -> None:
    store = GitStore(user_repo, autocommit=False, writer_process=False)
    v = make_version()
    for i in range(50):
        store.record_invocation(make_inv(v, i))
    assert store.flush(timeout=30) and store.writer_pid is None
    store.close()
    assert len(recorded_ids(user_repo)) == 50
