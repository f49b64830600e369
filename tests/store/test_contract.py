"""One contract for every store: the same tests run on `MemoryStore` and `GitStore` (as git-bug's
`RepoTest` runs on its mock and its real repository). A new store joins by adding a param to `store`.

The contract is what `ell` relies on (`ell.store`: `Store`, `Freezable`, `EvaluationHooks`); how a
store is read back is its own business, so `recorded` asks each one its own way.
"""

from __future__ import annotations

import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from store_helpers import init_user_repo, make_inv, make_version

import ell
from ell.records import DatapointResult, EvaluationRecord, EvaluationRunRecord, FeedbackRecord, LabelerRecord
from ell.store import EvaluationHooks, Freezable, MemoryStore, Store
from ell_git import GitStore


@pytest.fixture(params=["memory", "git"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        s: Any = MemoryStore()
    else:
        s = GitStore(init_user_repo(tmp_path / "proj"), autocommit=False, flush_interval=0.05)
    yield s
    s.close()


def recorded(store: Any) -> tuple[set[str], set[str], set[str]]:
    """(version ids, invocation ids, evaluation run ids) the store holds, once flushed."""
    store.flush()
    if isinstance(store, MemoryStore):
        return set(store.versions), {i.id for i in store.invocations}, {r.id for r in store.evaluation_runs}
    r = store.reader
    versions = {v.version_id for lmp in r.lmps() for v in r.versions(lmp.name)}
    runs = {run.id for e in r.evals.evaluations() for run in r.evals.evaluation(e.name).runs}
    return versions, {row.id for row in r.invocations(limit=10**6).items}, runs


def output(text: str) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": [{"text": text}]}]


def test_implements_the_protocols(store):
    assert isinstance(store, Store) and isinstance(store, Freezable) and isinstance(store, EvaluationHooks)


def test_recorded_versions_and_invocations_read_back_after_flush(store):
    v, w = make_version(), make_version("mod.other")
    for version in (v, v, w):  # a version recorded twice is kept once
        store.record_version(version)
    invs = [make_inv(v, i) for i in range(3)] + [make_inv(w, 9)]
    for inv in invs:
        store.record_invocation(inv)
    assert recorded(store)[:2] == ({v.version_id, w.version_id}, {i.id for i in invs})


def test_flush_takes_a_timeout_and_returns(store):
    store.record_version(make_version())
    store.flush(timeout=30)
    store.flush()


def test_close_is_idempotent_and_records_after_it_never_raise(store):
    store.close()
    store.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a store may say once that it is closed
        store.record_version(make_version())
        store.record_invocation(make_inv(make_version(), 1))


def test_nested_freeze_holds_until_the_outer_block_exits(store):
    assert not store.is_frozen("a")
    with store.freeze("a"):
        with store.freeze("a", "b"):
            assert store.is_frozen("a") and store.is_frozen("b")
        assert store.is_frozen("a") and not store.is_frozen("b")
    assert not store.is_frozen("a")


def test_freeze_names_decorated_functions_by_their_recorded_name(store):
    def hello() -> None: ...

    hello.__ell_name__ = "mod.hello"  # type: ignore[attr-defined]
    with store.freeze(hello):
        assert store.is_frozen("mod.hello")
    assert not store.is_frozen("mod.hello")


def test_freeze_is_seen_by_other_threads_and_ends_on_an_exception(store):
    seen: list[bool] = []
    with pytest.raises(RuntimeError):
        with store.freeze("a"):
            t = threading.Thread(target=lambda: seen.append(store.is_frozen("a")))
            t.start()
            t.join()
            raise RuntimeError("boom")
    assert seen == [True] and not store.is_frozen("a")


def test_cached_outputs_serve_the_newest_error_free_identical_call(store):
    v = make_version()
    store.record_version(v)
    old = make_inv(v, 1, args={"n": "a"}, outputs=output("old"))
    new = make_inv(v, 2, args={"n": "a"}, outputs=output("new"))
    failed = make_inv(v, 3, args={"n": "b"}, error="RuntimeError: boom")
    other_globals = make_inv(v, 4, args={"n": "a"}, bound_globals={"TONE": "cold"})
    for inv in (old, new, failed):
        store.record_invocation(inv)  # not flushed: a lookup must see what is still queued
    assert store.cached_outputs(v.version_id, new.cache_key()) == output("new")
    assert store.cached_outputs(v.version_id, failed.cache_key()) is None  # errors are never served
    assert store.cached_outputs(v.version_id, other_globals.cache_key()) is None
    assert store.cached_outputs("lmp-other", new.cache_key()) is None


def test_a_frozen_lmp_replays_its_recorded_call(store, model_server):
    ell.init(store=store, default_client=model_server.client(max_retries=0))

    @ell.simple(model="m")
    def hello(x: str):
        return f"hi {x}"

    first = hello("a")
    calls = len(model_server.requests)
    with store.freeze(hello):
        assert hello("a") == first and len(model_server.requests) == calls
    hello("a")
    assert len(model_server.requests) == calls + 1


def test_feedback_is_kept_with_its_version_and_refused_for_unknown_calls(store):
    v = make_version()
    store.record_version(v)
    inv = make_inv(v, 1)
    store.record_invocation(inv)
    kept = store.record_feedback(FeedbackRecord(id="fb-1", invocation_id=inv.id, score=1.0, created_at=time.time()))
    assert (kept.invocation_id, kept.version_id, kept.lmp_name) == (inv.id, v.version_id, v.name)
    with pytest.raises(LookupError):
        store.record_feedback(FeedbackRecord(id="fb-2", invocation_id="inv-" + "0" * 32, score=-1.0))


def test_an_evaluation_run_is_kept(store):
    v = make_version()
    store.record_version(v)
    labeler = LabelerRecord("exact", "metric", "lmp-0123456789abcdef", "tests.exact", "def exact(d, o): ...")
    evaluation = EvaluationRecord("eval-0123456789abcdef", "capitals", "dataset-0123456789abcdef",
                                  ({"input": ["France"]},), None, 1, (labeler,))
    result = DatapointResult(0, 0, "k0", None, "Paris", {"exact": 1.0})
    run = EvaluationRunRecord("run-0123456789abcdef", evaluation, v.name, v.version_id, {}, {}, time.time(),
                              time.time(), (result,), {"exact": {"count": 1, "errors": 0, "mean": 1.0}}, True)
    store.record_evaluation_run(run)
    assert recorded(store)[2] == {run.id}
