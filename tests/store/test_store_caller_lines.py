"""Plain records are serialised on the caller's thread; everything else by the writer, to the same bytes.

Also: records keep the arguments as they were when the call was made, invocation ids stay unique
across threads and forks, and an idle writer does not wake up.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import all_lines, make_inv, make_version

import ell
from ell.lmp import tracking
from ell.types import Message
from ell.types.lstr import lstr
from ell.records import PLAIN_KEY_BYTES

VERSION = make_version()
_text = st.text(max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | _text
    | _text.map(lambda s: lstr(s, "inv-origin")),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_messages = st.lists(st.builds(lambda role, text: Message(role, text), st.sampled_from(["system", "user"]), _text),
                     max_size=3)


@settings(max_examples=150, deadline=None)
@given(args=st.dictionaries(_text, _json, max_size=4), bound=st.dictionaries(_text, _json, max_size=3),
       messages=_messages, reply=_text)
def test_the_caller_and_the_writer_write_the_same_line(args, bound, messages, reply):
    inv = make_inv(VERSION, 1, args=args, bound_globals=bound, messages=messages,
                   outputs=[Message("assistant", lstr(reply, "inv-x"))])
    line = inv.plain_line()
    assert line is not None and line == inv.to_line()
    assert line == orjson.dumps(orjson.loads(line), option=orjson.OPT_SORT_KEYS)  # canonical


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize("odd", [
    {"args": {"p": Point(1)}},  # user objects: the writer converts them
    {"args": {"n": 2**70}},  # beyond 64 bits: the careful path
    {"args": {"doc": "x" * PLAIN_KEY_BYTES}},  # hashing large arguments stays in the background
    {"messages": [Message("user", ["look", ell.ImageContent(url="https://example.com/a.png")])]},
    {"outputs": [{1, 2}]},
    {"outputs": [Message("assistant", "lone \ud800 surrogate")]},  # orjson refuses it: the careful path
])
def test_records_that_are_not_plain_are_left_to_the_writer(odd):
    inv = make_inv(VERSION, 2, **odd)
    assert inv.plain_line() is None
    record = orjson.loads(inv.to_line())
    assert record["id"] == inv.id and isinstance(record["args"], dict) and record["bound_globals"] == {}


def test_both_kinds_reach_git_in_order(store, user_repo):
    store.record_version(VERSION)
    invs = [make_inv(VERSION, i, args={"p": Point(i)} if i % 3 == 0 else {"n": i}) for i in range(30)]
    for inv in invs:
        store.record_invocation(inv)
    assert store.flush(timeout=30)
    records = [orjson.loads(ln) for ln in all_lines(user_repo, store.inv_ref)]
    assert [r["id"] for r in records] == [i.id for i in invs]
    assert records[3]["args"] == {"p": {"x": 3}} and records[4]["args"] == {"n": 4}


def test_a_record_keeps_the_arguments_of_its_call(user_repo, model_server):
    ell.init(store=str(user_repo), autocommit=False, default_client=model_server.client(max_retries=0))

    @ell.simple(model="gpt-4o-mini")
    def summarise(items: list):
        return f"Summarise {len(items)} items."

    items = ["a", "b"]
    summarise(items)
    items.append("added after the call")  # must not change what was recorded
    store = ell.get_store()
    assert store.flush(timeout=30)
    (record,) = [orjson.loads(ln) for ln in all_lines(user_repo, store.inv_ref)]
    assert record["args"] == {"items": ["a", "b"]}


def test_invocation_ids_are_unique_across_threads_and_forks():
    ids: list[str] = []
    lock = threading.Lock()

    def make() -> None:
        mine = [tracking.new_invocation_id() for _ in range(2000)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child must not repeat the parent's next ids
        os.write(w, "\n".join(tracking.new_invocation_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(w)
    child = os.read(r, 1 << 20).decode().split("\n")
    os.waitpid(pid, 0)
    ids += child + [tracking.new_invocation_id() for _ in range(100)]
    assert len(set(ids)) == len(ids) == 8200
    assert all(len(i) == 36 and i.startswith("inv-") and int(i[4:], 16) >= 0 for i in ids)
    assert child[0][:20] != ids[0][:20]  # a new random prefix


def _switches(thread: threading.Thread) -> int:
    with open(f"/proc/self/task/{thread.native_id}/status") as f:
        return sum(int(ln.split()[1]) for ln in f if "ctxt_switches" in ln)


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_an_idle_writer_sleeps(store):
    """Each wake-up of a background thread takes the GIL from the user's program: idle, none."""
    store.record_invocation(make_inv(VERSION, 1))
    assert store.flush(timeout=30)
    writer = store._writer._thread
    time.sleep(0.2)  # let it finish the round it was in
    before = _switches(writer)
    time.sleep(1.0)
    assert _switches(writer) - before <= 3  # it used to wake 100 times a second
    store.record_invocation(make_inv(VERSION, 2))  # and it still commits what comes next
    assert store.flush(timeout=30)
