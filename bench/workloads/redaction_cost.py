"""What redaction costs a call, measured where it runs: inside a real call loop (the SDK on the
in-process mock transport, the git store on), next to what the store's own hand-over costs.

    python bench/workloads/redaction_cost.py [ROUNDS]

The wall-clock A/B (`percall_ab.py`'s `git` vs `git-noredact`) cannot resolve a few µs on a shared
machine; this times the two steps themselves, per call, round by round: `ell.redaction`'s check of
each record (`tracking`'s hook, wrapped with a timer here) and `GitStore.record_invocation` (the
canonical line and its hand-over to the writer process). It also prints the same two steps hot, in
a tight loop on one record, for scale.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import timeit
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.simplefilter("ignore")

from mock import mock_client  # noqa: E402

import ell  # noqa: E402
import ell.lmp.tracking as tracking  # noqa: E402
from ell.redaction import needs_redaction, redact_invocation  # noqa: E402
from ell_git import GitStore  # noqa: E402


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    client = mock_client()
    store = GitStore(tempfile.mkdtemp(prefix="ell-redaction-"), autocommit=False)
    ell.init(store=store, autocommit=False)
    store.wait_for_writer()

    @ell.simple(model="gpt-4o-mini", temperature=0.2, client=client)
    def hello(name: str):
        """You are a helpful assistant."""
        return f"Say hello to {name}."

    clock = time.perf_counter_ns
    spent = {"redaction": 0, "store": 0, "n": 0}
    records = []
    hand_over = store.record_invocation

    def timed_redaction(inv):  # type: ignore[no-untyped-def]
        t = clock()
        out = redact_invocation(inv)
        spent["redaction"] += clock() - t
        return out

    def timed_store(inv):  # type: ignore[no-untyped-def]
        t = clock()
        hand_over(inv)
        spent["store"] += clock() - t
        spent["n"] += 1
        if len(records) < 1:
            records.append(inv)

    tracking._redact = timed_redaction
    store.record_invocation = timed_store  # type: ignore[method-assign]
    for i in range(300):
        hello(i)
    red, sto = [], []
    for _ in range(rounds):
        spent.update(redaction=0, store=0, n=0)
        for i in range(1000):
            hello(i)
        red.append(spent["redaction"] / spent["n"] / 1000)
        sto.append(spent["store"] / spent["n"] / 1000)
        store.flush()
    inv = records[0]
    hot_red = min(timeit.repeat(lambda: needs_redaction(inv), number=20000, repeat=5)) / 20000 * 1e6
    hot_line = min(timeit.repeat(lambda: inv.plain_line(), number=20000, repeat=5)) / 20000 * 1e6
    print(f"in a call loop: redaction {statistics.median(red):.2f} µs/call (rounds {min(red):.2f}…{max(red):.2f}); "
          f"store.record_invocation {statistics.median(sto):.2f} µs/call (rounds {min(sto):.2f}…{max(sto):.2f}); "
          f"ratio {statistics.median(red) / statistics.median(sto):.2f}")
    print(f"hot, one record: redaction check {hot_red:.2f} µs; canonical line (plain_line) {hot_line:.2f} µs; "
          f"ratio {hot_red / hot_line:.2f}")
    os._exit(0)


if __name__ == "__main__":
    main()
