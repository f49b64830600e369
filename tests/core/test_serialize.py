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
