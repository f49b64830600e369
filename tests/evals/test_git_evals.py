"""Evaluations in git: the eval ref's commits, scores as notes beside versions (`git log --notes`),
version ids untouched, and the reader's views (versions × metrics, one run, two runs compared)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pygit2
import pytest

import ell
from ell_git import Reader
from ell_git.evals import eval_ref
from evaltools import DATASET, DOCS, evaluation, git, load_version, note_lines


def lmp_tips(repo: Path) -> dict[str, str]:
    return dict(line.split(" ", 1)[::-1] for line in
                git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/ell/lmp/").splitlines())


def test_run_is_committed_on_the_eval_ref(git_store: Any, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    mod = load_version(tmp_path / "src", DOCS[1])
    ev = evaluation(mod=mod)
    run = ev.run(mod.capital)
    ref = eval_ref("capitals")
    log = git(repo, "log", "--format=%s%n%(trailers:key=Ell-Run,valueonly)", ref).split("\n\n")
    assert log[0].startswith("Run capitals on evalfix_prompts.capital") and run.id in log[0]
    assert "correct 0.8" in log[0]
    assert log[1].startswith("Add evaluation capitals: 5 datapoints; labelers correct, criterion")
    files = set(git(repo, "ls-tree", "-r", "--name-only", ref).split())
    assert files == {"evaluation.json", "dataset.jsonl", "run.json", "results.jsonl",
                     "labelers/correct.py", "labelers/criterion.py"}
    assert [json.loads(l) for l in git(repo, "show", f"{ref}:dataset.jsonl").splitlines()] == DATASET
    definition = json.loads(git(repo, "show", f"{ref}:evaluation.json"))
    assert definition["id"] == ev.id and definition["datapoints"] == 5
    results = [json.loads(l) for l in git(repo, "show", f"{ref}:results.jsonl").splitlines()]
    assert [r["labels"]["correct"] for r in results] == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert [r["invocation_id"] for r in results] == run.invocation_ids.outputs
    assert "return float(datapoint" in git(repo, "show", f"{ref}:labelers/correct.py")

    # A second run adds one commit; a changed dataset adds a new definition first.
    ev.run(mod.capital)
    assert git(repo, "rev-list", "--count", ref).strip() == "3"
    bigger = ell.Evaluation("capitals", dataset=DATASET + [{"input": ["Peru"], "expected": "Lima"}],
                            metrics={"correct": mod.correct}, criterion=ev.criterion)
    bigger.run(mod.capital)
    subjects = git(repo, "log", "--format=%s", ref).splitlines()
    assert len(subjects) == 5 and subjects[1] == "Update evaluation capitals: dataset 5 → 6 datapoints"


def test_scores_are_notes_beside_versions(git_store: Any, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    mod = load_version(tmp_path / "src", DOCS[0])
    mod.capital("France")
    git_store.flush()
    before = lmp_tips(repo)
    run = evaluation(mod=mod).run(mod.capital)
    git_store.flush()
    assert lmp_tips(repo) == before  # adding scores never makes a commit on a version ref
    version_commit = before["refs/ell/lmp/evalfix_prompts.capital"]
    (line,) = note_lines(repo, "ell/evals", version_commit)
    assert line["run"] == run.id and line["version"] == run.version_id and line["eval"] == "capitals"
    assert line["scores"]["correct"]["mean"] == pytest.approx(0.6)  # v1 misses Tokyo and Atlantis
    assert line["by"] == git_store.writer_id and line["n"] == 5
    shown = git(repo, "log", "--notes=ell/evals", "--glob=refs/ell/lmp/*", "--format=%H %(trailers:key=Ell-Version,"
                "valueonly,separator=)%n%N")
    assert f"{version_commit} {run.version_id}\n" in shown and f'"run":"{run.id}"' in shown
    assert '"correct":{"count":5,"errors":0,"max":1.0,"mean":0.6' in shown


def test_versions_by_metrics_table(git_store: Any, tmp_path: Path) -> None:
    runs = {}
    for n, doc in enumerate(DOCS, 1):
        mod = load_version(tmp_path / "src", doc)
        runs[n] = evaluation(mod=mod).run(mod.capital, n_workers=2)
    runs[3] = evaluation(mod=mod).run(mod.capital, api_params={"temperature": 0.9})
    reader = Reader(tmp_path / "repo")
    detail = reader.evals.evaluation("capitals")
    assert detail.labelers == ("correct", "criterion")
    rows = [(r.vn, r.api_params, r.means["correct"], r.best) for r in detail.table]
    assert rows[-1] == (1, {}, pytest.approx(0.6), ("criterion",))
    assert {(vn, json.dumps(p)) for vn, p, _, _ in rows[:2]} == {(2, "{}"), (2, '{"temperature": 0.9}')}
    assert all(mean == pytest.approx(0.8) and "correct" in best for _, _, mean, best in rows[:2])
    assert [r.id for r in detail.runs] == [runs[3].id, runs[2].id, runs[1].id]
    (summary,) = reader.evals.evaluations()
    assert summary.runs == 3 and summary.best["vn"] == 2 and summary.best["mean"] == pytest.approx(0.8)

    one = reader.evals.eval_run(runs[1].id)
    assert one.run.vn == 1 and [r["output"] for r in one.results] == ["Paris", "Rome", "Madrid", "Kyoto", "Unknown"]
    assert one.results[4]["input"] == {"country": "Atlantis"} and one.results[0]["datapoint"] == DATASET[0]
    both = reader.evals.compare_runs(runs[1].id, runs[2].id)
    assert both.wins["correct"] == {"a": 0, "b": 1, "tie": 4}
    japan = next(r for r in both.rows if r["index"] == 3)
    assert (japan["a"]["output"], japan["b"]["output"], japan["delta"]["correct"]) == ("Kyoto", "Tokyo", 1.0)
    with pytest.raises(KeyError):
        reader.evals.evaluation("nope")


def test_concurrent_runs_are_all_kept(git_store: Any, tmp_path: Path) -> None:
    mod = load_version(tmp_path / "src", DOCS[1])
    ids: list[str] = []

    def one() -> None:
        ids.append(evaluation(mod=mod).run(mod.capital).id)

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader = Reader(tmp_path / "repo")
    assert {r.id for r in reader.evals.evaluation("capitals").runs} == set(ids)
    commit = reader.version("evalfix_prompts.capital").commit
    assert {l["run"] for l in note_lines(tmp_path / "repo", "ell/evals", commit)} == set(ids)
    # One definition commit however many runs raced for it.
    subjects = git(tmp_path / "repo", "log", "--format=%s", eval_ref("capitals")).splitlines()
    assert sum(s.startswith("Add evaluation") for s in subjects) == 1


def test_recording_failure_keeps_the_results(git_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(run: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(git_store, "record_evaluation_run", broken)
    mod = load_version(tmp_path / "src", DOCS[1])
    with pytest.warns(RuntimeWarning, match=r"could not record evaluation run run-\w+ \(disk full\)"):
        run = evaluation(mod=mod).run(mod.capital)
    assert run.results.metrics["correct"].mean() == pytest.approx(0.8)


def test_notes_written_by_git_itself_are_read(git_store: Any, tmp_path: Path) -> None:
    """A hand-written free-text note, and git's own fan-out, do not break reading or appending."""
    repo = tmp_path / "repo"
    mod = load_version(tmp_path / "src", DOCS[1])
    evaluation(mod=mod).run(mod.capital)
    commit = Reader(repo).version("evalfix_prompts.capital").commit
    git(repo, "notes", "--ref=ell/evals", "append", "-m", "looks good to me", commit)
    evaluation(mod=mod).run(mod.capital)
    text = git(repo, "notes", "--ref=ell/evals", "show", commit).splitlines()
    assert len(text) == 4 and "looks good to me" in text  # git separates appended notes with a blank line
    assert len(Reader(repo).notes.score_notes("evalfix_prompts.capital")) == 2
    assert pygit2.Repository(str(repo)).references.get("refs/notes/ell") is None
