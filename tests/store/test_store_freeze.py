"""store.freeze: recorded outputs for identical calls (same version, arguments, bound globals)."""

from __future__ import annotations

from store_helpers import make_inv, make_version

from ell.serialize import call_cache_key
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
    assert s.cached_outputs(v.version_id, call_cache_key(new)) == [{"role": "assistant", "content": [{"text": "new"}]}]
    assert s.cached_outputs(v.version_id, call_cache_key(failed)) is None  # errors are never served
    other = make_inv(v, 5, args={"n": "c"}, bound_globals={"TONE": "cold"})
    assert s.cached_outputs(v.version_id, call_cache_key(other)) is None
    assert s.cached_outputs(v.version_id, call_cache_key(with_globals)) is not None
    assert s.cached_outputs("lmp-other", call_cache_key(new)) is None
    s.close()
    # a new process (new store) finds them through the read cache
    s2 = GitStore(user_repo, autocommit=False)
    assert s2.cached_outputs(v.version_id, call_cache_key(old))[0]["content"][0]["text"] == "new"
    s2.close()


def test_freeze_context_nests_by_name(user_repo):
    s = GitStore(user_repo, autocommit=False)

    def hello() -> None: ...

    name = f"{hello.__module__}.{hello.__qualname__}"  # a plain function is frozen by this name
    assert not s.is_frozen(name)
    with s.freeze(hello):
        with s.freeze(hello, "mod.other"):
            assert s.is_frozen(name) and s.is_frozen("mod.other")
        assert s.is_frozen(name) and not s.is_frozen("mod.other")
    assert not s.is_frozen(name)
    s.close()
