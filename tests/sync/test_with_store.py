"""End to end with the real store and reader: two clones record concurrently through `GitStore`, sync,
and each `Reader` then sees exactly the union of versions and invocations."""

from __future__ import annotations

import hashlib
import time

from synctools import World, out, user_state

from ell.records import InvocationRecord, VersionRecord
from ell_git import GitStore, Reader
from ell_git.sync import sync


def _version(name: str, body: str) -> VersionRecord:
    closure = f"import ell\n\n@ell.simple(model='gpt-4o-mini')\ndef {name.rsplit('.', 1)[-1]}(n: str):\n    {body}\n"
    vid = "lmp-" + hashlib.sha256(closure.encode()).hexdigest()[:16]
    return VersionRecord(version_id=vid, name=name, kind="simple", source=closure, closure=closure,
                         model="gpt-4o-mini", created_at=time.time())


def _inv(v: VersionRecord, tag: str) -> InvocationRecord:
    return InvocationRecord(id=f"inv-{hashlib.md5(tag.encode()).hexdigest()}", version_id=v.version_id,
                            lmp_name=v.name, args={"n": tag}, model=v.model, started_at=time.time())


def _record(path, *items: VersionRecord | InvocationRecord) -> None:
    store = GitStore(path, autocommit=False)
    try:
        for item in items:
            (store.record_version if isinstance(item, VersionRecord) else store.record_invocation)(item)
        store.flush()
    finally:
        store.close()


def test_two_stores_then_sync_read_the_union(world: World) -> None:
    before = {c: user_state(c) for c in (world.a, world.b)}
    base = _version("app.greet", "return 'base'")
    _record(world.a, base, _inv(base, "a0"))
    sync(world.a)
    sync(world.b)

    va, vb = _version("app.greet", "return 'from a'"), _version("app.greet", "return 'from b'")
    only_b = _version("app.other", "return 'b'")
    _record(world.a, va, _inv(va, "a1"), _inv(va, "a2"))
    _record(world.b, vb, only_b, _inv(vb, "b1"), _inv(only_b, "b2"))
    sync(world.a)
    assert sync(world.b).lmp["refs/ell/lmp/app.greet"] == "merged"
    sync(world.a)

    for clone in (world.a, world.b):
        with Reader(clone, cache_path=":memory:") as reader:
            assert {v.version_id for v in reader.versions("app.greet")} == {base.version_id, va.version_id, vb.version_id}
            assert [v.version_id for v in reader.versions("app.other")] == [only_b.version_id]
            page = reader.invocations(limit=100)
            assert page.total == 5 and {r.id for r in page.items} == {_inv(base, t).id for t in ("a0", "a1", "a2", "b1", "b2")}
        assert user_state(clone) == before[clone]
    assert out(world.a, "rev-parse", "refs/ell/lmp/app.greet") == out(world.b, "rev-parse", "refs/ell/lmp/app.greet")


def test_merge_message_names_the_lmp_as_written(world: World) -> None:
    """Escaped ref names (here `<locals>` and a space) come back as the real name in the merge trailer."""
    name = "app.make.<locals>.inner fn"
    _record(world.a, _version(name, "return 'a'"))
    sync(world.a)
    _record(world.b, _version(name, "return 'b'"))
    report = sync(world.b)
    (ref, outcome), = report.lmp.items()
    assert outcome == "merged" and ref != f"refs/ell/lmp/{name}"
    message = out(world.b, "log", "-1", "--format=%B", ref)
    assert message.startswith(f"Merge {name} versions from origin\n")
    assert message.endswith(f"Ell-Merge: origin\nEll-Lmp: {name}")
