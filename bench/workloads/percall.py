"""Per-call cost on the caller's path. Runs unchanged under ell-git and under ell-ai 0.0.17.

    python percall.py MODE CALLS [--base-url URL]      # one shot: prints one JSON line
    python percall.py MODE --serve [--base-url URL] [--store-dir DIR]

MODE: raw | nostore | store. One shot prints {"mode", "us_per_call", "calls"}.
With --base-url the client talks HTTP to that server (ell.testing) instead of the in-process mock.

--serve keeps the process (imports, client, version, warm caches) between rounds so that
`bench/run.py` can alternate variants round by round without paying start-up each time. It prints
{"ready": ...} once warm, then answers one JSON line per command read from stdin:
  run N   time N calls: wall µs/call, the calling thread's CPU µs/call and its time in the
          cyclic garbage collector (gc.callbacks) per call, then (untimed) flush
          the store so that its backlog is not charged to the next variant; flush_s says how long
  info    {"store": dir or null, "calls": calls made so far}
  quit    close the store (ours: final flush; the peer writes synchronously) and exit
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import threading
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.simplefilter("ignore")

from mock import mock_client  # noqa: E402

SYSTEM = "You are a helpful assistant."


def _opt(name: str) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def _setup(mode: str, store_dir: str | None):
    base_url = _opt("--base-url")
    if base_url:
        import openai

        client = openai.OpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)
    else:
        client = mock_client()

    if mode == "raw":
        def call(i: int) -> str:
            r = client.chat.completions.create(
                model="gpt-4o-mini", temperature=0.2,
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"Say hello to {i}."}])
            return r.choices[0].message.content

        return call, None
    import ell

    if mode == "store":
        store_dir = store_dir or tempfile.mkdtemp(prefix="ell-bench-")
    else:
        store_dir = None
    ell.init(store=store_dir, autocommit=False)

    @ell.simple(model="gpt-4o-mini", temperature=0.2, client=client)
    def hello(name: str):
        """You are a helpful assistant."""
        return f"Say hello to {name}."

    return hello, store_dir


def _flush() -> float:
    import ell

    t = time.perf_counter()
    store = ell.get_store() if hasattr(ell, "get_store") else None
    if store is not None and hasattr(store, "flush"):
        store.flush()
    return time.perf_counter() - t


def _timed(call, start: int, n: int) -> tuple[float, float, float]:
    """Wall µs/call, the calling thread's CPU µs/call, and of that the cyclic GC's µs/call."""
    clock, cpu = time.perf_counter, time.thread_time
    me = threading.get_ident()
    gc_time, gc_start = [0.0], [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if threading.get_ident() == me:
            if phase == "start":
                gc_start[0] = clock()
            else:
                gc_time[0] += clock() - gc_start[0]

    gc.callbacks.append(on_gc)
    try:
        t0, c0 = clock(), cpu()
        for i in range(start, start + n):
            call(i)
        t1, c1 = clock(), cpu()
    finally:
        gc.callbacks.remove(on_gc)
    return (t1 - t0) / n * 1e6, (c1 - c0) / n * 1e6, gc_time[0] / n * 1e6


def _wait_for_writer() -> None:
    """Ours: measure the steady state, with the writer process running (it starts in the
    background with the store, ~0.1 s; until then invocations go to the writer thread)."""
    import ell

    store = ell.get_store() if hasattr(ell, "get_store") else None
    if hasattr(store, "wait_for_writer"):
        store.wait_for_writer()


def serve(mode: str) -> None:
    call, store_dir = _setup(mode, _opt("--store-dir"))
    warm = 50
    for i in range(warm):
        call(i)
    made = warm
    if mode == "store":
        _flush()
        _wait_for_writer()
    version = None
    if mode != "raw":
        import ell

        version = getattr(ell, "__version__", None)
    print(json.dumps({"ready": True, "mode": mode, "ell": version, "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "run":
            n = int(cmd[1])
            us, cpu_us, gc_us = _timed(call, made, n)
            made += n
            flush_s = _flush() if mode == "store" else 0.0
            out = {"us": us, "cpu_us": cpu_us, "gc_us": gc_us, "flush_s": flush_s, "n": n}
        elif cmd[0] == "info":
            out = {"store": store_dir, "calls": made}
        elif cmd[0] == "quit":
            if mode != "raw":
                import ell

                store = ell.get_store()
                if store is not None and hasattr(store, "close") and hasattr(store, "flush"):
                    store.close()
            print(json.dumps({"closed": True, "calls": made}), flush=True)
            break
        else:
            out = {"error": f"unknown command {cmd[0]!r}"}
        print(json.dumps(out), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: not part of any measurement


def main() -> None:
    mode = sys.argv[1]
    if "--serve" in sys.argv:
        serve(mode)
        return
    calls = int(sys.argv[2])
    call, _ = _setup(mode, None)
    warm = max(20, calls // 10)
    for i in range(warm):
        call(i)
    if mode == "store":
        _wait_for_writer()
    us, _, _ = _timed(call, warm, calls)
    if mode == "store":
        _flush()
    print(json.dumps({"mode": mode, "calls": calls, "us_per_call": us}))
    os._exit(0)  # skip interpreter teardown: not part of the measurement


if __name__ == "__main__":
    main()
