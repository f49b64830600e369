"""ell-ai 0.0.17's evaluation examples (copies in tests/evals/programs/, adapted only where their
header says) run unchanged against ell.testing, with scripted answers so their printed scores are
known, and leave their runs in git: eval refs, and score notes beside the evaluated versions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ell_git import Reader
from evaltools import git

PROGRAMS = Path(__file__).parent / "programs"
CAPITALS = {"france": "Paris", "italy": "Rome", "spain": "Madrid", "germany": "Berlin", "japan": "Tokyo",
            "china": "Beijing", "india": "New Delhi", "brazil": "Rio de Janeiro", "argentina": "Buenos Aires"}
POEM = "the cat sat on the mat"
SUMMARY = "A short summary."
_ARITH = re.compile(r"What is (\d+) ([-+*/]) (\d+)\?")


def answer(request: dict[str, Any]) -> str:
    """Every example's model at once, told apart by the prompt."""
    text = request["messages"][-1]["content"]
    if isinstance(text, list):
        text = " ".join(p.get("text", "") for p in text)
    if text.startswith("Answer the following question."):  # classification.py: brazil is wrong
        return next((city for c, city in CAPITALS.items() if c in text.lower()), "Banana")
    if text.startswith("Write a really"):  # poems.py
        return POEM
    if text.startswith("Is this a good poem"):
        return "Flat and dull. no"
    if text.startswith("Write a tweet like roon"):  # vibes.py
        return f"roon: {text.rsplit(' ', 1)[-1].lower()} is underrated"
    if text.startswith("Summarize the following text."):  # summaries.py, eval.py
        return SUMMARY
    if text.startswith("Text to summarize:"):
        return "Analysis:\nconcise and accurate\nScore:\n80"
    m = _ARITH.fullmatch(text.strip())  # psolve.py
    if m:
        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
        value = {"+": a + b, "-": a - b, "*": a * b, "/": round(a / b, 2) if b else 0}[op]
        return f"Let's think step by step: {a} {op} {b}.\n\nAnswer:\n{value}"
    return "Echo: " + text


def run_program(name: str, tmp_path: Path, server: Any) -> str:
    server.script(answer)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(server.env())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                      env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, str(PROGRAMS / name)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def runs_in(repo: Path) -> dict[str, list[Any]]:
    reader = Reader(repo)
    return {e.name: list(reader.evals.evaluation(e.name).runs) for e in reader.evals.evaluations()}


def check_notes(repo: Path, runs: list[Any]) -> None:
    """Each run's scores are a note on its evaluated version's commit, shown by `git log --notes`."""
    shown = git(repo, "log", "--notes=ell/evals", "--glob=refs/ell/lmp/*", "--format=%N")
    noted = {json.loads(line)["run"] for line in shown.splitlines() if line.startswith("{")}
    assert {r.id for r in runs} <= noted


def test_classification(tmp_path: Path, model_server: Any) -> None:
    out = run_program("classification.py", tmp_path, model_server)
    assert out.strip().splitlines()[-1] == "0.9"  # brazil answered Rio de Janeiro
    (run,) = runs_in(tmp_path / "logdir")["capital_prediction"]
    assert run.summaries["score"]["mean"] == pytest.approx(0.9) and run.count == 10
    check_notes(tmp_path / "logdir", [run])


def test_poems(tmp_path: Path, model_server: Any) -> None:
    out = run_program("poems.py", tmp_path, model_server)
    assert "Average length: 22.00" in out and "Average word length: 2.83" in out
    assert "Average critic score: 0.00" in out
    repo = tmp_path / "logdir"
    (run,) = runs_in(repo)["poem_eval"]
    assert run.count == 10 and run.summaries["critic_score"]["mean"] == 0.0
    # The critic LMP inside the metric is versioned like any LMP.
    assert {l.name for l in Reader(repo).lmps()} >= {"poems.is_good_poem", "poems.write_a_bad_poem"}
    check_notes(repo, [run])


def test_summaries(tmp_path: Path, model_server: Any) -> None:
    out = run_program("summaries.py", tmp_path, model_server)
    assert out.count("Mean critic score: 80.0") == 4 and out.count(f"Mean length of completions: {len(SUMMARY)}.0") == 4
    runs = runs_in(tmp_path / "logdir")
    assert {k: len(v) for k, v in runs.items()} == {"test": 2, "test_list": 1, "test_dict": 1}
    assert {json.dumps(r.api_params) for r in runs["test"]} == {"{}", '{"model": "gpt-4o-mini"}'}
    assert Reader(tmp_path / "logdir").evals.evaluation("test_list").labelers == ("score_criterion", "length_criterion")
    check_notes(tmp_path / "logdir", [r for rs in runs.values() for r in rs])


def test_vibes(tmp_path: Path, model_server: Any) -> None:
    out = run_program("vibes.py", tmp_path, model_server)
    assert "input='Polymath'" in out  # the LMP prints its pydantic argument
    (run,) = runs_in(tmp_path / "logdir")["vibes"]
    assert run.summaries["criterion"]["mean"] == 1.0 and run.count == 3
    result = Reader(tmp_path / "logdir").evals.eval_run(run.id).results[0]
    assert result["input"] == [{"input": "Polymath"}] and result["output"] == "roon: polymath is underrated"


def test_psolve(tmp_path: Path, model_server: Any) -> None:
    out = run_program("psolve.py", tmp_path, model_server)
    assert out.strip().endswith("Answer:\n4")
    (run,) = runs_in(tmp_path / "logdir")["Arithmetic"]
    assert run.count == 100 and run.summaries["criterion"]["mean"] == 1.0
    assert run.summaries["answer_is_close_l2"]["mean"] == 0.0
    check_notes(tmp_path / "logdir", [run])


def test_eval_py_with_the_api_before_0_0_17(tmp_path: Path, model_server: Any) -> None:
    out = run_program("eval.py", tmp_path, model_server)
    assert out.count("Mean critic score: 80.0") == 2 and out.count(f"Mean length of completions: {len(SUMMARY)}.0") == 2
    (runs,) = runs_in(tmp_path / "logdir").values()
    assert len(runs) == 2 and set(runs[0].summaries) == {"score", "criterion_1"}
