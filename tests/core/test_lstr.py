"""lstr keeps its origin trace through string operations."""

from __future__ import annotations

import pickle

from ell import lstr


def test_operations_keep_origins():
    a, b = lstr("Hello", "inv-a"), lstr("World", "inv-b")
    assert (a + " " + b).__origin_trace__ == {"inv-a", "inv-b"}
    assert ("x" + a).__origin_trace__ == {"inv-a"}
    assert a[1:3] == "el" and a[1:3].__origin_trace__ == {"inv-a"}
    assert a.upper().__origin_trace__ == {"inv-a"} and a.strip() == "Hello"
    assert lstr(", ").join([a, b]).__origin_trace__ == {"inv-a", "inv-b"}
    assert all(p.__origin_trace__ == {"inv-a"} for p in lstr("a b", "inv-a").split())
    assert lstr("{} {}").format(a, b).__origin_trace__ == {"inv-a", "inv-b"}
    assert (lstr("%s!", "inv-c") % a).__origin_trace__ == {"inv-a", "inv-c"}


def test_is_a_str_and_pickles():
    a = lstr("x", ["i1", "i2"])
    assert isinstance(a, str) and a == "x" and hash(a) == hash("x") and repr(a) == "'x'"
    b = pickle.loads(pickle.dumps(a))
    assert b == "x" and b.__origin_trace__ == {"i1", "i2"}
