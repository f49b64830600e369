"""The documented id recipe, and the cycle handling of the uses graph."""

from __future__ import annotations

import hashlib

import orjson

from ell.versioning.hashing import FORMAT, cycle_digest, strongly_connected, version_id


def test_version_id_is_the_documented_recipe():
    payload = {"format": FORMAT, "name": "m.f", "closure": "def f():\n    pass\n", "uses": ["lmp-a", "lmp-b"]}
    expected = "lmp-" + hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    assert version_id("m.f", "def f():\n    pass\n", ["lmp-b", "lmp-a"]) == expected
    assert FORMAT == 1


def test_name_closure_uses_and_cycle_all_matter():
    base = version_id("m.f", "x", ["lmp-1"])
    assert len({base, version_id("m.g", "x", ["lmp-1"]), version_id("m.f", "y", ["lmp-1"]),
                version_id("m.f", "x", ["lmp-2"]), version_id("m.f", "x", ["lmp-1"], cycle="c")}) == 5


def test_cycle_digest_ignores_member_order():
    a = [("m.a", "ca", ["lmp-x"]), ("m.b", "cb", [])]
    assert cycle_digest(a) == cycle_digest(list(reversed(a)))


def test_strongly_connected_components_come_callees_first():
    # 1 -> 2 -> 3 -> 1 (a cycle), 3 -> 4, 5 -> 1
    edges = {1: [2], 2: [3], 3: [1, 4], 4: [], 5: [1]}
    for order in ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [3, 5, 1, 4, 2]):
        comps = strongly_connected(order, edges)
        assert sorted(map(sorted, comps)) == [[1, 2, 3], [4], [5]]
        pos = {n: i for i, c in enumerate(comps) for n in c}
        assert pos[4] < pos[1] < pos[5]  # a component comes after everything it reaches
    deep = {i: [i + 1] for i in range(5000)}  # no recursion limit
    assert len(strongly_connected(list(range(5001)), deep)) == 5001
