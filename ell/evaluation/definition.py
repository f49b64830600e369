"""What an evaluation is: its labelers (metrics, criterion), its dataset, and its identity.

An evaluation's id is a content hash of its dataset and of its labelers' names and versions. A
labeler's version is the content hash of its closure (`ell.versioning`), so editing a metric, or the
prompt of a critic LMP that a metric calls, makes a new evaluation version; renaming it does not.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from ..redaction import redact_value
from ..serialize import dumps, to_jsonable
from ..records import EvaluationRecord, LabelerRecord
from .results import CRITERION, METRIC

#: Datapoints are stored whole; strings beyond this are cut (a dataset is for reading, not blobs).
MAX_DATAPOINT_STRING = 100_000


@dataclass(frozen=True)
class Labeler:
    """A metric (`(datapoint, output) -> float`) or a criterion (`-> bool`) and its name."""

    name: str
    kind: str  # METRIC | CRITERION
    fn: Callable[..., Any]


def named_callables(items: Any, what: str) -> dict[str, Callable[..., Any]]:
    """A dict of name -> callable from a dict, or from a list of named functions (ell-ai's rules)."""
    if isinstance(items, dict):
        for name, item in items.items():
            if not callable(item):
                raise ValueError(f"{what.capitalize()} '{name}' must be a callable, got {type(item).__name__}")
        return dict(items)
    if isinstance(items, (list, tuple)):
        out: dict[str, Callable[..., Any]] = {}
        for item in items:
            if not callable(item):
                raise ValueError(f"each {what} must be a callable, got {type(item).__name__}")
            name = getattr(item, "__name__", None)
            if not name or name == "<lambda>":
                raise ValueError(f"each {what} in a list must have a name (not a lambda): "
                                 f"pass a dict {{'name': fn}} to name lambdas")
            out[name] = item
        return out
    raise ValueError(f"{what}s must be a list of callables or a dict of name -> callable, got {type(items).__name__}")


def labelers_from(metrics: Any, criterion: Any, annotations: Any) -> list[Labeler]:
    """ell-ai's rules: metrics by name; one criterion named "criterion"; annotations refused.

    A list of criteria (the API before 0.0.17, which ell-ai's own `examples/eval.py` still uses) gives
    one criterion per function, named after it (lambdas: `criterion_<i>`).
    """
    if annotations:
        raise ValueError("annotations are not supported yet (nor in ell-ai 0.0.17): use metrics={...}")
    labelers = [Labeler(n, METRIC, f) for n, f in named_callables(metrics, "metric").items()] if metrics else []
    if isinstance(criterion, (list, tuple)):
        for i, fn in enumerate(criterion):
            if not callable(fn):
                raise ValueError(f"criterion must be a callable, got {type(fn).__name__}")
            name = getattr(fn, "__name__", "") or ""
            labelers.append(Labeler(name if name and name != "<lambda>" else f"criterion_{i}", CRITERION, fn))
    elif criterion is not None:
        if not callable(criterion):
            raise ValueError(f"criterion must be a callable (datapoint, output) -> bool, got {type(criterion).__name__}")
        labelers.append(Labeler("criterion", CRITERION, criterion))
    names = [l.name for l in labelers]
    if len(set(names)) != len(names):
        raise ValueError(f"labeler names must be unique, got {names}")
    if not labelers:
        raise ValueError("an evaluation needs metrics={...} or a criterion=... (label-less evaluations "
                         "are not supported, as in ell-ai 0.0.17)")
    return labelers


def labeler_record(labeler: Labeler) -> LabelerRecord:
    from ..versioning import compute_version

    info = compute_version(labeler.fn)  # never raises: a placeholder version if capture fails
    return LabelerRecord(labeler.name, labeler.kind, info.version_id, info.name, info.source)


def short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def jsonable_dataset(dataset: Optional[list[dict[str, Any]]]) -> Optional[tuple[Any, ...]]:
    if dataset is None:
        return None
    # Redacted before it is hashed: the evaluation's id does not change when a secret in it rotates.
    return tuple(redact_value(to_jsonable(d, max_string=MAX_DATAPOINT_STRING)) for d in dataset)


def dataset_id(dataset: Optional[tuple[Any, ...]], n_evals: Optional[int]) -> str:
    return "dataset-" + short_hash(dumps(list(dataset)) if dataset is not None else dumps({"n_evals": n_evals}))


def evaluation_id(dataset_hash: str, labelers: Iterable[LabelerRecord]) -> str:
    pinned = sorted([l.kind, l.name, l.version_id] for l in labelers)
    return "eval-" + short_hash(dumps({"dataset": dataset_hash, "labelers": pinned}))


def datapoint_keys(dataset: list[Any]) -> list[str]:
    """A key per datapoint that joins two runs' results on the same input: a hash of the datapoint
    and how many identical ones came before it (so `n_evals` datapoints, all alike, stay apart)."""
    seen: dict[str, int] = {}
    keys = []
    for d in dataset:
        h = short_hash(dumps(d))[:12]
        keys.append(f"{h}#{seen.get(h, 0)}")
        seen[h] = seen.get(h, 0) + 1
    return keys


def record_of(name: str, dataset: Optional[tuple[Any, ...]], n_evals: Optional[int], samples: int,
              labelers: list[Labeler], default_api_params: dict[str, Any]) -> EvaluationRecord:
    pinned = tuple(labeler_record(l) for l in labelers)
    did = dataset_id(dataset, n_evals)
    return EvaluationRecord(
        id=evaluation_id(did, pinned), name=name, dataset_id=did, dataset=dataset, n_evals=n_evals,
        samples_per_datapoint=samples, labelers=pinned,
        default_api_params=redact_value(to_jsonable(default_api_params)),
    )


def has_required_params(fn: Callable[..., Any]) -> bool:
    """ell-ai's test for whether a datapoint's input is passed: any parameter without a default."""
    sig = inspect.signature(fn)
    return any(p.default is p.empty and p.kind != p.VAR_KEYWORD for p in sig.parameters.values())


def accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
