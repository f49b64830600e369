"""GitStore.freeze: recorded outputs for identical calls, also from another process (the read cache).
The semantics every store shares (nesting, threads) are in `test_contract`."""

from __future__ import annotations

from store_helpers import make_inv, make_version

from ell_git import GitStore


def test_cached_outputs_hit_and_miss(user_repo):
    s = GitStore(user_repo, autocommit=False, flush_interval=10)
    v = make_version()
    old = make_inv(v, 1, args={"n": "a"}, outputs=[{"role": "assistant", "content": [{"text": "old"}]}])
    new = make_inv(v, 2, args={"n": "a"}, outputs=[{"role": "assistant", "content": [{"text": "new"}]}])
    failed = make_inv(v, 3, args={"n": "b"}, error="RuntimeError: boom")
    with_globals = make_inv(v, 4, args={"n": "c"}, bound_globals={"TONE": "warm"})
    for inv in (old, new, failed, with_globals):
        s.record_invocation(inv)  # still queued: the lookup must flush before answering
    assert s.cached_outputs(v.version_id, new.cache_key()) == [{"role": "assistant", "content": [{"text": "new"}]}]
    assert s.cached_outputs(v.version_id, failed.cache_key()) is None  # errors are never served
    other = make_inv(v, 5, args={"n": "c"}, bound_globals={"TONE": "cold"})
    assert s.cached_outputs(v.version_id, other.cache_key()) is None
    assert s.cached_outputs(v.version_id, with_globals.cache_key()) is not None
    assert s.cached_outputs("lmp-other", new.cache_key()) is None
    s.close()
    # a new process (new store) finds them through the read cache
    s2 = GitStore(user_repo, autocommit=False)
    assert s2.cached_outputs(v.version_id, old.cache_key())[0]["content"][0]["text"] == "new"
    s2.close()

