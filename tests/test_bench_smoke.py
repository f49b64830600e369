"""`bench/run.py` end to end at tiny sizes, without the peer: it completes and fills every row."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _catalogue() -> list:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.catalogue()


def test_bench_smoke_produces_every_row(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--no-peer", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads((tmp_path / "latest.json").read_text())
    md = (tmp_path / "latest.md").read_text()
    rows = {(row["workload"], row["variant"]): row for row in doc["rows"]}
    specs = _catalogue()
    assert set(rows) == {(s.workload, s.variant) for s in specs}
    for s in specs:
        row = rows[(s.workload, s.variant)]
        assert set(row) == {"workload", "variant", "value", "unit", "goal", "met", "note"}
        assert s.variant in md
        if s.peer:
            assert row["value"] is None and "peer unavailable" in row["note"], row
        else:
            assert row["value"] is not None, row
            assert row["met"] in (True, False, None)
            assert (row["met"] is None) == (s.goal is None), row
    for key in ("CPU", "cores", "RAM", "Python", "pygit2 / libgit2", "openai"):
        assert key in doc["machine"]
        assert key in md
