"""Peak memory (RSS) of the git store's writer with many invocations queued (ell-git only).

    python memory.py N MODE DIR

MODE `queued`: the writer thread (no writer process: the thread is what takes over when that
process is behind or gone) is held idle while N realistic records are recorded (its batch size
is set above N so that nothing wakes it; `max_queue` above N so nothing spills), so all N sit in
its queue at once; then the batch size goes back to the default and `flush()` drains them.
MODE `default`: the store's default settings (a writer process; `max_queue` 100,000 with
back-pressure), N records recorded as fast as possible, then `flush()`. Records are made one at a
time, as calls make them. Prints {"base_mb", "queued_mb", "peak_mb", "bytes_per_queued",
"max_queue_seen", "enqueue_s", "flush_s", "writer_process_peak_mb"}; RSS figures are of the whole
process (and of the writer process, read before it exits).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store_bench import _record, _version  # noqa: E402

from ell_git import GitStore  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _process_peak_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def main() -> None:
    n, mode, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    v = _version()
    if mode == "queued":
        store = GitStore(path, autocommit=False, batch_size=n + 1, flush_interval=3600, max_queue=n + 1,
                         writer_process=False)
    else:
        store = GitStore(path, autocommit=False)
        store.wait_for_writer()
    store.record_version(v)
    store.flush()
    _record(0, v, 0.0)  # first-use costs (pydantic schemas) before the baseline
    base = rss_mb()
    q = store._writer.q  # the writer's queue, sampled to show how deep it got
    seen = 0
    t = time.time()
    t0 = time.perf_counter()
    for i in range(n):
        store.record_invocation(_record(i, v, t))
        if i % 1000 == 0 and len(q) > seen:
            seen = len(q)
    t1 = time.perf_counter()
    seen = max(seen, len(q))
    queued = rss_mb()
    if mode == "queued":
        store._writer.batch_size = 1000  # the default: drain in normal batches
    ok = store.flush(timeout=3600)
    t2 = time.perf_counter()
    peak = peak_mb()
    child = _process_peak_mb(store.writer_pid)
    store.close()
    print(json.dumps({"n": n, "mode": mode, "flushed": ok, "base_mb": round(base, 1), "queued_mb": round(queued, 1),
                      "peak_mb": round(peak, 1), "bytes_per_queued": round((queued - base) * 2**20 / n),
                      "max_queue_seen": seen, "enqueue_s": round(t1 - t0, 2), "flush_s": round(t2 - t1, 2),
                      "writer_process_peak_mb": child}), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
