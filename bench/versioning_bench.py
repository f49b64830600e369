"""Versioning cost: a generated module of N LMPs with helpers, closures computed cold and cached.

    python bench/versioning_bench.py [--lmps 100] [--repeat 3]

Each run writes a fresh module (new file, new module name, so nothing is cached), imports it,
then times `compute_version` over every LMP (cold: source read, ast index, libcst parse and
normalisation, hashing) and again (cached: the attribute lookup). The issue's budget is ≤ 5 ms
per LMP cold for 100 LMPs.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path


def generate(n: int, tag: str = "", chain: bool = True) -> str:
    """A realistic module: imports, constants, a mutable global, one helper and one LMP per prompt,
    helpers calling each other, LMPs calling the previous LMP (uses edges; `chain=False` leaves
    those calls out)."""
    out = [
        '"""Generated: N LMPs with helpers."""',
        "import json",
        "import ell",
        "from typing import List",
        "",
        "PREFIX = 'Answer briefly.'",
        "HISTORY: list = []",
        "",
    ]
    for i in range(n):
        sub = f"\n    if depth:\n        extra += prompt_{i - 1}(topic, depth=0)" if i and chain else ""
        out.append(
            f'''
def helper_{i}(text: str, width: int = {i}) -> str:
    """Format text for prompt {i}."""
    # trim and pad each part
    parts = [p.strip() for p in text.split(",") if p]
    return json.dumps({{"k": parts, "w": width}}) + PREFIX


@ell.simple(model="gpt-4o-mini", temperature=0.{i % 10})
def prompt_{i}(topic: str, items: List[str] = (), depth: int = 1):
    """You are assistant number {i}{tag}.
    Be concise and helpful."""
    HISTORY.append(topic)
    extra = helper_{i}(topic)
    if items:
        extra += helper_{(i + 1) % n}(", ".join(items)){sub}
    return f"Write about {{topic}} with {{extra!r}} (#{i})"
'''
        )
    return "\n".join(out)


def run_once(n: int, workdir: Path, tag: str) -> tuple[float, float, int]:
    from ell.versioning import compute_version

    name = f"bench_lmps_{tag}"
    # The tag makes every run's text new: definitions are cached by text, so reusing the text would
    # measure the cache, not a cold start.
    (workdir / f"{name}.py").write_text(generate(n, tag))
    sys.path.insert(0, str(workdir))
    try:
        module = importlib.import_module(name)
    finally:
        sys.path.remove(str(workdir))
    lmps = [getattr(module, f"prompt_{i}") for i in range(n)]
    t0 = time.perf_counter()
    for lmp in lmps:
        compute_version(lmp)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    for lmp in lmps:
        compute_version(lmp)
    cached = time.perf_counter() - t0
    lines = len(generate(n, tag).splitlines())
    return cold, cached, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lmps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import ell  # noqa: F401  (imported before timing: framework import is not versioning cost)

    t0 = time.perf_counter()
    from ell.versioning import snapshot_globals  # the first use imports libcst
    print(f"importing ell.versioning (libcst included): {(time.perf_counter() - t0) * 1000:.1f} ms, once per process")

    colds, cacheds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            cold, cached, lines = run_once(args.lmps, Path(tmp), f"{r}_{time.time_ns()}")
            colds.append(cold)
            cacheds.append(cached)
            print(f"run {r}: {args.lmps} LMPs ({lines} lines): cold {cold * 1000:.1f} ms total, "
                  f"{cold * 1000 / args.lmps:.2f} ms/LMP; cached {cached * 1e6 / args.lmps:.2f} µs/LMP")
        module = sys.modules[[m for m in sys.modules if m.startswith("bench_lmps_")][-1]]
        lmp = module.prompt_0
        t0 = time.perf_counter()
        for _ in range(10_000):
            snapshot_globals(lmp)
        snap = (time.perf_counter() - t0) / 10_000
    med = statistics.median(colds)
    print(f"median cold: {med * 1000 / args.lmps:.2f} ms/LMP (budget 5 ms); "
          f"cached: {statistics.median(cacheds) * 1e6 / args.lmps:.2f} µs/LMP; "
          f"snapshot_globals: {snap * 1e6:.2f} µs/call")


if __name__ == "__main__":
    main()
