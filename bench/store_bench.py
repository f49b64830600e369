"""Benchmarks of the git store: enqueue cost, durable throughput, bytes per invocation, reader latency.

    python bench/store_bench.py                 # all sections, 1,000 versions / 1,000,000 invocations
    python bench/store_bench.py --quick         # small sizes (a smoke run)
    python bench/store_bench.py --big /tmp/big  # reuse (or create) the generated repository there

Targets: enqueue ≤ a few µs; ≥ 20,000 durable invocations/s; LMP page data (versions + first page
of invocations + stats) ≤ 50 ms p50 on 1,000 versions and 1,000,000 invocations.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import ell  # noqa: E402
from ell.records import InvocationRecord, VersionRecord  # noqa: E402
from ell_git import GitStore, Reader  # noqa: E402
from gen_repo import generate  # noqa: E402


def _version() -> VersionRecord:
    closure = "import ell\n\n@ell.simple(model='gpt-4o-mini')\ndef hello(name: str):\n    'Be nice.'\n    return f'hi {name}'\n"
    return VersionRecord("lmp-00000000bench000", "bench.hello", "simple", closure, closure, model="gpt-4o-mini")


def _record(i: int, v: VersionRecord, t: float) -> InvocationRecord:
    """A realistic record, as `ell.simple` builds it (live `ell.Message` objects, not bytes)."""
    return InvocationRecord(
        id=f"inv-{i:032x}", version_id=v.version_id, lmp_name=v.name, args={"name": f"user {i}"},
        messages=[ell.system("You are a helpful assistant. Be nice."), ell.user(f"Say hello to user {i}.")],
        outputs=[ell.assistant(f"Hello, user {i}! How can I help you today?")], model="gpt-4o-mini",
        api_params={"temperature": 0.7}, usage={"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37},
        latency_ms=350.0 + i % 100, started_at=t + i * 1e-3,
    )


def _records(n: int, v: VersionRecord) -> list[InvocationRecord]:
    t = time.time()
    return [_record(i, v, t) for i in range(n)]


def _du(path: Path) -> tuple[int, int]:
    """(apparent bytes, bytes on disk) of a directory."""
    apparent = disk = 0
    for root, _, files in os.walk(path):
        for f in files:
            st = os.stat(os.path.join(root, f))
            apparent += st.st_size
            disk += st.st_blocks * 512
    return apparent, disk


def bench_enqueue(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        v = _version()
        recs = _records(n, v)
        idle = GitStore(tmp, autocommit=False, batch_size=10 * n, flush_interval=3600, max_queue=10 * n)
        t = time.perf_counter()
        for r in recs:
            idle.record_invocation(r)
        idle_us = (time.perf_counter() - t) / n * 1e6
        idle.close(timeout=300)
        shutil.rmtree(Path(tmp) / ".git")
        busy = GitStore(tmp, autocommit=False)  # defaults: the writer works while we enqueue
        each = []
        clock = time.perf_counter
        t = clock()
        for r in recs:
            t1 = clock()
            busy.record_invocation(r)
            each.append(clock() - t1)
        busy_us = (clock() - t) / n * 1e6
        busy.close(timeout=300)
    each.sort()
    # The tail is GIL hand-over to the writer thread (serialising, zlib), not the enqueue itself.
    return {"enqueue_us_idle_writer": round(idle_us, 3), "enqueue_us_busy_writer": round(busy_us, 3),
            "enqueue_us_busy_p99": round(each[int(0.99 * n)] * 1e6, 2),
            "enqueue_us_busy_max": round(each[-1] * 1e6, 1)}


def bench_throughput(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        v = _version()
        recs = _records(n, v)
        store = GitStore(tmp, autocommit=False)
        store.record_version(v)
        store.flush()
        t = time.perf_counter()
        for r in recs:
            store.record_invocation(r)
        assert store.flush(timeout=600)
        elapsed = time.perf_counter() - t
        store.close()
        objects = Path(tmp) / ".git" / "objects"
        before = _du(objects)
        subprocess.run(["git", "gc", "-q", "--prune=now"], cwd=tmp, check=True)
        after = _du(objects)
    return {
        "durable_invocations_per_s": round(n / elapsed),
        "bytes_per_invocation_loose_apparent": round(before[0] / n, 1),
        "bytes_per_invocation_loose_on_disk": round(before[1] / n, 1),
        "bytes_per_invocation_after_gc": round(after[0] / n, 1),
    }


def _p50(fn: Callable[[], Any], runs: int = 15) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 2)


def bench_reader(path: Path, n_versions: int, n_invocations: int) -> dict[str, float]:
    out: dict[str, float] = {}
    if not (path / ".git").exists():
        t = time.perf_counter()
        generate(path, n_versions, n_invocations)
        out["generate_s"] = round(time.perf_counter() - t, 1)
    r = Reader(path)
    t = time.perf_counter()
    r.refresh()
    out["cache_build_or_open_s"] = round(time.perf_counter() - t, 2)
    lmps = r.lmps()
    busiest = max(lmps, key=lambda x: x.invocation_count)
    name = busiest.name
    some_id = r.invocations(lmp=name, limit=1).items[0].id

    def lmp_page() -> None:
        r.versions(name)
        r.invocations(lmp=name, limit=50)
        r.stats(name)

    out.update({
        "busiest_lmp_invocations": busiest.invocation_count,
        "ms_p50_lmp_page": _p50(lmp_page),
        "ms_p50_lmps": _p50(r.lmps),
        "ms_p50_versions": _p50(lambda: r.versions(name)),
        "ms_p50_invocations_page1": _p50(lambda: r.invocations(lmp=name, limit=50)),
        "ms_p50_invocations_offset_10000": _p50(lambda: r.invocations(lmp=name, limit=50, offset=10_000)),
        "ms_p50_invocations_all_lmps": _p50(lambda: r.invocations(limit=50)),
        "ms_p50_invocations_latency_filter": _p50(lambda: r.invocations(lmp=name, min_latency=1000, limit=50)),
        "ms_p50_invocations_q": _p50(lambda: r.invocations(q="topic 42", limit=50), runs=3),
        "ms_p50_stats": _p50(lambda: r.stats(name)),
        "ms_p50_invocation_detail": _p50(lambda: r.invocation(some_id)),
        "ms_p50_diff": _p50(lambda: r.diff(name, "v1", "latest")),
        "ms_p50_graph": _p50(r.graph),
        "ms_p50_state_token": _p50(r.state_token),
    })
    r.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="ell-git store benchmarks")
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--big", default=None, help="where the generated repository lives (kept between runs)")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    ap.add_argument("--skip-reader", action="store_true")
    args = ap.parse_args()
    n = 20_000 if args.quick else 100_000
    versions, invocations = (100, 50_000) if args.quick else (1000, 1_000_000)
    results: dict[str, Any] = {"invocations_written": n}
    results.update(bench_enqueue(n))
    results.update(bench_throughput(n))
    if not args.skip_reader:
        big = Path(args.big or tempfile.mkdtemp(prefix="ell-big-"))
        results.update({"reader_versions": versions, "reader_invocations": invocations})
        results.update(bench_reader(big, versions, invocations))
        if not args.big:
            shutil.rmtree(big)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
