"""Server time of `ell web`'s pages on a big repository (Flask test client, no network).

    python bench/web_bench.py --repo PATH            # an existing repository
    python bench/web_bench.py --versions 1000 --invocations 1000000 --out /tmp/ell-web-bench

Without --repo, the repository is made by `bench/gen_repo.py` (git fast-import of exactly what the
store writes). By default all versions belong to one LMP: its page, with 1,000 versions of
history, is the worst case. Reports p50/p95 server time per page; the goal is the LMP page at
≤ 50 ms p50.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOAL_LMP_P50_MS = 50.0


def _gen_repo_module() -> Any:
    path = ROOT / "bench" / "gen_repo.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("gen_repo", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(client: Any, url: str, runs: int, *, status: int = 200, headers: dict[str, str] | None = None,
          warm: bool = True) -> dict[str, float]:
    """p50/p95/min milliseconds of `runs` requests of `url` (after one warm-up request)."""
    if warm:
        client.get(url, headers=headers)  # highlighting and template caches
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        resp = client.get(url, headers=headers)
        times.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == status, (url, resp.status_code, resp.data[:300])
    times.sort()
    return {"p50": statistics.median(times), "p95": times[min(len(times) - 1, int(0.95 * len(times)))],
            "min": times[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", type=Path, help="an existing ell repository to measure")
    ap.add_argument("--out", type=Path, default=Path("/tmp/ell-web-bench"), help="where to generate one")
    ap.add_argument("--versions", type=int, default=1000)
    ap.add_argument("--invocations", type=int, default=1_000_000)
    ap.add_argument("--per-lmp", type=int, default=1000, help="versions per LMP in a generated repository")
    ap.add_argument("--runs", type=int, default=30, help="requests per page")
    ap.add_argument("--lmp", help="the LMP to open (default: the one with the most versions)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)

    repo = args.repo
    if repo is None:
        repo = args.out
        if not (repo / ".git").exists():
            gen = _gen_repo_module()
            if gen is None:
                ap.error("bench/gen_repo.py is missing: pass --repo PATH of an existing repository")
            print(f"generating {args.versions:,} versions ({args.per_lmp} per LMP) × {args.invocations:,} "
                  f"invocations into {repo}", file=sys.stderr)
            t = time.perf_counter()
            gen.generate(repo, args.versions, args.invocations, versions_per_lmp=args.per_lmp)
            print(f"generated in {time.perf_counter() - t:.1f} s", file=sys.stderr)

    from webui import create_app

    app = create_app(repo)
    client = app.test_client()
    t = time.perf_counter()
    resp = client.get("/.json")  # the first request starts bringing the read cache up to date
    first_answer = (time.perf_counter() - t) * 1000  # the page, or a progress page (webui/warmup.py)
    while resp.status_code == 503:  # indexing in the background: poll as the progress page does
        time.sleep(0.25)
        resp = client.get("/.json")
    home = resp.get_json()
    cold = (time.perf_counter() - t) * 1000
    reader = app.extensions["ell_data"].reader
    lmps = [l.to_json() for l in reader.lmps()]  # every LMP (home shows one page of them)
    name = args.lmp or max(lmps, key=lambda l: (l["versions"], l["invocation_count"]))["name"]
    lmp = next(l for l in lmps if l["name"] == name)
    inv = client.get(f"/invocations.json?lmp={name}").get_json()["invocations"]["items"][0]["id"]
    vn = lmp["vn"]
    pages: dict[str, str] = {
        "home": "/",
        "home, page 50": "/?page=50",
        "home, name search": "/?q=lmp_42",
        "lmp page": f"/lmp/{name}",
        "lmp page .json": f"/lmp/{name}.json",
        "lmp page, v1 + filter": f"/lmp/{name}?v=v1&q=paris&min_latency=100",
        "lmp invocations partial": f"/lmp/{name}?page=2",
        "invocation list": "/invocations",
        "invocation list, search": "/invocations?q=tokyo",
        "invocation list, word search": "/invocations?q=topic+42",
        "invocation list, page 1000": "/invocations?page=1000",
        "invocation": f"/invocation/{inv}",
        "diff v1→latest": f"/lmp/{name}/diff?a=v1&b=v{vn}",
        "live poll (unchanged)": f"/_live?token={home['state']}",
    }
    partial = {"HX-Request": "true", "HX-Target": "invocations"}
    results: dict[str, dict[str, float]] = {}
    for label, url in pages.items():
        if label.startswith("live poll"):
            results[label] = timed(client, url, args.runs, status=204)
        elif label == "lmp invocations partial":
            results[label] = timed(client, url, args.runs, headers=partial)
        else:
            results[label] = timed(client, url, args.runs)

    # Refresh with nothing changed (every request pays it): a fingerprint of the ref directories.
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        reader.refresh()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    results["refresh (nothing changed)"] = {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
                                            "min": times[0]}
    total = sum(l["invocation_count"] for l in lmps)
    meta = {"repo": str(repo), "lmp": name, "versions": lmp["versions"], "invocations": total,
            "lmps": len(lmps), "first_answer_ms": round(first_answer, 1), "first_request_ms": round(cold, 1)}
    ok = results["lmp page"]["p50"] <= GOAL_LMP_P50_MS
    if args.json:
        print(json.dumps({"meta": meta, "results": results, "goal_met": ok}, indent=2))
    else:
        print(f"repository {repo}: {len(lmps):,} LMPs, {lmp['versions']:,} versions of {name}, {total:,} invocations")
        print(f"first answer (page or indexing progress): {first_answer:.0f} ms; read cache ready after {cold:.0f} ms")
        print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8}")
        for label, r in results.items():
            print(f"{label:32} {r['p50']:8.1f} {r['p95']:8.1f}")
        print(f"goal: LMP page p50 ≤ {GOAL_LMP_P50_MS:.0f} ms: {'met' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
