"""ell-git side by side with ell-ai 0.0.17: one entry point for every benchmark.

    python bench/run.py [--quick | --smoke] [--no-peer] [--peer-python PATH] [--out DIR] [--only W,W]

Prints a markdown table (machine first) and writes it to DIR (default bench/results) as
latest.md and latest.json. The peer runs in its own virtualenv (bench/.venv-peer, made once with
``pip install "ell-ai[sqlite]==0.0.17"``); when that is impossible its rows say why and the run
goes on. Variants of a workload run in the same run, alternating round by round (the order
rotates each round); the table shows medians, and ratios/differences are taken within each
round and then their median. See bench/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import IO, Any, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent / "workloads"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    BENCH, ROOT, WORKLOADS, Clock, Spec, Table, Worker, du, eq, ge, le, machine, markdown, median, peer_env,
    run_json, spread,
)

PERCALL = {"mock": "per-call (mock transport)", "http": "per-call (HTTP, ell.testing)"}
THROUGHPUT, CONCURRENCY, VERSIONING = "durable throughput", "concurrency", "versioning"
READING, STORAGE, MEMORY = "reading", "storage", "memory"
WORKLOADS_ALL = ["percall", "throughput", "concurrency", "versioning", "reading", "memory"]  # storage: from percall

SIZES: dict[str, dict[str, int]] = {
    "full": dict(rounds=21, calls=2000, variant_procs=3, http_rounds=9, http_calls=500, peer_store_div=5, throughput=100_000,
                 throughput_repeat=3, procs=8, proc_calls=10_000, lmps=100, closure_rounds=5, chain=10,
                 versions=1000, invocations=1_000_000, web_runs=30, log_runs=5, memory=1_000_000),
    "quick": dict(rounds=5, calls=1000, variant_procs=2, http_rounds=3, http_calls=300, peer_store_div=5, throughput=20_000,
                  throughput_repeat=1, procs=8, proc_calls=300, lmps=100, closure_rounds=2, chain=8,
                  versions=100, invocations=20_000, web_runs=10, log_runs=3, memory=100_000),
    "smoke": dict(rounds=2, calls=30, variant_procs=1, http_rounds=1, http_calls=10, peer_store_div=5, throughput=500,
                  throughput_repeat=1, procs=2, proc_calls=10, lmps=5, closure_rounds=1, chain=3,
                  versions=10, invocations=500, web_runs=2, log_runs=1, memory=500),
}


def catalogue() -> list[Spec]:
    rows: list[Spec] = []
    for transport, w in PERCALL.items():
        rows += [
            Spec(w, "raw openai SDK", "µs/call"),
            Spec(w, "ours, no store", "µs/call"),
            Spec(w, "ours, git store", "µs/call"),
            Spec(w, "peer: raw openai SDK (its venv)", "µs/call", peer=True),
            Spec(w, "peer, no store", "µs/call", peer=True),
            Spec(w, "peer, SQLite store", "µs/call", peer=True),
            Spec(w, "ours no store ÷ raw", "×", le(1.3)),
            Spec(w, "peer no store ÷ raw", "×", peer=True),
            # The goal is for an in-process transport; over HTTP a local server shares the cores.
            Spec(w, "ours store-on overhead (git store − raw)", "µs/call", le(40) if transport == "mock" else None),
            Spec(w, "peer store-on overhead (SQLite store − raw)", "µs/call", peer=True),
            Spec(w, "ours ÷ peer store-on overhead", "×", le(1 / 50), peer=True),
        ]
    rows += [
        Spec(THROUGHPUT, "writer: N realistic records, then flush()", "invocations/s", ge(20_000)),
        Spec(THROUGHPUT, "ours end to end: N calls (mock), then flush()", "invocations/s"),
        Spec(THROUGHPUT, "peer end to end: N calls (mock), SQLite store", "invocations/s", peer=True),
        Spec(CONCURRENCY, "invocations kept (plain git)", "invocations"),
        Spec(CONCURRENCY, "lost", "invocations", eq(0)),
        Spec(CONCURRENCY, "duplicates", "invocations", eq(0)),
        Spec(CONCURRENCY, "invocations kept (Reader)", "invocations"),
        Spec(CONCURRENCY, "aggregate rate, start to last close", "invocations/s"),
        Spec(VERSIONING, "ours: module of LMPs calling each other, per LMP", "ms/LMP", le(5)),
        Spec(VERSIONING, "ours: same, total", "ms"),
        Spec(VERSIONING, "ours: LMPs that do not call each other, per LMP", "ms/LMP", le(5)),
        Spec(VERSIONING, "peer: LMPs that do not call each other, per LMP", "ms/LMP", peer=True),
        Spec(VERSIONING, "peer ÷ ours, LMPs that do not call each other", "×", peer=True),
        Spec(VERSIONING, "ours: chain of K LMPs calling each other, total", "ms"),
        Spec(VERSIONING, "peer: chain of K LMPs calling each other, total", "ms", peer=True),
        Spec(READING, "generate the repository (gen_repo)", "s"),
        Spec(READING, "first request (read cache built from git)", "ms"),
        Spec(READING, "LMP page p50", "ms", le(50)),
        Spec(READING, "LMP page p95", "ms"),
        Spec(READING, "invocation list p50", "ms", le(50)),
        Spec(READING, "invocation list p95", "ms"),
        Spec(READING, "`ell log` (every LMP), wall", "ms"),
        Spec(READING, "`ell log LMP` (all its versions), wall", "ms"),
        Spec(STORAGE, "ours, as the store left it", "bytes/invocation"),
        Spec(STORAGE, "ours, after `git gc`", "bytes/invocation"),
        Spec(STORAGE, "peer, SQLite directory", "bytes/invocation", peer=True),
        Spec(STORAGE, "ours after gc ÷ peer", "×", peer=True),
        Spec(MEMORY, "writer with N invocations queued: peak RSS", "MB"),
        Spec(MEMORY, "memory per queued invocation", "bytes"),
        Spec(MEMORY, "default settings, N recorded at full speed: peak RSS", "MB"),
    ]
    return rows


class Run:
    """State shared by the workloads of one run."""

    def __init__(self, args: argparse.Namespace, sizes: dict[str, int], work: Path, log_file: IO[str]) -> None:
        self.args, self.sizes, self.work, self.log_file = args, sizes, work, log_file
        self.table = Table(catalogue())
        self.clock = Clock()
        self.peer: Optional[dict[str, str]] = None
        self.peer_reason = ""
        self.raw: dict[str, Any] = {}  # everything measured, for latest.json
        self.stores: dict[str, Any] = {}  # per-call store workers' directories, for the storage rows

    def log(self, msg: str) -> None:
        line = f"[{self.clock():6.1f}s] {msg}"
        print(line, file=sys.stderr, flush=True)
        print(line, file=self.log_file, flush=True)

    def py(self, side: str) -> str:
        return sys.executable if side == "ours" else self.peer["python"]  # type: ignore[index]

    def sides(self) -> list[str]:
        return ["ours", "peer"] if self.peer else ["ours"]


# -- 1. per-call cost (and storage, end-to-end throughput from the same stores) -----------------
def start_server(run: Run) -> tuple[subprocess.Popen[str], str]:
    """`python -m ell.testing --port 0`: its first stdout line is the base URL."""
    argv = [sys.executable, "-m", "ell.testing", "--port", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=run.log_file, text=True, cwd=run.work)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError("the ell.testing server did not print its URL")
    return proc, url


def percall(run: Run, transport: str, base_url: Optional[str]) -> None:
    """Start every variant's workers, then alternate rounds of calls among them.

    Each variant runs in `variant_procs` processes and a round pools them: one process's memory
    layout makes the same code a few µs a call faster or slower for its whole life (measured:
    ±10 µs between runs of the raw SDK alone), which more rounds of one process never average out."""
    w = PERCALL[transport]
    s = run.sizes
    rounds, n = (s["rounds"], s["calls"]) if transport == "mock" else (s["http_rounds"], s["http_calls"])
    procs = s["variant_procs"]
    workers: dict[tuple[str, str], list[Worker]] = {}
    try:
        for side in run.sides():
            for mode in ("raw", "nostore", "store"):
                argv = [run.py(side), str(WORKLOADS / "percall.py"), mode, "--serve"]
                if base_url:
                    argv += ["--base-url", base_url]
                workers[(side, mode)] = [
                    Worker(argv + (["--store-dir", str(run.work / f"store-{transport}-{side}-{k}")] if mode == "store" else []),
                           run.log_file, run.work)
                    for k in range(procs)]
        for key, wks in workers.items():
            for wk in wks:
                ready = wk.read()
            run.log(f"{w}: {key[0]} {key[1]} ready ({procs} processes, ell {ready.get('ell')})")
        keys = list(workers)
        slots = [(key, k) for k in range(procs) for key in keys]
        results: dict[tuple[str, str], list[dict[str, Any]]] = {k: [] for k in keys}
        for r in range(rounds):
            parts: dict[tuple[str, str], list[dict[str, Any]]] = {k: [] for k in keys}
            for key, k in slots[r % len(slots):] + slots[: r % len(slots)]:
                calls = n if key != ("peer", "store") else max(10, n // s["peer_store_div"])
                parts[key].append(workers[key][k].ask(f"run {max(1, calls // procs)}"))
            for key in keys:
                results[key].append(_pooled(parts[key]))
            run.log(f"{w}: round {r + 1}/{rounds}")
        for key in keys:
            if key[1] == "store":
                run.stores[f"{transport}-{key[0]}"] = workers[key][0].ask("info")
                for wk in workers[key]:
                    wk.ask("quit")  # ours: the final flush and close
    finally:
        for wks in workers.values():
            for wk in wks:
                wk.stop()
    run.raw[w] = {f"{k[0]} {k[1]}": v for k, v in results.items()}
    percall_rows(run, transport, results)


def _pooled(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One round of one variant: its processes' runs as one run of all their calls."""
    n = sum(p["n"] for p in parts)
    pooled = {f: sum(p[f] * p["n"] for p in parts) / n for f in ("us", "cpu_us", "gc_us")}
    return dict(pooled, n=n, flush_s=sum(p["flush_s"] for p in parts), processes=len(parts))


def percall_rows(run: Run, transport: str, results: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    """Per-call rows from per-round figures: medians, and per-round differences and ratios."""
    w = PERCALL[transport]
    names = {("ours", "raw"): "raw openai SDK", ("ours", "nostore"): "ours, no store",
             ("ours", "store"): "ours, git store", ("peer", "raw"): "peer: raw openai SDK (its venv)",
             ("peer", "nostore"): "peer, no store", ("peer", "store"): "peer, SQLite store"}

    def series(key: tuple[str, str], field: str = "us") -> list[float]:
        return [x[field] for x in results[key]]

    for key, label in names.items():
        if key in results:
            us = series(key)
            cpu, gc_us = median(series(key, "cpu_us")), median(series(key, "gc_us"))
            pooled = results[key][0].get("processes", 1)
            run.table.set(w, label, median(us), f"caller-thread CPU {cpu:.0f} µs, of which cyclic GC {gc_us:.1f} µs; "
                          f"{spread(us)}" + (f", each pooling {pooled} processes" if pooled > 1 else ""))
    raw, nostore, store = (series(("ours", m)) for m in ("raw", "nostore", "store"))
    over = [b - a for a, b in zip(raw, store)]
    gc_extra = median([b - a for a, b in zip(series(("ours", "nostore"), "gc_us"), series(("ours", "store"), "gc_us"))])
    run.table.set(w, "ours no store ÷ raw", median([b / a for a, b in zip(raw, nostore)]),
                  f"{median([b - a for a, b in zip(raw, nostore)]):+.0f} µs; median of per-round ratios")
    cpu_over = median([b - a for a, b in zip(series(("ours", "raw"), "cpu_us"), series(("ours", "store"), "cpu_us"))])
    with_flush = median([x["us"] + x["flush_s"] * 1e6 / x["n"] - a for a, x in zip(raw, results[("ours", "store")])])
    run.table.set(w, "ours store-on overhead (git store − raw)", median(over),
                  f"{spread(over)}; caller-thread CPU: {cpu_over:+.0f} µs; git store − no store: "
                  f"{median([b - a for a, b in zip(nostore, store)]):.0f} µs, of which cyclic GC {round(gc_extra)} µs "
                  f"(records wait as JSON lines, not objects); counting the round's final flush too: {with_flush:.0f} µs")
    if run.peer:
        praw, pnostore, pstore = (series(("peer", m)) for m in ("raw", "nostore", "store"))
        pover = [b - a for a, b in zip(praw, pstore)]
        run.table.set(w, "peer no store ÷ raw", median([b / a for a, b in zip(praw, pnostore)]),
                      "issue's reference: ~1.6×")
        run.table.set(w, "peer store-on overhead (SQLite store − raw)", median(pover), spread(pover))
        run.table.set(w, "ours ÷ peer store-on overhead", median([a / b for a, b in zip(over, pover)]),
                      f"1/50 = 0.02; i.e. peer's is {median(pover) / max(median(over), 1e-9):.0f}× ours")
    if transport == "mock":
        e2e = [x["n"] / (x["us"] * x["n"] / 1e6 + x["flush_s"]) for x in results[("ours", "store")]]
        run.table.set(THROUGHPUT, "ours end to end: N calls (mock), then flush()", median(e2e),
                      f"N = {results[('ours', 'store')][0]['n']:,} per round; the SDK's own ~{median(raw):.0f} µs/call "
                      "bounds it")
        if run.peer:
            pe2e = [1e6 / x["us"] for x in results[("peer", "store")]]
            run.table.set(THROUGHPUT, "peer end to end: N calls (mock), SQLite store", median(pe2e),
                          "writes synchronously: each call is durable when it returns")


def percall_http(run: Run) -> None:
    proc, url = start_server(run)
    try:
        percall(run, "http", url)
    finally:
        proc.kill()
        proc.wait(10)


def storage(run: Run) -> None:
    ours = run.stores.get("mock-ours")
    if not ours:
        run.table.missing[STORAGE] = "needs the per-call workload (its stores are measured)"
        return
    objects = Path(ours["store"]) / ".git" / "objects"
    n = ours["calls"]
    before = du(objects) / n
    subprocess.run(["git", "gc", "-q", "--prune=now"], cwd=ours["store"], check=True, capture_output=True)
    after = du(objects) / n
    run.raw[STORAGE] = {"ours_invocations": n, "ours_before": before, "ours_after": after}
    run.table.set(STORAGE, "ours, as the store left it", before,
                  f"{n:,} invocations of the per-call workload; .git/objects (loose + its own packs)")
    run.table.set(STORAGE, "ours, after `git gc`", after, ".git/objects after git gc --prune=now")
    peer = run.stores.get("mock-peer")
    if peer:
        pn = peer["calls"]
        pbytes = du(Path(peer["store"])) / pn
        run.raw[STORAGE].update({"peer_invocations": pn, "peer": pbytes})
        run.table.set(STORAGE, "peer, SQLite directory", pbytes, f"{pn:,} invocations of the same calls; ell.db + blobs")
        run.table.set(STORAGE, "ours after gc ÷ peer", after / pbytes, "")


# -- 2. the writer's throughput ------------------------------------------------------------------
def throughput(run: Run) -> None:
    n, rep = run.sizes["throughput"], run.sizes["throughput_repeat"]
    r = run_json([sys.executable, str(WORKLOADS / "throughput.py"), str(n), str(rep)], cwd=run.work,
                 stderr=run.log_file, timeout=3600)
    run.raw[THROUGHPUT] = r
    rates = [x["durable_invocations_per_s"] for x in r["runs"]]
    gc = median([x["bytes_per_invocation_after_gc"] for x in r["runs"]])
    run.table.set(THROUGHPUT, "writer: N realistic records, then flush()", float(median(rates)),
                  f"N = {n:,}, default store settings, {spread(rates)}; {gc:.0f} B/invocation after gc")


# -- 3. concurrency ----------------------------------------------------------------------------
def count_git(repo_path: Path) -> tuple[int, int, int]:
    """(lines, unique ids, commits) over every refs/ell/inv/* tip's segments, with pygit2 only."""
    import orjson
    import pygit2

    repo = pygit2.Repository(str(repo_path))
    lines, ids, commits = 0, set(), 0

    def walk(tree: Any) -> None:
        nonlocal lines
        for e in tree:
            if e.type_str == "tree":
                walk(repo[e.id])
            elif e.name.endswith(".jsonl"):
                for line in repo[e.id].data.splitlines():
                    if line.strip():
                        lines += 1
                        ids.add(orjson.loads(line)["id"])

    for name in repo.references:
        if name.startswith("refs/ell/inv/"):
            tip = repo.references[name].peel(pygit2.Commit)
            walk(tip.tree)
            commits += sum(1 for _ in repo.walk(tip.id))
    return lines, len(ids), commits


def concurrency(run: Run) -> None:
    p, n = run.sizes["procs"], run.sizes["proc_calls"]
    repo = run.work / "concurrency"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    workers = [Worker([sys.executable, str(WORKLOADS / "writers.py"), str(repo), str(n), f"p{k}"], run.log_file, run.work)
               for k in range(p)]
    try:
        for wk in workers:
            wk.read()
        t0 = time.perf_counter()
        for wk in workers:
            assert wk.proc.stdin is not None
            wk.proc.stdin.write("go\n")
            wk.proc.stdin.flush()
        outs = [wk.read() for wk in workers]
        wall = time.perf_counter() - t0
    finally:
        for wk in workers:
            wk.stop()
    lines, unique, commits = count_git(repo)
    from ell_git import Reader

    with Reader(repo) as reader:
        via_reader = sum(l.invocation_count for l in reader.lmps())
    expected = p * n
    run.raw[CONCURRENCY] = {"processes": outs, "wall_s": wall, "lines": lines, "unique": unique, "commits": commits}
    run.table.set(CONCURRENCY, "invocations kept (plain git)", unique,
                  f"{p} processes × {n:,} calls = {expected:,} expected; one clone, one shared invocation ref; "
                  f"{commits:,} commits")
    run.table.set(CONCURRENCY, "lost", expected - unique, "")
    run.table.set(CONCURRENCY, "duplicates", lines - unique, "segment lines whose id was already seen")
    run.table.set(CONCURRENCY, "invocations kept (Reader)", via_reader, "sum of Reader.lmps() invocation counts")
    slowest_close = max(o["close_s"] for o in outs)
    run.table.set(CONCURRENCY, "aggregate rate, start to last close", expected / wall,
                  f"{wall:.1f} s wall; slowest final flush {slowest_close:.2f} s")


# -- 4. versioning -------------------------------------------------------------------------------
def versioning(run: Run) -> None:
    s = run.sizes
    lmps, rounds, k = s["lmps"], s["closure_rounds"], s["chain"]
    workdir = run.work / "versioning"

    def closure(side: str, count: int, chain: bool, timeout: float = 1800) -> dict[str, Any]:
        argv = [run.py(side), str(WORKLOADS / "closure.py"), str(count), str(workdir)] + ([] if chain else ["--no-chain"])
        return run_json(argv, cwd=run.work, stderr=run.log_file, timeout=timeout)

    res: dict[str, list[dict[str, Any]]] = {"ours chain": [], "ours flat": [], "peer flat": []}
    for r in range(rounds):
        order = ["ours chain", "ours flat", "peer flat"] if run.peer else ["ours chain", "ours flat"]
        for key in order[r % len(order):] + order[: r % len(order)]:
            side, kind = key.split()
            res[key].append(closure(side, lmps, kind == "chain"))
        run.log(f"{VERSIONING}: round {r + 1}/{rounds}")
    ours_k = closure("ours", k, True)
    peer_k = closure("peer", k, True) if run.peer else None
    run.raw[VERSIONING] = {**res, "ours chain K": ours_k, "peer chain K": peer_k}

    def per(key: str) -> list[float]:
        return [x["per_lmp_ms"] for x in res[key]]

    chain_ms = [x["cold_ms"] for x in res["ours chain"]]
    run.table.set(VERSIONING, "ours: module of LMPs calling each other, per LMP", median(per("ours chain")),
                  f"{lmps} LMPs + {lmps} helpers (bench/versioning_bench.py), cold, fresh process; {spread(per('ours chain'))}")
    run.table.set(VERSIONING, "ours: same, total", median(chain_ms), f"cached afterwards: "
                  f"{median([x['cached_us'] for x in res['ours chain']]):.2f} µs/LMP")
    run.table.set(VERSIONING, "ours: LMPs that do not call each other, per LMP", median(per("ours flat")),
                  "the same module without the LMP→LMP calls")
    run.table.set(VERSIONING, "ours: chain of K LMPs calling each other, total", ours_k["cold_ms"], f"K = {k}")
    if run.peer:
        run.table.set(VERSIONING, "peer: LMPs that do not call each other, per LMP", median(per("peer flat")),
                      "its __ell_force_closure__ (dill, ast, black) per LMP; the peer cannot version the "
                      "module with calls (below)")
        run.table.set(VERSIONING, "peer ÷ ours, LMPs that do not call each other",
                      median([b / a for a, b in zip(per("ours flat"), per("peer flat"))]), "median of per-round ratios")
        assert peer_k is not None
        run.table.set(VERSIONING, "peer: chain of K LMPs calling each other, total", peer_k["cold_ms"],
                      f"K = {k}; doubles with each LMP added to the chain (its closure recurses through dill's "
                      f"transitive globalvars and never dedups an LMP), so {lmps} chained LMPs cannot finish")


# -- 5. reading ----------------------------------------------------------------------------------
def reading(run: Run) -> None:
    from gen_repo import generate

    s = run.sizes
    repo = run.work / "reading"
    t = time.perf_counter()
    generate(repo, s["versions"], s["invocations"], versions_per_lmp=s["versions"])
    gen_s = time.perf_counter() - t
    run.table.set(READING, "generate the repository (gen_repo)", gen_s,
                  f"{s['versions']:,} versions of one LMP (the worst LMP page) × {s['invocations']:,} invocations; "
                  "git fast-import")
    run.log(f"{READING}: generated in {gen_s:.1f} s")
    r = run_json([sys.executable, str(BENCH / "web_bench.py"), "--repo", str(repo), "--runs", str(s["web_runs"]),
                  "--json"], cwd=run.work, stderr=run.log_file, timeout=3600)
    run.raw[READING] = r
    res, meta = r["results"], r["meta"]
    run.table.set(READING, "first request (read cache built from git)", meta["first_request_ms"],
                  "Flask test client, server time; the cache is then kept in .git/ell/")
    note = f"{s['web_runs']} requests after a warm-up; Flask test client, server time"
    run.table.set(READING, "LMP page p50", res["lmp page"]["p50"], f"{meta['versions']:,} versions; {note}")
    run.table.set(READING, "LMP page p95", res["lmp page"]["p95"], "")
    run.table.set(READING, "invocation list p50", res["invocation list"]["p50"], f"{meta['invocations']:,} invocations; {note}")
    run.table.set(READING, "invocation list p95", res["invocation list"]["p95"], "")
    ell_cmd = [shutil.which("ell")] if shutil.which("ell") else [sys.executable, "-m", "ell_git.cli"]
    for variant, extra in (("`ell log` (every LMP), wall", []), ("`ell log LMP` (all its versions), wall", [meta["lmp"]])):
        times = []
        for _ in range(s["log_runs"]):
            t = time.perf_counter()
            subprocess.run([*ell_cmd, "log", *extra, "--repo", str(repo)], check=True, stdout=subprocess.DEVNULL,
                           stderr=run.log_file)
            times.append((time.perf_counter() - t) * 1000)
        run.table.set(READING, variant, median(times), f"median of {len(times)}; a new process each (Python start-up "
                      "and imports included); cache warm")


# -- 6. memory -----------------------------------------------------------------------------------
def memory(run: Run) -> None:
    n = run.sizes["memory"]
    q = run_json([sys.executable, str(WORKLOADS / "memory.py"), str(n), "queued", str(run.work / "mem-queued")],
                 cwd=run.work, stderr=run.log_file, timeout=3600)
    d = run_json([sys.executable, str(WORKLOADS / "memory.py"), str(n), "default", str(run.work / "mem-default")],
                 cwd=run.work, stderr=run.log_file, timeout=3600)
    run.raw[MEMORY] = {"queued": q, "default": d}
    run.table.set(MEMORY, "writer with N invocations queued: peak RSS", q["peak_mb"],
                  f"N = {n:,} held in the writer thread's queue (the writer process's fallback), then flushed in "
                  f"{q['flush_s']} s; process RSS before: {q['base_mb']} MB")
    run.table.set(MEMORY, "memory per queued invocation", q["bytes_per_queued"],
                  "RSS growth ÷ N: a plain record waits as its JSON line (serialised on the caller's thread)")
    run.table.set(MEMORY, "default settings, N recorded at full speed: peak RSS", d["peak_mb"],
                  f"N = {n:,}; the writer process's peak RSS: {d.get('writer_process_peak_mb')} MB; deepest "
                  f"writer-thread queue seen {d['max_queue_seen']:,} (max_queue 100,000 bounds it)")


# -- main ----------------------------------------------------------------------------------------
def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes: the whole run in under 2 minutes")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, for the test suite (seconds)")
    ap.add_argument("--no-peer", action="store_true", help="do not use or create the peer's virtualenv")
    ap.add_argument("--peer-python", help="an interpreter that has ell-ai 0.0.17 (instead of bench/.venv-peer)")
    ap.add_argument("--out", type=Path, default=BENCH / "results", help="where latest.json and latest.md go")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(WORKLOADS_ALL)}")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (repositories, stores, logs)")
    args = ap.parse_args(argv)
    profile = "smoke" if args.smoke else "quick" if args.quick else "full"
    only = set(args.only.split(",")) if args.only else set(WORKLOADS_ALL)
    unknown = only - set(WORKLOADS_ALL)
    if unknown:
        ap.error(f"unknown workload(s): {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="ell-bench-run-"))  # outside any git work tree: stores make repos here
    log_file = open(work / "log.txt", "w")
    run = Run(args, SIZES[profile], work, log_file)
    os.environ.setdefault("GIT_AUTHOR_NAME", "ell bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@localhost")
    os.environ.setdefault("GIT_COMMITTER_NAME", "ell bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@localhost")
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    if args.no_peer:
        run.peer_reason = "--no-peer"
    else:
        t = time.perf_counter()
        run.peer, run.peer_reason = peer_env(args.peer_python, run.log)
        run.log(f"peer: {run.peer or run.peer_reason} ({time.perf_counter() - t:.1f} s)")
    info = machine(run.peer)
    run.clock = Clock()  # the run's own time excludes making the peer's virtualenv

    steps: list[tuple[str, str, Callable[[Run], None]]] = [
        ("percall", PERCALL["mock"], lambda r: percall(r, "mock", None)),
        ("percall", STORAGE, storage),
        ("percall", PERCALL["http"], percall_http),
        ("throughput", THROUGHPUT, throughput),
        ("concurrency", CONCURRENCY, concurrency),
        ("versioning", VERSIONING, versioning),
        ("reading", READING, reading),
        ("memory", MEMORY, memory),
    ]
    timings: dict[str, float] = {}
    for key, name, fn in steps:
        if key not in only:
            run.table.missing.setdefault(name, "not run (--only)")
            if key == "percall":
                run.table.missing.setdefault(THROUGHPUT, "not run (--only)")
            continue
        t = time.perf_counter()
        run.log(f"{name}: start")
        try:
            fn(run)
        except Exception as exc:
            run.table.missing[name] = f"error: {type(exc).__name__}: {exc}"
            run.log(f"{name}: FAILED: {exc}")
            traceback.print_exc(file=log_file)
        timings[name] = round(time.perf_counter() - t, 1)
        run.log(f"{name}: done in {timings[name]} s")

    elapsed = run.clock()
    info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = run.table.rows(run.peer_reason if not run.peer else None)
    header = (f"# ell-git vs ell-ai 0.0.17: `python bench/run.py{' --' + profile if profile != 'full' else ''}` "
              f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {elapsed:.0f} s)")
    md = markdown(rows, info, header)
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(md)
    doc = {"profile": profile, "sizes": run.sizes, "machine": info, "elapsed_s": round(elapsed, 1),
           "timings_s": timings, "rows": rows, "details": run.raw, "peer_reason": run.peer_reason or None}
    (args.out / "latest.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")
    log_file.close()
    if args.keep:
        print(f"scratch directory kept: {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
