"""Versioning inside a real call: the decorators record the version and a snapshot per call."""

from __future__ import annotations

from ell.versioning import compute_version

def test_call_records_version_and_snapshot(memory_store, project):
    m = project.load({"prompts.py": '''
        import ell
        HISTORY = ["a"]

        @ell.simple(model="gpt-4o-mini")
        def hello(name: str):
            """You are brief."""
            return f"Say hi to {name} {HISTORY}"
    '''}, "prompts")
    m.hello("x")
    m.HISTORY.append("b")
    m.hello("y")
    info = compute_version(m.hello)
    assert info.version_id in memory_store.versions
    invs = memory_store.invocations
    assert [i.version_id for i in invs] == [info.version_id] * 2
    # each call saw the list as it was then (shallow copy), and the version did not change
    assert [i.bound_globals for i in invs] == [{"HISTORY": ["a"]}, {"HISTORY": ["a", "b"]}]
    assert memory_store.versions[info.version_id].closure == info.closure
