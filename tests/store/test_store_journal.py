"""The journal: torn tails are ignored, orphans are replayed exactly once, live files are left alone."""

from __future__ import annotations

import os

import orjson
import pytest
from store_helpers import all_lines, git, make_inv, make_version

from ell_git import GitStore, NewerFormatError, Reader
from ell_git import journal as jr
from ell_git.batch import serialise


def _entry(j: jr.Journal, batch: str, invs) -> None:
    j.append("inv", {"batch": batch, "t": 1_700_000_000.0}, b"\n".join(serialise(i) for i in invs))


def test_torn_and_corrupt_tails_stop_parsing(tmp_path):
    j = jr.Journal(str(tmp_path))
    v = make_version()
    _entry(j, "a" * 16, [make_inv(v, 1)])
    _entry(j, "b" * 16, [make_inv(v, 2)])
    j.close(delete=False)
    data = open(j.path, "rb").read()
    assert [e.header["batch"] for _, _, e in jr.parse(data)] == ["a" * 16, "b" * 16]
    assert [e.header["batch"] for _, _, e in jr.parse(data[:-5])] == ["a" * 16]  # killed mid-append
    flipped = bytearray(data)
    flipped[-10] ^= 0xFF
    assert [e.header["batch"] for _, _, e in jr.parse(bytes(flipped))] == ["a" * 16]  # CRC mismatch
    assert list(jr.parse(b"not json\n")) == []


def test_live_journals_are_not_orphans(tmp_path):
    live = jr.Journal(str(tmp_path))  # locked by this (live) owner
    assert [o.path for o in jr.orphans(str(tmp_path))] == []
    live.close(delete=False)  # the owner is gone: now it is an orphan
    found = list(jr.orphans(str(tmp_path)))
    assert [o.path for o in found] == [live.path]
    found[0].done(delete=True)
    assert os.listdir(tmp_path) == []


def test_orphan_replay_commits_only_what_is_missing(user_repo):
    s = GitStore(user_repo, autocommit=False)
    v = make_version()
    first = [make_inv(v, i, tag="o1") for i in range(3)]
    second = [make_inv(v, i, tag="o2") for i in range(4)]
    for inv in first:
        s.record_invocation(inv)
    assert s.flush(timeout=30)
    s.close()
    # A dead process's journal: the batch above (already committed, same id/time) and a new one.
    committed = git(user_repo, "log", "-1", "--format=%(trailers:key=Ell-Batch,valueonly,separator=)", s.inv_ref).strip()
    seg = git(user_repo, "ls-tree", "-r", "--name-only", s.inv_ref).split()[0]
    t = _time_of(seg)
    j = jr.Journal(str(user_repo / ".git" / "ell" / "journal"))
    j.append("inv", {"batch": committed, "t": t}, b"\n".join(serialise(i) for i in first))
    _entry(j, "c" * 16, second)
    j.close(delete=False)
    s2 = GitStore(user_repo, autocommit=False)
    assert s2.flush(timeout=30)
    s2.close()
    ids = [orjson.loads(x)["id"] for x in all_lines(user_repo, s.inv_ref)]
    assert sorted(ids) == sorted(i.id for i in first + second)
    assert os.listdir(user_repo / ".git" / "ell" / "journal") == []


def _time_of(segment_path: str) -> float:
    import calendar

    ym, d, h, m = segment_path.split("/")[:4]
    y, mo = ym.split("-")
    return float(calendar.timegm((int(y), int(mo), int(d), int(h), int(m), 30)))


def test_newer_format_fails_clearly_and_empty_repo_reads_empty(user_repo, clean_repo):
    with Reader(clean_repo) as r:
        assert r.lmps() == [] and r.invocations().total == 0 and r.graph() == {}
    tree = git(user_repo, "write-tree").strip()  # any tree: the trailer is what counts
    commit = git(user_repo, "commit-tree", tree, "-m", "Add x (first version)\n\nEll-Version: lmp-1\nEll-Lmp: x\nEll-Format: 99").strip()
    git(user_repo, "update-ref", "refs/ell/lmp/x", commit)
    with Reader(user_repo) as r, pytest.raises(NewerFormatError, match="upgrade ell-git"):
        r.lmps()
