"""Invocations as JSONL segments: countable with plain git, never rewritten, big payloads apart."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
from store_helpers import all_lines, git, make_inv, make_version, python_env, wait_for_writer_process

from ell_git import GitStore, Reader


def test_invocations_countable_with_plain_git(store, user_repo):
    v = make_version()
    store.record_version(v)
    invs = [make_inv(v, i) for i in range(250)]
    for inv in invs:
        store.record_invocation(inv)
    assert store.flush(timeout=30)
    ref = f"refs/ell/inv/{git(user_repo, 'config', 'ell.writerid').strip()}"
    assert ref == store.inv_ref
    lines = all_lines(user_repo, ref)
    assert len(lines) == 250
    records = [orjson.loads(ln) for ln in lines]
    assert {r["id"] for r in records} == {i.id for i in invs}
    # canonical: sorted keys, compact separators; the freeze key is stored with each line
    assert all(ln == orjson.dumps(orjson.loads(ln), option=orjson.OPT_SORT_KEYS) for ln in lines)
    by_id = {i.id: i for i in invs}
    assert all(r["cache_key"] == by_id[r["id"]].cache_key() for r in records)
    paths = git(user_repo, "ls-tree", "-r", "--name-only", ref).split()
    assert all(p.split("/")[4] == v.version_id and p.endswith(".jsonl") and len(p.split("/")) == 6 for p in paths)


def test_flushes_add_segments_and_never_rewrite_one(store, user_repo):
    v = make_version()
    seen: dict[str, str] = {}
    for round_ in range(4):
        for i in range(10):
            store.record_invocation(make_inv(v, i, tag=f"r{round_}"))
        assert store.flush(timeout=30)
        listing = git(user_repo, "ls-tree", "-r", store.inv_ref).splitlines()
        now = {ln.split("\t")[1]: ln.split()[2] for ln in listing}
        assert all(now[p] == oid for p, oid in seen.items())  # old segments unchanged
        assert len(now) == len(seen) + 1
        seen = now
    assert int(git(user_repo, "rev-list", "--count", store.inv_ref)) == 4


def test_large_payloads_go_to_their_own_blobs(store, user_repo):
    v = make_version()
    image = "data:image/png;base64," + "A" * 20_000
    big = "x" * 70_000
    inv = make_inv(v, 1, args={"n": big}, outputs=[{"role": "assistant", "content": [{"image": {"url": image}}]}])
    store.record_invocation(inv)
    store.flush(timeout=30)
    (line,) = all_lines(user_repo, store.inv_ref)
    assert len(line) < 2_000 and b'"$ell_blob"' in line
    names = git(user_repo, "ls-tree", "-r", "--name-only", store.inv_ref).split()
    assert sum(".blobs/" in n for n in names) == 2
    with Reader(user_repo) as r:
        rec = r.invocation(inv.id).record
        assert rec["args"]["n"] == big
        assert rec["outputs"][0]["content"][0]["image"]["url"] == image
        assert "$ell_blob" in r.invocations().items[0].args_preview  # previews never inline payloads


def test_back_pressure_spills_to_journal_and_loses_nothing(user_repo):
    s = GitStore(user_repo, autocommit=False, max_queue=5, spill_after=0.0, batch_size=1000, flush_interval=5)
    v = make_version()
    invs = [make_inv(v, i, tag="spill") for i in range(300)]
    for inv in invs:
        s.record_invocation(inv)
    assert s.flush(timeout=60)
    s.close()
    ids = [orjson.loads(ln)["id"] for ln in all_lines(user_repo, s.inv_ref)]
    assert sorted(ids) == sorted(i.id for i in invs)  # all there, none twice
    assert os.listdir(user_repo / ".git" / "ell" / "journal") == []  # clean close drops the journal


def test_atexit_flushes_without_explicit_flush(user_repo):
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "import ell_git; from store_helpers import make_inv, make_version\n"
        "s = ell_git.GitStore(sys.argv[1], autocommit=False, flush_interval=60)\n"
        "v = make_version(); s.record_version(v)\n"
        "[s.record_invocation(make_inv(v, i, tag='exit')) for i in range(123)]\n"
    ) % os.path.dirname(__file__)
    subprocess.run([sys.executable, "-c", script, str(user_repo)], check=True, timeout=120, env=python_env())
    ref = f"refs/ell/inv/{git(user_repo, 'config', 'ell.writerid').strip()}"
    assert len(all_lines(user_repo, ref)) == 123
    assert git(user_repo, "rev-parse", "-q", "--verify", "refs/ell/lmp/mod.hello").strip()


def test_forked_child_writes_its_own_records_only(user_repo):
    s = GitStore(user_repo, autocommit=False, flush_interval=60)
    v = make_version()
    s.record_invocation(make_inv(v, 0, tag="parent"))  # still queued at fork time
    pid = os.fork()
    if pid == 0:  # child: must not duplicate the parent's queued record
        try:
            s.record_invocation(make_inv(v, 0, tag="child"))
            s.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    s.close()
    ids = sorted(orjson.loads(ln)["id"] for ln in all_lines(user_repo, s.inv_ref))
    assert ids == sorted([make_inv(v, 0, tag="parent").id, make_inv(v, 0, tag="child").id])


def test_store_packs_its_objects_in_the_background(user_repo):
    s = GitStore(user_repo, autocommit=False, pack_every=40, flush_interval=60)
    v = make_version()
    for k in range(12):
        s.record_invocation(make_inv(v, k, tag="pack"))
        s.flush(timeout=30)
    s.close()
    if s.writer_pid is not None:
        wait_for_writer_process(s.writer_pid)  # it stays until its repack ends
    s._writer.wait_packed(60)
    counts = dict(ln.split(": ") for ln in git(user_repo, "count-objects", "-v").splitlines())
    assert int(counts["packs"]) >= 1 and int(counts["in-pack"]) > int(counts["count"])
    git(user_repo, "fsck", "--strict", "--no-progress")
    assert len(all_lines(user_repo, s.inv_ref)) == 12
