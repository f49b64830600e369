"""Server time of `ell web`'s pages on a big repository (Flask test client, no network).

    python bench/web_bench.py --repo PATH            # an existing repository
    python bench/web_bench.py --versions 1000 --invocations 1000000 --out /tmp/ell-web-bench

Without --repo, the repository is made by `bench/gen_repo.py` (git fast-import of exactly what the
store writes). By default all versions belong to one LMP: its page, with 1,000 versions of
history, is the worst case. Reports p50/p95 server time per page and the rows it shows; the goal
is the LMP page at ≤ 50 ms p50.

    python bench/web_bench.py --repo BIG --compare DEMO   # and each page's time ÷ the same page on DEMO

Issue 17's second goal is O(page), not O(repository): each page within 4× of the same page on the
demo repository (`ell demo --no-serve DIR`). Searches use terms that find rows in each repository
(`--name-search`/`--word-search`, `--compare-name-search`/`--compare-word-search`; the defaults
suit `gen_repo.py` and `ell demo`), so that both sides render a page of results, not one side an
empty page.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus
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


def prepare(repo: Path, lmp_name: str | None, name_q: str, word_q: str) -> dict[str, Any]:
    """A test client on `repo` with its read cache ready, the pages to time, and facts about it."""
    from webui import create_app

    app = create_app(str(repo))
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
    name = lmp_name or max(lmps, key=lambda l: (l["versions"], l["invocation_count"]))["name"]
    lmp = next(l for l in lmps if l["name"] == name)
    inv = client.get(f"/invocations.json?lmp={name}").get_json()["invocations"]["items"][0]["id"]
    pages: dict[str, str] = {
        "home": "/",
        "home, page 50": "/?page=50",
        "home, name search": f"/?q={quote_plus(name_q)}",
        "lmp page": f"/lmp/{name}",
        "lmp page .json": f"/lmp/{name}.json",
        "lmp page, v1 + filter": f"/lmp/{name}?v=v1&q=paris&min_latency=100",
        "lmp invocations partial": f"/lmp/{name}?page=2",
        "invocation list": "/invocations",
        "invocation list, search": "/invocations?q=tokyo",
        "invocation list, word search": f"/invocations?q={quote_plus(word_q)}",
        "invocation list, page 1000": "/invocations?page=1000",
        "invocation": f"/invocation/{inv}",
        "diff v1→latest": f"/lmp/{name}/diff?a=v1&b=v{lmp['vn']}",
        "live poll (unchanged)": f"/_live?token={home['state']}",
    }
    meta = {"repo": str(repo), "lmp": name, "versions": lmp["versions"],
            "invocations": sum(l["invocation_count"] for l in lmps), "lmps": len(lmps),
            "first_answer_ms": round(first_answer, 1), "first_request_ms": round(cold, 1)}
    return {"client": client, "reader": reader, "pages": pages, "meta": meta,
            "rows": {label: _rows(client, url, label) for label, url in pages.items()}}


def time_pages(sites: list[dict[str, Any]], runs: int) -> list[dict[str, dict[str, float]]]:
    """p50/p95/min per page for each site. Sites take turns request by request, so that a
    compared pair of figures saw the same machine (a shared 2-core box drifts by 30 % in minutes)."""
    partial = {"HX-Request": "true", "HX-Target": "invocations"}
    times: list[dict[str, list[float]]] = [{} for _ in sites]
    for label in sites[0]["pages"]:
        status = 204 if label.startswith("live poll") else 200
        headers = partial if label == "lmp invocations partial" else None
        for site in sites:
            site["client"].get(site["pages"][label], headers=headers)  # warm: highlighting and template caches
        for _ in range(runs):
            for site, got in zip(sites, times):
                t = time.perf_counter()
                resp = site["client"].get(site["pages"][label], headers=headers)
                got.setdefault(label, []).append((time.perf_counter() - t) * 1000)
                assert resp.status_code == status, (site["pages"][label], resp.status_code, resp.data[:300])
    for _ in range(runs):  # refresh with nothing changed (every request pays it): a fingerprint of the ref directories
        for site, got in zip(sites, times):
            t = time.perf_counter()
            site["reader"].refresh()
            got.setdefault("refresh (nothing changed)", []).append((time.perf_counter() - t) * 1000)
    return [{label: _summary(ms) for label, ms in got.items()} for got in times]


def _summary(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {"p50": statistics.median(ms), "p95": ms[min(len(ms) - 1, int(0.95 * len(ms)))], "min": ms[0]}


def _n(rows: int | None) -> str:
    return "–" if rows is None else str(rows)


def _rows(client: Any, url: str, label: str) -> int | None:
    """How many rows the page shows (from its JSON twin)."""
    if label.startswith(("live poll", "diff", "invocation")) and not label.startswith("invocation list"):
        return None
    path, _, query = url.partition("?")
    twin = "/.json" if path == "/" else path if path.endswith(".json") else path + ".json"
    got = client.get(f"{twin}?{query}" if query else twin).get_json() or {}
    if "lmps" in got and path == "/":
        return len(got["lmps"])
    return len((got.get("invocations") or {}).get("items") or [])


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
    ap.add_argument("--name-search", default="lmp_42", help="home's LMP-name search term")
    ap.add_argument("--word-search", default="topic 42", help="the invocation list's text search")
    ap.add_argument("--compare", type=Path, help="a second repository (the demo's): time ratios per page")
    ap.add_argument("--compare-name-search", default="prompts")
    ap.add_argument("--compare-word-search", default="example city")
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

    sites = [prepare(repo, args.lmp, args.name_search, args.word_search)]
    if args.compare:
        sites.append(prepare(args.compare, None, args.compare_name_search, args.compare_word_search))
    timings = time_pages(sites, args.runs)
    meta, results, rows = sites[0]["meta"], timings[0], sites[0]["rows"]
    other = (sites[1]["meta"], timings[1], sites[1]["rows"]) if args.compare else None
    ok = results["lmp page"]["p50"] <= GOAL_LMP_P50_MS
    if args.json:
        out: dict[str, Any] = {"meta": meta, "results": results, "rows": rows, "goal_met": ok}
        if other:
            out["compare"] = {"meta": other[0], "results": other[1], "rows": other[2]}
        print(json.dumps(out, indent=2))
        return 0
    for m in (meta, other[0]) if other else (meta,):
        print(f"repository {m['repo']}: {m['lmps']:,} LMPs, {m['versions']:,} versions of {m['lmp']}, "
              f"{m['invocations']:,} invocations; first answer (page or indexing progress): "
              f"{m['first_answer_ms']:.0f} ms, read cache ready after {m['first_request_ms']:.0f} ms")
    head = f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5}"
    print(head + (f" {'compare p50':>12} {'rows':>5} {'ratio':>6}" if other else ""))
    for label, r in results.items():
        line = f"{label:32} {r['p50']:8.1f} {r['p95']:8.1f} {_n(rows.get(label)):>5}"
        if other and label in other[1]:
            o = other[1][label]
            line += f" {o['p50']:12.1f} {_n(other[2].get(label)):>5} {r['p50'] / max(o['p50'], 0.01):5.1f}×"
        print(line)
    print(f"goal: LMP page p50 ≤ {GOAL_LMP_P50_MS:.0f} ms: {'met' if ok else 'MISSED'}")
    if other:
        worst = max((r["p50"] / max(other[1][k]["p50"], 0.01), k) for k, r in results.items() if k in other[1])
        print(f"goal: every page within 4× of the compared repository's: {'met' if worst[0] <= 4 else 'MISSED'} "
              f"(largest: {worst[1]}, {worst[0]:.1f}×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
