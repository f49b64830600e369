"""`ell.Evaluation`: run an LMP over a dataset (or n times), label each output, keep the run.

Semantics follow ell-ai 0.0.17: datapoints are ``{"input": list | dict, ...}``; metrics are
``(datapoint, output) -> float``; a criterion is ``-> bool``; exactly one of `dataset` / `n_evals`.
A finished run is handed to the store's optional `record_evaluation_run` hook (the git store commits
it to ``refs/ell/eval/<name>`` and notes the scores on the evaluated version's commit).
"""

from __future__ import annotations

import inspect
import secrets
import time
import warnings
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from ..configurator import config
from ..lmp import tracking
from ..serialize import to_jsonable
from ..records import EvaluationRecord, EvaluationRunRecord
from .definition import (Labeler, accepts, has_required_params, jsonable_dataset, labelers_from, record_of)
from .progress import Progress
from .results import CRITERION, METRIC, Dataset, EvaluationResults, EvaluationRun, Scores, summarize
from .runner import Outcome, run_task, run_tasks, tasks_for
from ..types.lmp import lmp_of
from .tracked import is_tracked, track


class EvaluationError(RuntimeError):
    """Every call of the evaluated LMP failed: nothing worth recording came out of the run."""


# Plain functions being evaluated get one tracking wrapper each (so their version is computed once).
_tracked_targets: weakref.WeakKeyDictionary[Any, Callable[..., Any]] = weakref.WeakKeyDictionary()


def _as_target(fn: Callable[..., Any]) -> Callable[..., Any]:
    if is_tracked(fn):
        return fn
    try:
        wrapper = _tracked_targets.get(fn)
        if wrapper is None:
            wrapper = _tracked_targets[fn] = track(fn)
        return wrapper
    except TypeError:  # not weak-referenceable (a bound method, a callable object)
        return track(fn)


class Evaluation:
    """A named evaluation: a dataset (or `n_evals` argument-less calls) and the labelers that score
    each output. `run(lmp)` evaluates one LMP and returns an `EvaluationRun`."""

    def __init__(self, name: str, *, dataset: Optional[Dataset] = None, n_evals: Optional[int] = None,
                 samples_per_datapoint: int = 1, metrics: Any = None, criterion: Any = None,
                 annotations: Any = None, default_api_params: Optional[dict[str, Any]] = None,
                 has_serialized: bool = False, id: Optional[str] = None) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("an evaluation needs a name, e.g. Evaluation('capitals', dataset=[...], metrics={...})")
        if dataset is None and n_evals is None:
            raise ValueError("Either dataset or n_evals must be set")
        if dataset is not None and n_evals is not None:
            raise ValueError("Either dataset or n_evals must be set, not both")
        if dataset is not None:
            if not isinstance(dataset, (list, tuple)) or not all(isinstance(d, dict) for d in dataset):
                raise ValueError("dataset must be a list of dicts like {'input': [args] or {kwargs}, ...}")
            if not dataset:
                raise ValueError("Dataset must contain at least one datapoint")
        if n_evals is not None and (not isinstance(n_evals, int) or n_evals < 1):
            raise ValueError(f"n_evals must be a positive int, got {n_evals!r}")
        if not isinstance(samples_per_datapoint, int) or samples_per_datapoint < 1:
            raise ValueError(f"samples_per_datapoint must be a positive int, got {samples_per_datapoint!r}")
        self.name = name
        self.dataset = list(dataset) if dataset is not None else None
        self.n_evals = n_evals
        self.samples_per_datapoint = samples_per_datapoint
        self.default_api_params = dict(default_api_params or {})
        self.labelers: list[Labeler] = labelers_from(metrics, criterion, annotations)
        self.has_serialized = has_serialized
        self.id = id  # the content hash, known once computed (`definition()` or the first run)

    # -- ell-ai's views of the labelers --------------------------------------------------------
    @property
    def metrics(self) -> dict[str, Callable[..., Any]]:
        return {l.name: l.fn for l in self.labelers if l.kind == METRIC}

    @property
    def criterion(self) -> Optional[Callable[..., Any]]:
        return next((l.fn for l in self.labelers if l.kind == CRITERION), None)

    @property
    def annotations(self) -> dict[str, Callable[..., Any]]:
        return {}

    def definition(self, samples_per_datapoint: Optional[int] = None) -> EvaluationRecord:
        """What is stored for this evaluation; its `id` hashes the dataset and the labelers' versions."""
        record = record_of(self.name, jsonable_dataset(self.dataset), self.n_evals,
                           samples_per_datapoint or self.samples_per_datapoint, self.labelers,
                           self.default_api_params)
        self.id = record.id
        return record

    # -- running -------------------------------------------------------------------------------
    def run(self, lmp: Callable[..., Any], *, n_workers: int = 1, use_api_batching: bool = False,
            api_params: Optional[dict[str, Any]] = None, verbose: bool = False,
            **lmp_kwargs: Any) -> EvaluationRun:
        """Evaluate `lmp` on every datapoint with `n_workers` threads; extra keyword arguments go to
        every call, `api_params` override the evaluation's `default_api_params` for this run."""
        plan = _Plan.of(self, lmp, api_params, use_api_batching, lmp_kwargs)
        record = self.definition(plan.samples)
        version = tracking.ensure_version(plan.target)  # also hands the version to the store
        tasks = tasks_for(self.dataset, self.n_evals, plan.samples, use_api_batching)

        def work(task: Any) -> Outcome:
            return run_task(task, plan.target, plan.call_kwargs, plan.required, self.labelers, plan.tracked_fn)

        progress = Progress(self.name, len(tasks))
        saved_verbose, config.verbose = config.verbose, verbose
        started, start_time = time.time(), datetime.now(timezone.utc)
        try:
            outcomes = run_tasks(tasks, work, n_workers, progress)
        finally:
            config.verbose = saved_verbose
            progress.close()
        failed = [o.error for o in outcomes if o.error is not None]
        if failed and len(failed) == len(outcomes):
            raise EvaluationError(f"every call of {version.name} failed in evaluation {self.name!r} (first: "
                                  f"{type(failed[0]).__name__}: {failed[0]}); nothing was recorded") from failed[0]
        rows = [r for o in outcomes for r in o.results]
        pairs = [(l.name, l.kind) for l in self.labelers]
        errors = sum(1 for r in rows if r.errors)
        run_record = EvaluationRunRecord(
            id="run-" + secrets.token_hex(8), evaluation=record, lmp_name=version.name,
            version_id=version.version_id, api_params=to_jsonable(plan.api_params),
            lmp_params=to_jsonable(lmp_kwargs), started_at=started, ended_at=time.time(), results=tuple(rows),
            summaries={name: summarize(r.labels.get(name) for r in rows) for name, _ in pairs},
            success=not errors, error=f"{errors} of {len(rows)} results have errors" if errors else None,
        )
        if errors:
            warnings.warn(f"ell: evaluation {self.name!r}: {run_record.error} (see run.records[i].errors)",
                          RuntimeWarning, stacklevel=2)
        _record(run_record)
        return EvaluationRun(
            results=EvaluationResults.from_results(rows, [out for o in outcomes for out in o.outputs], pairs),
            dataset=self.dataset, n_evals=self.n_evals, samples_per_datapoint=plan.samples, lmp=lmp,
            api_params=plan.api_params, start_time=start_time, end_time=datetime.now(timezone.utc),
            id=run_record.id, success=run_record.success, error=run_record.error, evaluation=record,
            version_id=version.version_id, records=rows,
        )

    def __repr__(self) -> str:
        size = f"{len(self.dataset)} datapoints" if self.dataset is not None else f"n_evals={self.n_evals}"
        return f"Evaluation({self.name!r}, {size}, labelers={[l.name for l in self.labelers]})"


@dataclass(frozen=True)
class _Plan:
    """How each datapoint's call is made in one run."""

    target: Callable[..., Any]  # the LMP, or a plain function wrapped so its calls are tracked
    samples: int
    required: bool  # whether the datapoint's input is passed (ell-ai: the LMP has required parameters)
    api_params: dict[str, Any]
    call_kwargs: dict[str, Any]
    tracked_fn: bool  # a tracked plain function: its invocation id comes from `last_invocation`

    @staticmethod
    def of(ev: Evaluation, lmp: Callable[..., Any], api_params: Optional[dict[str, Any]], batching: bool,
           lmp_kwargs: dict[str, Any]) -> _Plan:
        if inspect.iscoroutinefunction(getattr(lmp, "__wrapped__", lmp)):
            raise TypeError(f"{getattr(lmp, '__qualname__', lmp)} is async: evaluations call LMPs from worker "
                            "threads, so define a sync version of it to evaluate (as in ell-ai 0.0.17)")
        samples = ev.samples_per_datapoint
        if "samples_per_datapoint" in lmp_kwargs and not accepts(lmp, "samples_per_datapoint"):
            samples = int(lmp_kwargs.pop("samples_per_datapoint"))  # the pre-0.0.17 run() argument
        target = _as_target(lmp)
        params = {**ev.default_api_params, **(api_params or {})}
        if batching:
            params["n"] = samples
        found = lmp_of(target)
        kind = found.kind if found is not None else None
        call_kwargs = dict(lmp_kwargs)
        # LMPs take api_params=; a plain function only if it says so (ell-ai passed it to everything).
        if kind in ("simple", "complex") or (params and accepts(found.func if found else target, "api_params")):
            call_kwargs["api_params"] = params
        return _Plan(target, samples, has_required_params(lmp), params, call_kwargs, kind == "function")


def _record(run: EvaluationRunRecord) -> None:
    """Hand the run to the store if it keeps evaluations; a failure there never loses the results."""
    hook = getattr(config.store, "record_evaluation_run", None)
    if hook is None:
        return
    try:
        from ..redaction import redact_evaluation_run

        hook(redact_evaluation_run(run))
    except Exception as exc:
        warnings.warn(f"ell: could not record evaluation run {run.id} ({exc}); its results are still returned",
                      RuntimeWarning, stacklevel=3)


__all__ = ["Evaluation", "EvaluationError", "EvaluationRun", "EvaluationResults", "Scores"]
