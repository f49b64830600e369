"""Evaluations in git: definitions and runs on ``refs/ell/eval/<escaped name>``, scores as notes.

One commit per event, each self-contained (a sync merge keeps only the newest tip's tree, so readers
walk the history, as they do for versions):

    definition commit (once per evaluation id, i.e. per content hash of dataset + labeler versions)
        evaluation.json        id, name, dataset id and size, labelers pinned at their versions
        dataset.jsonl          one canonical datapoint per line (absent with n_evals)
        labelers/<name>.py     each labeler's source, for reading and diffing
    run commit (child of the definition or of the previous run)
        the definition's files, plus
        run.json               evaluated LMP and version, params, times, summaries, writer
        results.jsonl          one line per datapoint (and sample): invocation ids, output, labels

Trailers: ``Ell-Eval``, ``Ell-Eval-Id``, ``Ell-Run``, ``Ell-Evaluated: <lmp> <version id>``. (Never
``Ell-Lmp``: `ell sync` names merges from it.) The run's summary scores are also appended, as one JSON
line, to the note in ``refs/notes/ell/evals`` on the evaluated version's commit (see `notes`).
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import orjson
import pygit2

from ell.records import EvaluationRecord, EvaluationRunRecord

from . import layout, notes, refs
from .repo import signature
from .versions import parse_trailers

EVAL_PREFIX = "refs/ell/eval/"
EVALUATION, DATASET, RUN, RESULTS, LABELERS = "evaluation.json", "dataset.jsonl", "run.json", "results.jsonl", "labelers"
T_EVAL, T_EVAL_ID, T_RUN, T_EVALUATED, T_FORMAT = "Ell-Eval", "Ell-Eval-Id", "Ell-Run", "Ell-Evaluated", "Ell-Format"


def eval_ref(name: str) -> str:
    return EVAL_PREFIX + refs.escape(name)


# -- what is written --------------------------------------------------------------------------------


def definition_json(ev: EvaluationRecord) -> dict[str, Any]:
    return {"id": ev.id, "name": ev.name, "dataset_id": ev.dataset_id, "n_evals": ev.n_evals,
            "datapoints": len(ev.dataset) if ev.dataset is not None else ev.n_evals,
            "samples_per_datapoint": ev.samples_per_datapoint, "default_api_params": ev.default_api_params,
            "labelers": [{"name": l.name, "kind": l.kind, "version_id": l.version_id, "function": l.function}
                         for l in ev.labelers], "format": ev.format}


def definition_files(repo: pygit2.Repository, ev: EvaluationRecord) -> dict[str, pygit2.Oid]:
    files = {EVALUATION: repo.create_blob(layout.canonical(definition_json(ev)) + b"\n")}
    if ev.dataset is not None:
        files[DATASET] = repo.create_blob(b"".join(layout.canonical(d) + b"\n" for d in ev.dataset))
    for l in ev.labelers:
        files[f"{LABELERS}/{refs.escape(l.name)}.py"] = repo.create_blob(l.source.encode("utf-8", "replace"))
    return files


def run_json(run: EvaluationRunRecord, writer: str, author: str) -> dict[str, Any]:
    return {"id": run.id, "eval_id": run.evaluation.id, "name": run.evaluation.name, "lmp": run.lmp_name,
            "version": run.version_id, "api_params": run.api_params, "lmp_params": run.lmp_params,
            "started_at": run.started_at, "ended_at": run.ended_at, "count": len(run.results),
            "summaries": run.summaries, "success": run.success, "error": run.error, "by": writer,
            "author": author, "format": run.format}


def result_json(r: Any) -> dict[str, Any]:
    return {"index": r.index, "sample": r.sample, "key": r.key, "invocation_id": r.invocation_id, "output": r.output,
            "labels": r.labels, "label_invocation_ids": r.label_invocation_ids, "errors": r.errors,
            "latency_ms": r.latency_ms}


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def describe_definition(ev: EvaluationRecord, previous: Optional[dict[str, Any]]) -> str:
    size = f"{len(ev.dataset)} datapoints" if ev.dataset is not None else f"n_evals={ev.n_evals}"
    labels = ", ".join(l.name for l in ev.labelers)
    if previous is None:
        subject = f"Add evaluation {ev.name}: {size}; labelers {labels}"
    else:
        changes = []
        if previous.get("dataset_id") != ev.dataset_id:
            changes.append(f"dataset {previous.get('datapoints')} → {size}")
        old = {l["name"]: l["version_id"] for l in previous.get("labelers", [])}
        changes += [f"{l.name} added" for l in ev.labelers if l.name not in old]
        changes += [f"{l.name} changed" for l in ev.labelers if l.name in old and old[l.name] != l.version_id]
        changes += [f"{n} removed" for n in old if n not in {l.name for l in ev.labelers}]
        subject = f"Update evaluation {ev.name}: {'; '.join(changes) or 'labelers re-pinned'}"
    return f"{subject}\n\n{T_EVAL}: {ev.name}\n{T_EVAL_ID}: {ev.id}\n{T_FORMAT}: {ev.format}\n"


def describe_run(run: EvaluationRunRecord, writer: str) -> str:
    scores = ", ".join(f"{n} {_fmt(s.get('mean'))}" for n, s in run.summaries.items())
    subject = f"Run {run.evaluation.name} on {run.lmp_name} ({run.version_id[:12]}): {scores}"
    return (f"{subject}\n\n{len(run.results)} results; {run.error or 'no errors'}\n\n"
            f"{T_EVAL}: {run.evaluation.name}\n{T_EVAL_ID}: {run.evaluation.id}\n{T_RUN}: {run.id}\n"
            f"{T_EVALUATED}: {run.lmp_name} {run.version_id}\nEll-Writer: {writer}\n{T_FORMAT}: {run.format}\n")


# -- writing ------------------------------------------------------------------------------------------


def history(repo: pygit2.Repository, tips: list[Any]) -> Iterator[pygit2.Commit]:
    """Every commit reachable from `tips`, newest first (each once)."""
    tips = [t for t in tips if t is not None]
    if not tips:
        return
    walker = repo.walk(tips[0], pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
    for t in tips[1:]:
        walker.push(t)
    yield from walker


def _latest_definition(repo: pygit2.Repository, tip: Optional[pygit2.Oid],
                       eval_id: str) -> tuple[bool, Optional[dict[str, Any]]]:
    """(whether `eval_id` is defined in the history at `tip`, the newest definition there)."""
    latest = None
    for c in history(repo, [tip]):
        t = parse_trailers(c.message)
        if eval_id in t.get(T_EVAL_ID, []):
            return True, None
        if latest is None and T_EVAL_ID in t and T_RUN not in t and EVALUATION in c.tree:
            latest = orjson.loads(c.tree[EVALUATION].data)
    return False, latest


def write_run(repo: pygit2.Repository, run: EvaluationRunRecord, writer: str) -> pygit2.Oid:
    """Commit `run` (after its definition, if this evaluation id is new on the ref); returns the run commit."""
    ev = run.evaluation
    author = signature(repo).name
    base = definition_files(repo, ev)
    files = {**base, RUN: repo.create_blob(layout.canonical(run_json(run, writer, author)) + b"\n"),
             RESULTS: repo.create_blob(b"".join(layout.canonical(result_json(r)) + b"\n" for r in run.results))}

    def build(tip: Optional[pygit2.Oid]) -> pygit2.Oid:
        sig = signature(repo, committer=True)
        parent = tip
        known, previous = _latest_definition(repo, tip, ev.id)
        if not known:
            tree = layout.put(repo, None, base)
            parent = repo.create_commit(None, sig, sig, describe_definition(ev, previous), tree,
                                        [tip] if tip is not None else [])
        tree = layout.put(repo, None, files)
        return repo.create_commit(None, sig, sig, describe_run(run, writer), tree,
                                    [parent] if parent is not None else [])

    return refs.update(repo, eval_ref(ev.name), build)  # type: ignore[return-value]  # build never declines


def score_entry(run: EvaluationRunRecord, writer: str, author: str) -> dict[str, Any]:
    """The line noted on the evaluated version's commit."""
    return {"run": run.id, "eval": run.evaluation.name, "eval_id": run.evaluation.id, "lmp": run.lmp_name,
            "version": run.version_id, "scores": run.summaries, "n": len(run.results), "api_params": run.api_params,
            "t": run.ended_at, "by": writer, "author": author, "format": run.format}


def record_run(path: str, reader: notes.Lookup, run: EvaluationRunRecord, writer: str) -> None:
    """Commit `run` on its evaluation's ref and note its scores on the evaluated version (found through
    `reader`), in the repository at `path` (`GitStore.record_evaluation_run`). A handle of its own: it
    runs on the caller's thread, off the LMP call path."""
    repo = pygit2.Repository(path)
    write_run(repo, run, writer)
    try:
        commit = reader.version(run.lmp_name, run.version_id).commit
    except KeyError:
        raise LookupError(f"run {run.id} is committed on {eval_ref(run.evaluation.name)}, but version "
                          f"{run.version_id} of {run.lmp_name} is not in the repository, so its scores "
                          f"were not noted (was the LMP exempt from tracking?)") from None
    notes.append(repo, notes.EVALS_REF, [(commit, score_entry(run, writer, signature(repo).name))],
                 f"Scores of {run.lmp_name} in {run.evaluation.name} ({run.id})\n\nEll-Notes: evals\n")
