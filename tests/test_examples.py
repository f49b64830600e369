"""Every example runs offline (examples/run_offline.py starts ell.testing) and records history."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py") if p.name != "run_offline.py")


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs_offline(example, tmp_path):
    store = tmp_path / "history"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["ELL_STORE"] = str(store)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "run_offline.py"), str(ROOT / "examples" / example)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    refs = subprocess.run(["git", "-C", str(store), "for-each-ref", "--format=%(refname)", "refs/ell/"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert any(r.startswith("refs/ell/lmp/") for r in refs) and any(r.startswith("refs/ell/inv/") for r in refs)


def test_examples_cover_the_promised_programs():
    assert {"hello_world.py", "agent_tools.py", "structured_output.py", "nested_lmps.py", "multimodal.py"} <= set(EXAMPLES)
