"""Per-call cost on the caller's path. Runs unchanged under ell-git and under ell-ai 0.0.17.

    python percall.py MODE CALLS [--base-url URL]
MODE: raw | nostore | store. Prints one JSON line: {"mode", "us_per_call", "calls"}.
With --base-url the client talks HTTP to that server (ell.testing) instead of the in-process mock.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.simplefilter("ignore")

from mock import mock_client  # noqa: E402

SYSTEM = "You are a helpful assistant."


def main() -> None:
    mode, calls = sys.argv[1], int(sys.argv[2])
    if "--base-url" in sys.argv:
        import openai

        client = openai.OpenAI(api_key="sk-bench", base_url=sys.argv[sys.argv.index("--base-url") + 1], max_retries=0)
    else:
        client = mock_client()

    if mode == "raw":
        def call(i: int) -> str:
            r = client.chat.completions.create(
                model="gpt-4o-mini", temperature=0.2,
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Say hello to {i}."}])
            return r.choices[0].message.content
    else:
        import ell

        store_dir = tempfile.mkdtemp(prefix="ell-bench-") if mode == "store" else None
        ell.init(store=store_dir, autocommit=False)

        @ell.simple(model="gpt-4o-mini", temperature=0.2, client=client)
        def hello(name: str):
            """You are a helpful assistant."""
            return f"Say hello to {name}."

        call = hello

    warm = max(20, calls // 10)
    for i in range(warm):
        call(i)
    t0 = time.perf_counter()
    for i in range(calls):
        call(i)
    elapsed = time.perf_counter() - t0
    if mode == "store":
        import ell

        store = ell.get_store()
        if store is not None and hasattr(store, "flush"):
            store.flush()
    print(json.dumps({"mode": mode, "calls": calls, "us_per_call": elapsed / calls * 1e6}))
    os._exit(0)  # skip interpreter teardown: not part of the measurement


if __name__ == "__main__":
    main()
