"""One of several processes calling an LMP into the same repository (ell-git only).

    python writers.py REPO CALLS TAG

Opens the git store at REPO, prints {"ready": ...}, waits for a line on stdin (so that every
process starts calling at the same moment), makes CALLS calls on the in-process mock transport,
closes the store (final flush) and prints {"calls", "calls_s", "close_s"}. All processes of one
clone share one invocation ref, so every commit races the others' (compare-and-swap + retry).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.simplefilter("ignore")

from mock import mock_client  # noqa: E402


def main() -> None:
    repo, calls, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    import ell

    client = mock_client()
    ell.init(store=repo, autocommit=False)

    @ell.simple(model="gpt-4o-mini", temperature=0.2, client=client)
    def hello(name: str):
        """You are a helpful assistant."""
        return f"Say hello to {name}."

    ell.version_of(hello)  # versioning before the start line: it is not what races
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    for i in range(calls):
        hello(f"{tag}-{i}")
    t1 = time.perf_counter()
    ell.get_store().close(timeout=600)
    t2 = time.perf_counter()
    print(json.dumps({"calls": calls, "calls_s": t1 - t0, "close_s": t2 - t1}), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
