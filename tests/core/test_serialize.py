"""Canonical JSON of odd values never raises and is deterministic."""

from __future__ import annotations

import math
import socket

import orjson

import ell
from ell.serialize import dumps, to_jsonable


def test_odd_values():
    rec = []
    rec.append(rec)
    with socket.socket() as s:
        data = {"nan": math.nan, "inf": -math.inf, "big": 10**40, "bytes": b"\xff\x00", "set": {3, 1, 2},
                "rec": rec, "sock": s, "gen": (i for i in range(3)), "msg": ell.user("hi")}
        out = to_jsonable(data)
    assert out["nan"] == "nan" and out["inf"] == "-inf" and out["big"] == str(10**40)
    assert out["bytes"] == {"__bytes_b64__": "/wA="} and out["set"] == [1, 2, 3]
    assert out["rec"] == ["<recursive>"]
    assert out["sock"] == "<unserializable: socket>" and out["gen"] == "<unserializable: generator>"
    assert out["msg"] == {"role": "user", "content": [{"text": "hi"}]}
    orjson.dumps(out)


def test_canonical_bytes_sorted_keys():
    assert dumps({"b": 1, "a": [2, {"d": 1, "c": 2}]}) == b'{"a":[2,{"c":2,"d":1}],"b":1}'


def test_huge_strings_are_truncated():
    out = to_jsonable("x" * 2_000_000)
    assert len(out) < 1_100_000 and "truncated" in out


def test_lone_surrogates_survive():
    assert orjson.dumps(to_jsonable("a\ud800b"))


def test_fast_and_careful_paths_agree_on_ordinary_records():
    import time

    from ell.records import InvocationRecord

    inv = InvocationRecord(
        id="inv-1", version_id="lmp-1", lmp_name="m.f", args={"name": ell.lstr("bob", "inv-0"), "n": 3},
        messages=[ell.system("s"), ell.user(["hi", ell.ImageContent(url="https://x/y.png")])],
        outputs=[ell.assistant("yo")], usage={"total_tokens": 3}, started_at=time.time(),
        origin_ids=("inv-0",), bound_globals={"tags": {"b", "a"}},
    )
    assert dumps(inv) == orjson.dumps(to_jsonable(inv), option=orjson.OPT_SORT_KEYS)


def test_dumps_falls_back_instead_of_raising():
    rec = {}
    rec["self"] = rec
    for value in (10**40, rec, "a\ud800", {(1, 2): "tuple key"}, [socket.socket]):
        orjson.loads(dumps(value))
