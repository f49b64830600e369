"""Reading evaluations: `Reader.evals`, behind `ell eval` and the web UI's evaluation pages.

It walks every ``refs/ell/eval/*`` and fetched ``refs/ell/remotes/*/eval/*`` history once per change
of their tips (tens to hundreds of commits: no SQLite needed) and reads a run's results only when asked.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import replace
from typing import Any, Callable, Optional

import orjson
import pygit2

from . import layout
from .evals import DATASET, EVAL_PREFIX, EVALUATION, RESULTS, RUN, T_EVAL_ID, T_FORMAT, T_RUN, history
from .evalviews import EvalDefinition, EvalDetail, EvalRun, EvalSummary, Labeler, RunComparison, RunResults, ScoreRow
from .refs import REMOTES_PREFIX, escape
from .refscan import RefWatch
from .versions import parse_trailers, split_message


def _is_eval_ref(name: str) -> bool:
    if name.startswith(EVAL_PREFIX):
        return True
    parts = name[len(REMOTES_PREFIX):].split("/") if name.startswith(REMOTES_PREFIX) else []
    return len(parts) == 3 and parts[1] == "eval"


def _definition(c: pygit2.Commit) -> EvalDefinition:
    d = orjson.loads(c.tree[EVALUATION].data)
    sources = c.tree["labelers"] if "labelers" in c.tree else None
    labelers = []
    for l in d.get("labelers", []):
        fname = f"{escape(l['name'])}.py"
        source = sources[fname].data.decode("utf-8", "replace") if sources is not None and fname in sources else ""
        labelers.append(Labeler(l["name"], l["kind"], l["version_id"], l.get("function", ""), source))
    return EvalDefinition(d["id"], d["name"], str(c.id), float(c.commit_time), split_message(c.message)[0],
                          d.get("dataset_id", ""), d.get("datapoints"), d.get("n_evals"),
                          int(d.get("samples_per_datapoint") or 1), d.get("default_api_params") or {}, tuple(labelers))


def _run(c: pygit2.Commit) -> EvalRun:
    d = orjson.loads(c.tree[RUN].data)
    return EvalRun(d["id"], d["name"], d["eval_id"], str(c.id), d["lmp"], d["version"], None,
                   d.get("api_params") or {}, d.get("lmp_params") or {}, float(d.get("started_at") or 0),
                   float(d.get("ended_at") or 0), int(d.get("count") or 0), d.get("summaries") or {},
                   bool(d.get("success")), d.get("error"), d.get("by") or "", d.get("author") or "")


def _number(v: Any) -> Optional[float]:
    return float(v) if isinstance(v, (int, float)) else None


class Evaluations:
    """The evaluations of one repository (a `Reader` holds one as `reader.evals`).

    `lock` is the reader's (one repository handle); `versions(name)` numbers the versions a run
    evaluated; `watch` tells when no ref moved, so nothing is listed again."""

    def __init__(self, repo: pygit2.Repository, lock: threading.RLock, versions: Callable[[str], list[Any]],
                 watch: RefWatch | None = None) -> None:
        self.repo = repo
        self._lock = lock
        self._versions = versions
        self._watch = watch
        self._cache: tuple[Any, tuple[dict[str, EvalDefinition], dict[str, EvalRun]]] | None = None
        self._fp: tuple[object, ...] | None = None
        #: Commits and refs skipped as unreadable -> why (each warned once; `Reader.problems` counts them).
        self.problems: dict[str, str] = {}

    def _eval_scan(self) -> tuple[dict[str, EvalDefinition], dict[str, EvalRun]]:
        """(definitions by evaluation id, runs by run id), re-read when an eval ref moved."""
        fp = self._watch.fingerprint() if self._watch is not None else None  # no O(refs) listing if unmoved
        cached = self._cache
        if fp is not None and cached is not None and self._fp == fp:
            return cached[1]
        tips = {r.name: str(r.resolve().target) for r in self.repo.references.iterator() if _is_eval_ref(r.name)}
        key = tuple(sorted(tips.items()))
        if cached is not None and cached[0] == key:
            self._fp = fp
            return cached[1]
        definitions: dict[str, EvalDefinition] = {}
        runs: dict[str, EvalRun] = {}
        problems = self.problems
        # Oldest first, so the first commit of a definition seen twice (two clones) is the one kept.
        for c in reversed(self._readable_history(tips, problems)):
            t = parse_trailers(c.message)
            if T_EVAL_ID not in t or len(c.parents) > 1:
                continue  # sync's merge commits, anything foreign
            layout.check_format(t.get(T_FORMAT, ["1"])[-1])
            try:
                if T_RUN in t and RUN in c.tree:
                    run = _run(c)
                    runs.setdefault(run.id, run)
                elif EVALUATION in c.tree:
                    d = _definition(c)
                    definitions.setdefault(d.id, d)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:  # not the storage format
                # One bad commit must not hide every evaluation: skip it, say so once (`Reader.problems`).
                if str(c.id) not in problems:
                    warnings.warn(f"ell: evaluation commit {str(c.id)[:12]} cannot be read ({type(exc).__name__}: "
                                  f"{exc}): skipped; run `ell doctor`", RuntimeWarning, stacklevel=2)
                problems[str(c.id)] = f"{type(exc).__name__}: {exc}"
        self._cache = (key, (definitions, runs))
        self._fp = fp
        return definitions, runs

    def _readable_history(self, tips: dict[str, str], problems: dict[str, str]) -> list[pygit2.Commit]:
        """Every commit of the eval refs, newest first; a ref whose history cannot be walked (a missing
        object, a tip that is no commit) is left out and named once."""
        try:
            return list(history(self.repo, [pygit2.Oid(hex=t) for t in tips.values()]))
        except (KeyError, ValueError, pygit2.GitError):
            pass
        good = []
        for ref, tip in tips.items():
            try:
                list(history(self.repo, [pygit2.Oid(hex=tip)]))
                good.append(pygit2.Oid(hex=tip))
            except (KeyError, ValueError, pygit2.GitError) as exc:
                if ref not in problems:
                    warnings.warn(f"ell: {ref} cannot be read ({type(exc).__name__}: {exc}): skipped; run `ell doctor`",
                                  RuntimeWarning, stacklevel=2)
                problems[ref] = "cannot be read"
        return list(history(self.repo, good))

    def _vn(self, lmp: str, cache: dict[str, dict[str, int]]) -> dict[str, int]:
        if lmp not in cache:
            cache[lmp] = {v.version_id: v.vn for v in self._versions(lmp)}
        return cache[lmp]

    def _numbered(self, runs: list[EvalRun]) -> list[EvalRun]:
        cache: dict[str, dict[str, int]] = {}
        return [replace(r, vn=self._vn(r.lmp, cache).get(r.version_id)) for r in runs]

    def evaluations(self) -> list[EvalSummary]:
        """Every evaluation, by name."""
        with self._lock:
            definitions, runs = self._eval_scan()
            names = sorted({d.name for d in definitions.values()})
            out = []
            for name in names:
                defs = sorted((d for d in definitions.values() if d.name == name), key=lambda d: d.time)
                its = [r for r in runs.values() if r.name == name]
                best = None
                if its:
                    detail = self.evaluation(name)
                    if detail.table and detail.labelers:
                        top, col = detail.table[0], detail.labelers[0]
                        best = {"lmp": top.lmp, "version_id": top.version_id, "vn": top.vn, "labeler": col,
                                "mean": top.means.get(col)}
                latest = defs[-1]
                out.append(EvalSummary(name, latest.id, len(defs), latest.datapoints,
                                       tuple(l.name for l in latest.labelers), len(its),
                                       max((r.ended_at for r in its), default=None), best))
            return out

    def evaluation(self, name: str, eval_id: Optional[str] = None) -> EvalDetail:
        """One evaluation: its definitions, its runs and the versions × labelers table for `eval_id`
        (default: the definition of the newest run, else the newest definition)."""
        from .errors import NotFound

        with self._lock:
            definitions, all_runs = self._eval_scan()
            defs = sorted((d for d in definitions.values() if d.name == name), key=lambda d: d.time)
            if not defs:
                raise NotFound(f"no evaluation named {name!r} (`ell eval list` shows them)")
            runs = self._numbered(sorted((r for r in all_runs.values() if r.name == name),
                                         key=lambda r: r.ended_at, reverse=True))
            if eval_id is None:
                eval_id = runs[0].eval_id if runs else defs[-1].id
            chosen = [d for d in defs if d.id == eval_id or d.id.startswith(eval_id)]
            if len(chosen) != 1:
                raise NotFound(f"evaluation {name!r} has no single version {eval_id!r}: "
                               + ", ".join(d.id for d in defs))
            definition = chosen[0]
            labelers = tuple(l.name for l in definition.labelers)
            table = _table([r for r in runs if r.eval_id == definition.id], labelers)
            return EvalDetail(name, definition.id, tuple(defs), tuple(runs), labelers, table)

    def version_scores(self, lmp: str) -> dict[str, dict[str, float]]:
        """version id -> {"evaluation/labeler": mean} over every run of that version of `lmp`, each
        run's mean weighted by its result count as in `evaluation`'s table. Read from the runs'
        summaries (cached with the scan), never from their results: cheap enough for every LMP page."""
        with self._lock:
            _, runs = self._eval_scan()
            sums: dict[str, dict[str, list[float]]] = {}
            for r in runs.values():
                if r.lmp != lmp:
                    continue
                for label, s in r.summaries.items():
                    mean = _number(s.get("mean")) if isinstance(s, dict) else None
                    count = s.get("count") if isinstance(s, dict) else None
                    if mean is None or not isinstance(count, int) or count <= 0:
                        continue
                    acc = sums.setdefault(r.version_id, {}).setdefault(f"{r.name}/{label}", [0.0, 0.0])
                    acc[0] += mean * count
                    acc[1] += count
            return {vid: {m: t / n for m, (t, n) in sorted(ms.items())} for vid, ms in sums.items()}

    def eval_run(self, run_id: str) -> RunResults:
        """One run with every result, each joined with its datapoint."""
        from .errors import NotFound

        with self._lock:
            definitions, runs = self._eval_scan()
            matches = [r for rid, r in runs.items() if rid == run_id or rid.startswith(run_id)] if run_id else []
            if len(matches) != 1:
                raise NotFound(f"no single evaluation run {run_id!r}")
            run = self._numbered(matches)[0]
            definition = definitions.get(run.eval_id)
            tree = self.repo[run.commit].tree
            dataset = [orjson.loads(l) for l in tree[DATASET].data.splitlines()] if DATASET in tree else None
            results = []
            for line in tree[RESULTS].data.splitlines() if RESULTS in tree else []:
                r = orjson.loads(line)
                dp = dataset[r["index"]] if dataset is not None and 0 <= r["index"] < len(dataset) else {"input": None}
                results.append({**r, "datapoint": dp, "input": dp.get("input") if isinstance(dp, dict) else None})
            return RunResults(run, definition, tuple(results))

    def compare_runs(self, a: str, b: str) -> RunComparison:
        """Two runs' results side by side, joined on datapoint and sample, with per-labeler wins."""
        ra, rb = self.eval_run(a), self.eval_run(b)
        names = tuple(n for n in ra.run.summaries if n in rb.run.summaries)
        by_b = {(r["key"], r["sample"]): r for r in rb.results}
        rows, wins = [], {n: {"a": 0, "b": 0, "tie": 0} for n in names}
        seen = set()
        for r in ra.results:
            k = (r["key"], r["sample"])
            seen.add(k)
            other = by_b.get(k)
            rows.append(_row(r, r, other, names, wins))
        rows += [_row(r, None, r, names, wins) for r in rb.results if (r["key"], r["sample"]) not in seen]
        return RunComparison(ra.run.name, ra.run, rb.run, names, tuple(rows), wins)


def _row(base: dict[str, Any], a: Optional[dict[str, Any]], b: Optional[dict[str, Any]], names: tuple[str, ...],
         wins: dict[str, dict[str, int]]) -> dict[str, Any]:
    delta: dict[str, Optional[float]] = {}
    for n in names:
        va = _number((a or {}).get("labels", {}).get(n))
        vb = _number((b or {}).get("labels", {}).get(n))
        delta[n] = None if va is None or vb is None else vb - va
        if delta[n] is not None:
            wins[n]["tie" if delta[n] == 0 else ("b" if delta[n] > 0 else "a")] += 1
    return {"key": base["key"], "sample": base["sample"], "index": base["index"], "input": base["input"],
            "datapoint": base["datapoint"], "a": a, "b": b, "delta": delta}


def _table(runs: list[EvalRun], labelers: tuple[str, ...]) -> tuple[ScoreRow, ...]:
    """Runs grouped by (LMP, version, API params); each cell is the mean over all their results."""
    groups: dict[tuple[str, str, bytes], list[EvalRun]] = {}
    for r in runs:  # newest first, so each group's run list is too
        groups.setdefault((r.lmp, r.version_id, layout.canonical(r.api_params)), []).append(r)
    rows = []
    for (lmp, vid, _), rs in groups.items():
        means: dict[str, Optional[float]] = {}
        for n in labelers:
            pairs = [(s.get("mean"), s.get("count") or 0) for s in (r.summaries.get(n) or {} for r in rs)]
            total = sum(c for m, c in pairs if m is not None)
            means[n] = sum(m * c for m, c in pairs if m is not None) / total if total else None
        rows.append(ScoreRow(lmp, vid, rs[0].vn, rs[0].api_params, tuple(r.id for r in rs),
                             sum(r.count for r in rs), means, ()))
    tops = {n: max((r.means[n] for r in rows if r.means[n] is not None), default=None) for n in labelers}
    rows = [ScoreRow(**{**r.__dict__, "best": tuple(n for n in labelers if tops[n] is not None
                                                     and r.means[n] == tops[n])}) for r in rows]
    first = labelers[0] if labelers else None
    rows.sort(key=lambda r: (r.means.get(first) is None, -(r.means.get(first) or 0.0)) if first else 0)
    return tuple(rows)
