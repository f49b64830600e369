"""What the evaluation reader returns: frozen dataclasses with ``to_json()`` (as in `views`).

Summaries are ``{count, errors, mean, std, min, max}`` per labeler; means are None when every value
failed. Times are epoch seconds; ``vn`` is the evaluated version's number (None if unknown here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .views import _Json


@dataclass(frozen=True)
class Labeler(_Json):
    name: str
    kind: str  # "metric" | "criterion"
    version_id: str
    function: str
    source: str


@dataclass(frozen=True)
class EvalDefinition(_Json):
    """One version of an evaluation (one content hash of dataset + labelers)."""

    id: str
    name: str
    commit: str
    time: float
    subject: str
    dataset_id: str
    datapoints: Optional[int]
    n_evals: Optional[int]
    samples_per_datapoint: int
    default_api_params: dict[str, Any]
    labelers: tuple[Labeler, ...]


@dataclass(frozen=True)
class EvalRun(_Json):
    id: str
    name: str
    eval_id: str
    commit: str
    lmp: str
    version_id: str
    vn: Optional[int]
    api_params: dict[str, Any]
    lmp_params: dict[str, Any]
    started_at: float
    ended_at: float
    count: int
    summaries: dict[str, dict[str, Any]]
    success: bool
    error: Optional[str]
    by: str  # writer id of the clone that ran it
    author: str


@dataclass(frozen=True)
class EvalSummary(_Json):
    """One evaluation as listed."""

    name: str
    eval_id: str  # its newest definition
    versions: int  # how many definitions
    datapoints: Optional[int]
    labelers: tuple[str, ...]
    runs: int
    last_run: Optional[float]
    best: Optional[dict[str, Any]]  # {lmp, version_id, vn, labeler, mean}: top of the first labeler


@dataclass(frozen=True)
class ScoreRow(_Json):
    """One evaluated version (with one set of API params) in the versions × metrics table."""

    lmp: str
    version_id: str
    vn: Optional[int]
    api_params: dict[str, Any]
    runs: tuple[str, ...]  # run ids, newest first
    count: int  # results over those runs
    means: dict[str, Optional[float]]  # labeler -> mean over every result of those runs
    best: tuple[str, ...]  # labelers in which this row has the highest mean


@dataclass(frozen=True)
class EvalDetail(_Json):
    name: str
    eval_id: str  # the definition the table is about (that of the newest run, unless chosen)
    definitions: tuple[EvalDefinition, ...]  # oldest first
    runs: tuple[EvalRun, ...]  # newest first, every definition
    labelers: tuple[str, ...]  # the table's columns
    table: tuple[ScoreRow, ...]  # best first (by the first labeler)


@dataclass(frozen=True)
class RunResults(_Json):
    run: EvalRun
    definition: Optional[EvalDefinition]
    results: tuple[dict[str, Any], ...]  # stored result lines, each with its datapoint and `input`


@dataclass(frozen=True)
class RunComparison(_Json):
    """Two runs side by side, joined on datapoint (key) and sample."""

    name: str
    a: EvalRun
    b: EvalRun
    labelers: tuple[str, ...]  # labelers both runs have
    rows: tuple[dict[str, Any], ...]  # {key, sample, index, input, datapoint, a, b, delta}
    wins: dict[str, dict[str, int]]  # labeler -> {"a", "b", "tie"} counts of higher values
