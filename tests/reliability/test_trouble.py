"""Disk and git trouble: a read-only repository, a full disk, a stale lock, a damaged journal, a ref
pointing to garbage, data from a newer ell-git. Each time: one clear warning, the LMP call returns
what it returns without tracking, and nothing already stored is damaged.

Read-only and full file systems are real mounts (tests run as root in CI, and root ignores file
permissions, so chmod proves nothing); they are skipped with the reason when mounting is not allowed.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import pygit2
import pytest
from relhelpers import InvocationIndex, check_refs_resolve, fsck, git, snapshot_repo
from store_helpers import make_inv, make_version

import ell
from ell_git import GitStore, NewerFormatError, Reader
from ell_git import journal as jr
from ell_git import refs
from ell_git.batch import serialise


@ell.simple(model="gpt-4o-mini")
def hello(name: str):
    """You are nice."""
    return f"Say hi to {name}"


def _hello_v2(name: str):
    """You are very nice."""
    return f"Say hi to {name}"


_hello_v2.__qualname__ = _hello_v2.__name__ = "hello"  # a second version of the same LMP
hello_v2 = ell.simple(model="gpt-4o-mini")(_hello_v2)


@pytest.fixture
def use_store(model_server: Any) -> Iterator[Callable[[Path], GitStore]]:
    """Point ell at a git store in `path` (opened like `ell.init(store=path)` does)."""
    client = model_server.client(max_retries=0, timeout=10)

    def use(path: Path) -> GitStore:
        ell.init(store=str(path), default_client=client, autocommit=False)
        return ell.get_store()

    yield use


def untracked(fn: Callable[[], Any]) -> Any:
    """What the call gives with no store at all (the reference the tracked call must match)."""
    saved, ell.config.store = ell.config.store, None
    try:
        return fn()
    finally:
        ell.config.store = saved


def ell_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if str(w.message).startswith("ell:")]


class Warned:
    """Collects every warning (no once-per-location filter) raised inside the block."""

    def __enter__(self) -> list[warnings.WarningMessage]:
        self._cm = warnings.catch_warnings(record=True)
        caught = self._cm.__enter__()
        warnings.simplefilter("always")
        return caught

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)


def _seed(use_store: Callable[[Path], GitStore], path: Path, n: int = 3) -> set[str]:
    """Record `n` calls normally; returns the ids on the invocation refs."""
    store = use_store(path)
    for i in range(n):
        hello(f"seed {i}")
    assert store.flush(timeout=30)
    ell.set_store(None)
    index = InvocationIndex(path)
    index.refresh()
    return index.ids


# -- the file system --------------------------------------------------------------------------------


def test_read_only_repository(tmp_path: Path, root_mounts: Any, use_store: Any, figures: Any) -> None:
    mnt = tmp_path / "ro"
    mnt.mkdir()
    root_mounts("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt))
    repo = mnt / "repo"
    git(tmp_path, "init", "-q", str(repo))
    before_ids = _seed(use_store, repo)
    before = snapshot_repo(repo)
    root_mounts("-o", "remount,ro", str(mnt))
    expected = untracked(lambda: str(hello("Ada")))
    with Warned() as caught:
        store = use_store(repo)  # ell.init itself must not fail
        assert str(hello("Ada")) == expected
        assert str(hello("Bob")) == untracked(lambda: str(hello("Bob")))
        assert store.flush(timeout=2) is False  # nothing can be made durable: say so
        ell.set_store(None)
    msgs = ell_warnings(caught)
    assert len(msgs) == 1 and "cannot write to the repository" in msgs[0] and "Read-only" in msgs[0], msgs
    assert snapshot_repo(repo) == before
    root_mounts("-o", "remount,rw", str(mnt))
    fsck(repo)
    index = InvocationIndex(repo)
    index.refresh()
    assert index.ids == before_ids
    figures["fault_scenarios"] += 1


def test_disk_full_then_space_again(tmp_path: Path, root_mounts: Any, use_store: Any, figures: Any) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    root_mounts("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt))
    repo = mnt / "repo"
    git(tmp_path, "init", "-q", str(repo))
    seeded = _seed(use_store, repo)
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    try:  # the last few bytes
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    os.close(fd)
    big = "x" * 100_000  # each record needs more room than is left
    expected = untracked(lambda: str(hello(big)))
    with Warned() as caught:
        store = use_store(repo)
        for _ in range(10):
            assert str(hello(big)) == expected
        assert store.flush(timeout=2) is False
        msgs = ell_warnings(caught)
        assert len(msgs) == 1 and "No space left on device" in msgs[0], msgs
        filler.unlink()
        assert store.flush(timeout=60)  # the kept records are committed once there is room
        ell.set_store(None)
    assert len(ell_warnings(caught)) == 1
    fsck(repo)
    index = InvocationIndex(repo)
    index.refresh()
    assert seeded < index.ids and len(index.ids) == len(seeded) + 10 and not index.duplicates()
    assert not [n for n in os.listdir(repo / ".git" / "ell" / "journal") if n.endswith((".log", ".corrupt"))]
    figures["fault_scenarios"] += 1
    figures["invocations_checked"] += len(index.ids)


def test_a_failed_journal_write_leaves_no_torn_entry_behind(tmp_path: Path, root_mounts: Any) -> None:
    """A disk-full append must not leave half a frame: later entries would sit behind it (replay
    stops or skips there) and the offsets of spilled records would point beside them."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    root_mounts("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt))
    j = jr.Journal(str(mnt))
    v = make_version()
    small = serialise(make_inv(v, 0, tag="before"))
    j.append("inv", {"batch": "a" * 16, "t": 1.7e9}, small)
    filler = mnt / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * (200 * 1024))
    with pytest.raises(OSError):
        j.append("inv", {"batch": "b" * 16, "t": 1.7e9}, b"y" * (200 * 1024))  # partly written, then ENOSPC
    filler.unlink()
    offset, length = j.append("inv", {"batch": "c" * 16, "t": 1.7e9}, serialise(make_inv(v, 1, tag="after")))
    assert j.read_at(offset, length).header["batch"] == "c" * 16  # what spilled records rely on
    j.close(delete=False)
    skipped: list[tuple[int, int]] = []
    data = Path(j.path).read_bytes()
    assert [e.header["batch"] for _, _, e in jr.parse(data, skipped)] == ["a" * 16, "c" * 16]
    assert skipped == []


# -- locks, journals, refs ----------------------------------------------------------------------------


def _lock(path: Path, ref: str, age: float) -> Path:
    lock = path / ".git" / (ref + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("0" * 40 + "\n")
    t = time.time() - age
    os.utime(lock, (t, t))
    return lock


def test_stale_lock_left_by_a_dead_process(user_repo: Path, use_store: Any, figures: Any) -> None:
    seeded = _seed(use_store, user_repo)
    inv_ref = refs.inv_ref(git(user_repo, "config", "ell.writerid").strip())
    tip = git(user_repo, "rev-parse", inv_ref).strip()
    # A lock a killed process left 8 s ago (libgit2 holds one for microseconds): removed, the records
    # go in at once (not after half a minute), one warning says so.
    lock = _lock(user_repo, inv_ref, age=8)
    with Warned() as caught:
        store = use_store(user_repo)
        assert str(hello("Ada")) == untracked(lambda: str(hello("Ada")))
        assert store.flush(timeout=15)
    assert not lock.exists()
    msgs = ell_warnings(caught)
    assert len(msgs) == 1 and "removed" in msgs[0] and inv_ref in msgs[0], msgs
    # A lock that could still be held: nothing is forced; the call returns; nothing is damaged.
    tip = git(user_repo, "rev-parse", inv_ref).strip()
    lock = _lock(user_repo, inv_ref, age=0)
    with Warned() as caught:
        assert str(hello("Bob")) == untracked(lambda: str(hello("Bob")))
        assert store.flush(timeout=1) is False
        assert git(user_repo, "rev-parse", inv_ref).strip() == tip
        os.utime(lock, (time.time() - 60, time.time() - 60))  # its holder is gone after all
        assert store.flush(timeout=20)
        ell.set_store(None)
    assert len(ell_warnings(caught)) == 1
    index = InvocationIndex(user_repo)
    index.refresh()
    assert len(index.ids) == len(seeded) + 2 and not index.duplicates()
    fsck(user_repo)
    # A writer that gives up says which lock is in the way.
    repo = pygit2.Repository(str(user_repo))
    _lock(user_repo, inv_ref, age=0)
    with pytest.raises(refs.CasConflict, match=r"\.lock exists \(another process is writing, or one died"):
        refs.update(repo, inv_ref, lambda t: repo.create_commit(None, _sig(), _sig(), "x", repo[t].tree_id, [t]),
                    attempts=3)
    figures["fault_scenarios"] += 2


def _sig() -> pygit2.Signature:
    return pygit2.Signature("t", "t@localhost", 1_700_000_000, 0)


def _dead_journal(path: Path, entries: list[tuple[str, dict[str, Any], bytes]]) -> Path:
    """A journal as a killed process leaves it (written, unlocked)."""
    j = jr.Journal(str(path / ".git" / "ell" / "journal"))
    for kind, header, payload in entries:
        j.append(kind, header, payload)
    j.close(delete=False)
    return Path(j.path)


def _inv_entry(tag: str, n: int = 3) -> tuple[str, dict[str, Any], bytes]:
    v = make_version()
    return "inv", {"batch": (tag * 16)[:16], "t": 1_700_000_000.0}, b"\n".join(
        serialise(make_inv(v, i, tag=tag)) for i in range(n))


def _ids_of(tags: str, n: int = 3) -> set[str]:
    v = make_version()
    return {make_inv(v, i, tag=t).id for t in tags for i in range(n)}


def test_damaged_journal_entry_costs_only_itself(user_repo: Path, figures: Any) -> None:
    GitStore(user_repo, autocommit=False).close()
    path = _dead_journal(user_repo, [_inv_entry("a"), _inv_entry("b"), _inv_entry("c")])
    data = bytearray(path.read_bytes())
    second = [off for off, _, _ in jr.parse(bytes(data))][1]
    data[second + 120] ^= 0x20  # a bad block inside the second entry's payload: its CRC fails
    path.write_bytes(bytes(data))
    with Warned() as caught:
        store = GitStore(user_repo, autocommit=False)
        assert store.flush(timeout=30)
        store.close()
    msgs = ell_warnings(caught)
    assert len(msgs) == 1 and "is damaged" in msgs[0] and ".corrupt" in msgs[0], msgs
    index = InvocationIndex(user_repo)
    index.refresh()
    assert index.ids == _ids_of("ac")  # the entry after the damaged one is not lost
    kept = path.with_suffix(".corrupt")
    assert kept.read_bytes() == bytes(data) and not path.exists()  # kept for a human, never replayed again
    with Warned() as caught:
        GitStore(user_repo, autocommit=False).close()
    assert ell_warnings(caught) == []
    fsck(user_repo)
    figures["fault_scenarios"] += 1


def test_unreadable_journal_lines_do_not_block_the_rest(user_repo: Path, figures: Any) -> None:
    GitStore(user_repo, autocommit=False).close()
    v = make_version()
    bad_line = ("inv", {"batch": "d" * 16, "t": 1.7e9}, b"not json\n" + serialise(make_inv(v, 0, tag="d")))
    no_header = ("inv", {"t": 1.7e9}, serialise(make_inv(v, 0, tag="e")))  # no batch id: unusable
    bad_version = ("ver", {}, b"{\"name\": 1}")
    _dead_journal(user_repo, [_inv_entry("a"), bad_line, no_header, bad_version, _inv_entry("c")])
    with Warned() as caught:
        store = GitStore(user_repo, autocommit=False)
        assert store.flush(timeout=30)
        store.close()
    msgs = ell_warnings(caught)
    assert len(msgs) == 1 and "3 unreadable records" in msgs[0], msgs
    index = InvocationIndex(user_repo)
    index.refresh()
    assert index.ids == _ids_of("ac") | {make_inv(v, 0, tag="d").id}
    journal = os.listdir(user_repo / ".git" / "ell" / "journal")
    assert len(journal) == 1 and journal[0].endswith(".corrupt")
    fsck(user_repo)
    figures["fault_scenarios"] += 1


def test_invocation_ref_pointing_to_garbage(user_repo: Path, use_store: Any, figures: Any) -> None:
    seeded = _seed(use_store, user_repo)
    inv_ref = refs.inv_ref(git(user_repo, "config", "ell.writerid").strip())
    good = git(user_repo, "rev-parse", inv_ref).strip()
    garbage = "0123456789abcdef0123456789abcdef01234567"
    ref_file = user_repo / ".git" / inv_ref
    # Readers skip a damaged ref (one warning) and still serve the rest; `ell doctor` names it.
    ref_file.write_text(garbage + "\n")
    assert git_fails(user_repo, "gc", "-q")  # git itself fails on the whole repository
    with Warned() as caught, Reader(user_repo) as reader:
        assert [l.name for l in reader.lmps()] == [f"{__name__}.hello"]
        reader.invocations()
        reader.lmps()
        assert reader.problems().refs == (inv_ref,)
    msgs = ell_warnings(caught)
    assert len(msgs) == 1 and "cannot be read" in msgs[0] and inv_ref in msgs[0], msgs
    from webui import create_app

    client = create_app(user_repo, testing=True).test_client()
    with Warned():
        pages = [client.get(u) for u in ("/", "/invocations", "/.json", "/invocations.json")]
    assert all(p.status_code == 200 for p in pages) and b"could not be read" in pages[0].data
    # The next writer repairs it at once (one warning saying what happened), and records as usual.
    with Warned() as caught:
        store = use_store(user_repo)
        assert str(hello("Ada")) == untracked(lambda: str(hello("Ada")))
        assert store.flush(timeout=30)
        ell.set_store(None)
    msgs = ell_warnings(caught)
    assert len(msgs) == 1 and f"{inv_ref} lacked 1 object(s) ({garbage[:12]};" in msgs[0], msgs
    assert f"reset it to {good[:12]}" in msgs[0], msgs
    index = InvocationIndex(user_repo)
    index.refresh()
    assert len(index.ids) == len(seeded) + 1 and seeded < index.ids and not index.duplicates()
    git(user_repo, "gc", "-q", "--prune=now")  # the user's git works again
    fsck(user_repo)
    figures["fault_scenarios"] += 1
    figures["invocations_checked"] += len(index.ids)


def git_fails(cwd: Path, *args: str) -> bool:
    import subprocess

    return subprocess.run(["git", *args], cwd=cwd, capture_output=True).returncode != 0


def test_version_ref_pointing_to_garbage_and_a_corrupt_ref_file(user_repo: Path, use_store: Any, figures: Any) -> None:
    _seed(use_store, user_repo)
    lmp_ref = refs.lmp_ref(f"{__name__}.hello")
    first = git(user_repo, "rev-parse", lmp_ref).strip()
    (user_repo / ".git" / lmp_ref).write_text("0123456789abcdef0123456789abcdef01234567\n")
    with Warned() as caught:
        store = use_store(user_repo)
        assert str(hello_v2("Ada")) == untracked(lambda: str(hello_v2("Ada")))  # a new version: written
        assert store.flush(timeout=30)
        ell.set_store(None)
    msgs = ell_warnings(caught)
    assert len(msgs) == 1 and f"{lmp_ref} lacked 1 object(s)" in msgs[0] and f"reset it to {first[:12]}" in msgs[0], msgs
    history = git(user_repo, "log", "--format=%H", lmp_ref).split()
    assert len(history) == 2 and history[-1] == first  # the old version kept, the new one on top
    index = InvocationIndex(user_repo)
    index.refresh()
    assert len(index.ids) == 4
    # A loose ref file holding text instead of an id (git itself cannot even delete it).
    inv_ref = refs.inv_ref(git(user_repo, "config", "ell.writerid").strip())
    good = git(user_repo, "rev-parse", inv_ref).strip()
    (user_repo / ".git" / inv_ref).write_text("this is not an object id\n")
    assert git_fails(user_repo, "gc", "-q")
    with Warned() as caught:
        store = use_store(user_repo)
        assert str(hello("Bob")) == untracked(lambda: str(hello("Bob")))
        assert store.flush(timeout=30)
        ell.set_store(None)
    msgs = ell_warnings(caught)
    assert len(msgs) == 1 and f"{inv_ref} was a damaged ref file" in msgs[0], msgs
    assert f"reset it to {good[:12]}" in msgs[0], msgs
    index.refresh()
    assert len(index.ids) == 5 and not index.duplicates()
    kept = os.listdir(user_repo / ".git" / "ell" / "damaged-refs")
    assert len(kept) == 1 and (user_repo / ".git" / "ell" / "damaged-refs" / kept[0]).read_text() == "this is not an object id\n"
    git(user_repo, "gc", "-q", "--prune=now")
    fsck(user_repo)
    figures["fault_scenarios"] += 2


def _newer(path: Path, ref: str) -> str:
    """Put a commit written by a (future) ell format 99 on top of `ref`."""
    tree = git(path, "rev-parse", f"{ref}^{{tree}}").strip()
    msg = "Future\n\nEll-Version: lmp-ffffffffffffffff\nEll-Lmp: x\nEll-Format: 99\n"
    commit = git(path, "commit-tree", tree, "-p", ref, "-m", msg).strip()
    git(path, "update-ref", ref, commit)
    return commit


def test_data_from_a_newer_ell_git(user_repo: Path, use_store: Any, figures: Any) -> None:
    _seed(use_store, user_repo)
    lmp_ref = refs.lmp_ref(f"{__name__}.hello")
    inv_ref = refs.inv_ref(git(user_repo, "config", "ell.writerid").strip())
    future = {ref: _newer(user_repo, ref) for ref in (lmp_ref, inv_ref)}
    with Warned() as caught:
        store = use_store(user_repo)
        assert str(hello_v2("Ada")) == untracked(lambda: str(hello_v2("Ada")))
        assert store.flush(timeout=3) is False
        ell.set_store(None)
    msgs = ell_warnings(caught)
    # Two writers (versions, invocations), each refusing once, each saying what to do.
    assert len(msgs) == 2 and all("newer than 1: upgrade ell-git" in m for m in msgs), msgs
    assert {ref: git(user_repo, "rev-parse", ref).strip() for ref in future} == future  # untouched
    with Reader(user_repo) as reader, pytest.raises(NewerFormatError, match="upgrade ell-git"):
        reader.lmps()
    from webui import create_app

    resp = create_app(user_repo, testing=True).test_client().get("/")
    assert resp.status_code == 500 and b"upgrade ell-git" in resp.data and b"Traceback" not in resp.data
    check_refs_resolve(pygit2.Repository(str(user_repo)))
    figures["fault_scenarios"] += 1
