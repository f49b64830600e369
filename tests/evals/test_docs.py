"""The plain-git block of ell_git/README.md's evaluation section runs as written, and shows what it says."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import ell

ROOT = Path(__file__).resolve().parents[2]


def test_readme_evaluation_block_runs(eval_repo: Path, facts: dict[str, Any]) -> None:
    readme = (ROOT / "ell_git" / "README.md").read_text()
    section = readme[readme.index("## Evaluations, scores and feedback"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1).replace("app.hello", facts["lmp"])
    ell.init(store=str(eval_repo), autocommit=False)
    ell.feedback(facts["invocations_v2"][0], score=1, comment="documented")
    ell.set_store(None)
    res = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=eval_repo, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Notes (ell/evals):" in out and f'"run":"{facts["runs"]["v1"]}"' in out
    assert "Notes (ell/feedback):" in out and '"comment":"documented"' in out
    assert "Add evaluation capitals: 5 datapoints; labelers correct, criterion" in out
    assert '"labels":{"correct":1.0,"criterion":true}' in out
