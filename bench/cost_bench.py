"""Pricing's share of `ell web` page times (issue 18): one repository, the same code, interleaved runs.

    python bench/cost_bench.py . /tmp/bench5k 12       # SRC (this checkout), REPO, rounds

on = as shipped; off = the cost column, the rates refresh and the cost sums patched out. Prints JSON:
p50 and minimum server time (Flask test client) of each page, on and off.
"""
import json, statistics, sys, time
src, repo, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, src)
from ell_git import costs, reader
from webui import create_app

app = create_app(repo)
c = app.test_client()
home = c.get("/.json").get_json()
name = max(home["lmps"], key=lambda l: (l["versions"], l["invocation_count"]))["name"]
inv = c.get(f"/invocations.json?lmp={name}").get_json()["invocations"]["items"][0]["id"]
pages = {"home": "/", "lmp page": f"/lmp/{name}", "lmp page .json": f"/lmp/{name}.json",
         "invocation list": "/invocations", "invocation list, page 1000": "/invocations?page=1000",
         "invocation": f"/invocation/{inv}"}
ON = dict(row=reader._ROW, refresh=costs.refresh_rates, total=costs.total, by_lmp=costs.by_lmp, by_version=costs.by_version)
OFF = dict(row=reader._ROW.replace(costs.COST, "NULL"), refresh=lambda *a, **k: False, total=lambda *a, **k: None,
           by_lmp=lambda *a, **k: {}, by_version=lambda *a, **k: {})

def switch(on):
    d = ON if on else OFF
    reader._ROW = d["row"]
    for k in ("refresh", "total", "by_lmp", "by_version"):
        setattr(costs, k if k != "refresh" else "refresh_rates", d[k])

res = {k: {"on": [], "off": []} for k in pages}
for i in range(runs):
    for on in ((True, False) if i % 2 == 0 else (False, True)):
        switch(on)
        for k, url in pages.items():
            t = time.perf_counter(); r = c.get(url); dt = (time.perf_counter() - t) * 1000
            assert r.status_code == 200, (url, r.status_code)
            res[k]["on" if on else "off"].append(dt)
out = {}
for k, v in res.items():
    on, off = statistics.median(v["on"]), statistics.median(v["off"])
    out[k] = {"on_p50": round(on, 1), "off_p50": round(off, 1), "added_pct": round(100 * (on / off - 1), 1),
              "on_min": round(min(v["on"]), 1), "off_min": round(min(v["off"]), 1)}
print(json.dumps(out))
