"""What an evaluation run returns: outputs, labels per labeler, invocation ids and summaries.

The shapes follow ell-ai 0.0.17 (`run.results.outputs`, `run.results.metrics["score"].mean()`,
`run.invocation_ids.outputs`) without numpy: label values are `Scores`, a list with the few
statistics evaluations need. `numpy.asarray(scores)` still works where numpy is installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Optional

from ..records import DatapointResult, EvaluationRecord

Datapoint = dict[str, Any]
Dataset = list[dict[str, Any]]
Metric = Callable[[Datapoint, Any], float]
Metrics = dict[str, Metric]
Criterion = Callable[[Datapoint, Any], bool]
InvocationID = str

METRIC = "metric"
CRITERION = "criterion"


class Scores(list):  # type: ignore[type-arg]
    """One labeler's values, one per result, in dataset order. `None` marks a value that failed;
    the statistics skip it (numpy would give nan: `summarize` says how many failed). The methods
    take and ignore numpy's `axis`/`dtype`/`out`, so `numpy.mean(scores)` works too."""

    def numbers(self) -> list[float]:
        return [float(v) for v in self if v is not None]

    def mean(self, *_: Any, **__: Any) -> float:
        vals = self.numbers()
        return math.fsum(vals) / len(vals) if vals else math.nan

    def std(self, *_: Any, ddof: int = 0, **__: Any) -> float:
        """Standard deviation; population (ddof=0) by default, as numpy's."""
        vals = self.numbers()
        if len(vals) <= ddof:
            return math.nan
        m = math.fsum(vals) / len(vals)
        return math.sqrt(math.fsum((v - m) ** 2 for v in vals) / (len(vals) - ddof))

    def min(self, *_: Any, **__: Any) -> float:
        vals = self.numbers()
        return min(vals) if vals else math.nan

    def max(self, *_: Any, **__: Any) -> float:
        vals = self.numbers()
        return max(vals) if vals else math.nan

    def sum(self, *_: Any, **__: Any) -> float:
        return math.fsum(self.numbers())

    def tolist(self) -> list[Any]:
        return list(self)


def summarize(values: Iterable[Any]) -> dict[str, Any]:
    """{count, errors, mean, std, min, max} of one labeler's values (None when nothing succeeded)."""
    scores = Scores(values)
    n = len(scores.numbers())
    if not n:
        return {"count": 0, "errors": len(scores), "mean": None, "std": None, "min": None, "max": None}
    return {"count": n, "errors": len(scores) - n, "mean": scores.mean(), "std": scores.std(),
            "min": scores.min(), "max": scores.max()}


@dataclass
class Label:
    """One labeler's values over a run (ell-ai's `LabelGeneric`)."""

    name: str
    type: str  # "metric" | "criterion"
    label: Scores


@dataclass
class EvaluationResults:
    """Outputs and labels in dataset order; `invocation_ids` has the same shape, holding the ids of the
    evaluated calls (`.outputs`) and of tracked labelers' calls (`.metrics[name]`)."""

    outputs: list[Any] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    invocation_ids: Optional[EvaluationResults] = None

    @property
    def metrics(self) -> dict[str, Scores]:
        return {l.name: l.label for l in self.labels if l.type == METRIC}

    @property
    def criterion(self) -> Optional[Scores]:
        return next((l.label for l in self.labels if l.type == CRITERION), None)

    @property
    def annotations(self) -> dict[str, Scores]:
        return {}  # ell-ai 0.0.17 declares annotations but refuses them too

    @staticmethod
    def from_results(results: Iterable[DatapointResult], outputs: list[Any],
                     labelers: Iterable[tuple[str, str]]) -> EvaluationResults:
        rows = list(results)
        labelers = list(labelers)
        return EvaluationResults(
            outputs=outputs,
            labels=[Label(n, k, Scores(r.labels.get(n) for r in rows)) for n, k in labelers],
            invocation_ids=EvaluationResults(
                outputs=[r.invocation_id for r in rows],
                labels=[Label(n, k, Scores(r.label_invocation_ids.get(n) for r in rows)) for n, k in labelers],
            ),
        )


class ScoreTable(list):  # type: ignore[type-arg]
    """Rows of label values (criteria first, then metrics): the pre-0.0.17 `run.scores`, which
    ell-ai's own `examples/eval.py` indexes as `scores[:, 0]`."""

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, tuple) and len(index) == 2:
            rows, col = index
            picked = list.__getitem__(self, rows)
            if isinstance(rows, slice):
                return Scores(row[col] for row in picked)
            return picked[col]
        return list.__getitem__(self, index)

    def mean(self) -> float:
        return Scores(v for row in self for v in row).mean()


@dataclass
class EvaluationRun:
    """One run: what was evaluated, how, and what came out (`results`, `summary`, `records`)."""

    results: EvaluationResults = field(default_factory=EvaluationResults)
    dataset: Optional[Dataset] = None
    n_evals: Optional[int] = None
    samples_per_datapoint: int = 1
    lmp: Any = None
    api_params: dict[str, Any] = field(default_factory=dict)
    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    id: Optional[str] = None
    success: Optional[bool] = None
    error: Optional[str] = None
    evaluation: Optional[EvaluationRecord] = None
    version_id: Optional[str] = None  # of the evaluated LMP
    records: list[DatapointResult] = field(default_factory=list)  # one per result, as stored

    @property
    def inputs(self) -> list[Any]:
        return [d.get("input", None) for d in self.dataset] if self.dataset else []

    @property
    def outputs(self) -> list[Any]:
        return self.results.outputs

    @property
    def invocation_ids(self) -> Optional[EvaluationResults]:
        return self.results.invocation_ids

    @property
    def summary(self) -> dict[str, dict[str, Any]]:
        """Labeler name -> {count, errors, mean, std, min, max}."""
        return {l.name: summarize(l.label) for l in self.results.labels}

    @property
    def scores(self) -> ScoreTable:
        order = sorted(self.results.labels, key=lambda l: l.type != CRITERION)
        return ScoreTable([list(row) for row in zip(*(l.label for l in order))])

    def __str__(self) -> str:
        parts = [f"{name} {s['mean']:.3g} ± {s['std']:.2g}" if s["count"] else f"{name} (all failed)"
                 for name, s in self.summary.items()]
        return f"EvaluationRun {self.id}: " + ", ".join(parts)
