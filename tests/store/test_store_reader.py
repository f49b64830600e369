"""The Reader API and its read cache, on real repositories."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
import store_workers
from store_helpers import git, init_user_repo, make_inv, make_version

from ell_git import GitStore, NotFound, Reader

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def filled(user_repo: Path):
    """Two versions of mod.hello (v2 uses mod.shout), a shout version, linked invocations."""
    s = GitStore(user_repo, autocommit=False, flush_interval=0.01)
    shout = make_version(name="mod.shout", doc="Shout.")
    v1 = make_version()
    v2 = make_version(doc="You are terse.", params={"temperature": 0.2}, uses={"mod.shout": shout.version_id})
    for v in (shout, v1, v2):
        s.record_version(v)
        s.flush(timeout=30)
    for i in range(30):
        s.record_invocation(make_inv(v1, i, latency_ms=float(i + 1)))
    parent = make_inv(v2, 100, latency_ms=500.0)
    child = make_inv(shout, 101, parent_id=parent.id, args={"n": "needle in args"})
    consumer = make_inv(v2, 102, origin_ids=(child.id,), outputs=[{"role": "assistant", "content": [{"text": "Haystack"}]}])
    for inv in (parent, child, consumer):
        s.record_invocation(inv)
    s.close()
    return {"repo": user_repo, "v1": v1, "v2": v2, "shout": shout, "parent": parent, "child": child, "consumer": consumer}


def test_lmps_versions_and_graph(filled):
    with Reader(filled["repo"]) as r:
        lmps = {x.name: x for x in r.lmps()}
        assert set(lmps) == {"mod.hello", "mod.shout"}
        h = lmps["mod.hello"]
        assert (h.latest_version, h.vn, h.versions, h.invocation_count) == (filled["v2"].version_id, 2, 2, 32)
        assert h.uses == ("mod.shout",) and h.subject.startswith("Update mod.hello: ")
        assert h.last_used == filled["consumer"].started_at
        vs = r.versions("mod.hello")
        assert [(v.vn, v.version_id) for v in vs] == [(1, filled["v1"].version_id), (2, filled["v2"].version_id)]
        assert vs[0].subject == "Add mod.hello (first version)" and vs[1].model == "gpt-4o-mini"
        assert vs[1].dirty and vs[1].code_commit == git(filled["repo"], "rev-parse", "HEAD").strip()
        assert vs[1].uses == ("mod.shout",) and vs[1].uses_ids == (filled["shout"].version_id,)
        assert "Ell-" not in vs[1].body and "temperature 0.7 → 0.2" in vs[1].body
        assert r.graph() == {"mod.hello": ["mod.shout"], "mod.shout": []}
        assert r.versions("nope") == []
        assert all(set(x.to_json()) for x in lmps.values())


def test_version_lookup_by_id_prefix_vn_commit_and_diff(filled):
    v1, v2 = filled["v1"], filled["v2"]
    with Reader(filled["repo"]) as r:
        by_id = r.version("mod.hello", v1.version_id)
        assert by_id.closure == v1.closure and by_id.source == v1.source and by_id.vn == 1
        assert by_id.meta["api_params"] == {"temperature": 0.7}
        assert r.version("mod.hello", "v2").version_id == v2.version_id
        assert r.version("mod.hello", v2.version_id[:9]).version_id == v2.version_id
        assert r.version("mod.hello", by_id.commit[:10]).version_id == v1.version_id
        assert r.version("mod.hello").version_id == v2.version_id
        with pytest.raises(NotFound):
            r.version("mod.hello", "v9")
        with pytest.raises(NotFound):
            r.version("mod.nope", "v1")
        d = r.diff("mod.hello", "v1", "v2")
        assert d.summary == ("system prompt 'You are nice.' → 'You are terse.'", "temperature 0.7 → 0.2", "now uses mod.shout")
        assert "-    'You are nice.'" in d.closure_diff and "+    'You are terse.'" in d.closure_diff
        assert d.additions == 2 and d.deletions == 2
        assert d.to_json()["a"]["vn"] == 1


def test_invocations_filters_pagination_and_detail(filled):
    with Reader(filled["repo"]) as r:
        page = r.invocations(lmp="mod.hello", limit=10)
        assert page.total == 32 and len(page.items) == 10
        starts = [x.started_at for x in page.items]
        assert starts == sorted(starts, reverse=True)
        rest = r.invocations(lmp="mod.hello", limit=10, offset=30)
        assert len(rest.items) == 2 and rest.total == 32
        assert r.invocations().total == 33
        assert r.invocations(version=filled["v1"].version_id).total == 30
        assert r.invocations(version=filled["v1"].version_id[:10]).total == 30
        assert r.invocations(lmp="mod.hello", min_latency=10, max_latency=19.5).total == 10
        assert r.invocations(min_tokens=11).total == sum(1 for i in range(30) if 5 + i % 7 >= 11) + (5 + 102 % 7 >= 11) + (5 + 100 % 7 >= 11) + (5 + 101 % 7 >= 11)
        assert [x.id for x in r.invocations(q="NEEDLE").items] == [filled["child"].id]
        assert [x.id for x in r.invocations(q="haystack").items] == [filled["consumer"].id]
        assert r.invocations(q="100%_").total == 0
        d = r.invocation(filled["child"].id)
        assert d.record["args"] == {"n": "needle in args"} and d.parent.id == filled["parent"].id
        assert [c.id for c in r.invocation(filled["parent"].id).children] == [filled["child"].id]
        assert [c.id for c in d.consumers] == [filled["consumer"].id]
        assert [o.id for o in r.invocation(filled["consumer"].id).origins] == [filled["child"].id]
        with pytest.raises(NotFound):
            r.invocation("inv-nope")


def test_stats(filled):
    with Reader(filled["repo"]) as r:
        st = r.stats("mod.hello")
        assert st.count == 32 and st.per_version == {filled["v1"].version_id: 30, filled["v2"].version_id: 2}
        lat = sorted([float(i + 1) for i in range(30)] + [500.0, 10.0 + 102])
        assert st.latency_p50 == pytest.approx((lat[15] + lat[16]) / 2)
        assert st.total_tokens == sum(5 + i % 7 for i in range(30)) + 5 + 100 % 7 + 5 + 102 % 7
        assert len(st.series) == 32 and st.series[-1].id == filled["consumer"].id
        one = r.stats("mod.hello", version=filled["v1"].version_id, series=5)
        assert one.count == 30 and one.latency_p50 == pytest.approx(15.5) and len(one.series) == 5


def test_cache_follows_other_processes_and_plain_git(filled, tmp_path):
    repo = filled["repo"]
    with Reader(repo) as r:
        token = r.state_token()
        assert r.invocations(lmp="mod.hello").total == 32
        assert not r.changed_since(token)
        p = SPAWN.Process(target=store_workers.write_many, args=(str(repo), "other", 40, 1, 10))
        p.start()
        p.join(120)
        assert p.exitcode == 0
        assert r.changed_since(token)
        assert r.invocations(lmp="mod.hello").total == 72  # no reopen, no stale data
        # move the ref back by plain git: the newer segments disappear from the cache too
        inv_ref = git(repo, "for-each-ref", "--format=%(refname)", "refs/ell/inv/").split()[0]
        first = git(repo, "rev-list", "--max-parents=0", inv_ref).split()[0]
        first_count = len(git(repo, "ls-tree", "-r", "--name-only", first).split())
        git(repo, "update-ref", inv_ref, first)
        assert r.invocations().total < 73 and r.stats("mod.hello").count == r.invocations(lmp="mod.hello").total
        assert first_count >= 1
        # a fetched copy of the same data is de-duplicated; deleting the local ref keeps the copy
        tip_before = git(repo, "rev-parse", inv_ref).strip()
        git(repo, "update-ref", "refs/ell/remotes/origin/inv/" + inv_ref.rsplit("/", 1)[1], tip_before)
        n = r.invocations().total
        assert r.invocations().total == n
        git(repo, "update-ref", "-d", inv_ref)
        assert r.invocations().total == n
        git(repo, "update-ref", "-d", "refs/ell/remotes/origin/inv/" + inv_ref.rsplit("/", 1)[1])
        assert r.invocations().total == 0 and r.lmps()[0].invocation_count == 0


def test_fetch_from_another_clone_unions_invocations(filled, tmp_path):
    other = init_user_repo(tmp_path / "other", dirty=False)
    s = GitStore(other, autocommit=False)
    v = make_version()
    s.record_version(v)
    for i in range(7):
        s.record_invocation(make_inv(v, i, tag="remote"))
    s.close()
    repo = filled["repo"]
    with Reader(repo) as r:
        before = r.invocations().total
        git(repo, "fetch", "-q", str(other), "+refs/ell/*:refs/ell/remotes/other/*")
        assert r.invocations().total == before + 7
        assert r.invocations(q="remote3").total == 1
        git(repo, "fetch", "-q", str(other), "+refs/ell/inv/*:refs/ell/remotes/again/inv/*")
        assert r.invocations().total == before + 7  # same segments, counted once


def test_cache_file_can_be_deleted_and_readers_share_it(filled):
    repo = filled["repo"]
    with Reader(repo) as r:
        n = r.invocations().total
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(repo / ".git" / "ell" / f"cache.sqlite{suffix}")
        except FileNotFoundError:
            pass
    with Reader(repo) as a, Reader(repo) as b:
        assert a.invocations().total == b.invocations().total == n


def test_running_names_an_older_version_called_after_the_newest_one(user_repo: Path) -> None:
    """A revert (the code went back to v1: same version id, so no commit) shows as v1 running now."""
    import time

    s = GitStore(user_repo, autocommit=False, flush_interval=0.01)
    v1, v2 = make_version(), make_version(doc="You are terse.")
    s.record_version(v1)
    s.flush(timeout=30)
    s.record_invocation(make_inv(v1, 0, started_at=time.time() - 60))
    s.record_version(v2)
    s.flush(timeout=30)
    s.record_invocation(make_inv(v2, 1, started_at=time.time() - 30))
    s.flush(timeout=30)
    with Reader(user_repo) as r:
        assert r.running() == {}  # the newest call ran the newest version
    back = time.time() + 1
    for i in range(2, 5):
        s.record_invocation(make_inv(v1, i, started_at=back + i))
    s.close()
    with Reader(user_repo) as r:
        now = r.running()["mod.hello"]
        assert (now.version_id, now.vn, now.since, now.last_used) == (v1.version_id, 1, back + 2, back + 4)
        assert r.lmps()[0].latest_version == v2.version_id  # the newest version is still v2
