"""Evaluations: run an LMP over a dataset, score every output, keep the run next to its version.

    ev = ell.Evaluation("capitals", dataset=[{"input": ["France"], "expected": "Paris"}],
                        metrics={"correct": lambda dp, out: float(dp["expected"] in out)})
    run = ev.run(capital_of, n_workers=4)
    run.results.metrics["correct"].mean()

`evaluation.py` (the class and a run), `runner.py` (datapoints in threads), `definition.py` (labelers
and the content-hash identity), `results.py` (what a run returns), `tracked.py` (tracked plain
functions: ell-ai's `ell.lmp.function`), `progress.py` (the stderr bar).
"""

from __future__ import annotations

from .evaluation import Evaluation as Evaluation
from .evaluation import EvaluationError as EvaluationError
from .results import Criterion as Criterion
from .results import Datapoint as Datapoint
from .results import Dataset as Dataset
from .results import EvaluationResults as EvaluationResults
from .results import EvaluationRun as EvaluationRun
from .results import InvocationID as InvocationID
from .results import Label as Label
from .results import Metric as Metric
from .results import Metrics as Metrics
from .results import Scores as Scores

__all__ = [
    "Criterion",
    "Datapoint",
    "Dataset",
    "Evaluation",
    "EvaluationError",
    "EvaluationResults",
    "EvaluationRun",
    "InvocationID",
    "Label",
    "Metric",
    "Metrics",
    "Scores",
]
