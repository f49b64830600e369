"""Running an evaluation's datapoints: one call of the evaluated LMP, then every labeler, per task.

Tasks run in a thread pool (`n_workers`), each in a copy of the caller's context, and results come
back in dataset order whatever order they finish in. A failing call or labeler is recorded on its
datapoint (with the error) instead of ending the run: one flaky request should not cost the other
hundred. `evaluation.run` decides what to do when every call failed.
"""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..serialize import to_jsonable
from ..records import DatapointResult
from ..types import Message
from ..types.lstr import lstr
from .definition import MAX_DATAPOINT_STRING, Labeler, datapoint_keys
from .progress import Progress
from .results import CRITERION
from .tracked import last_invocation


@dataclass(frozen=True)
class Task:
    """One call of the evaluated LMP: a datapoint, which sample of it, and its join key."""

    index: int
    sample: int
    key: str
    datapoint: dict[str, Any]


@dataclass
class Outcome:
    """What one task produced: live outputs for the caller, records for the store."""

    outputs: list[Any]
    results: list[DatapointResult]
    error: Optional[BaseException] = None  # the evaluated call's exception, if it raised


def tasks_for(dataset: Optional[list[dict[str, Any]]], n_evals: Optional[int], samples: int,
              batching: bool) -> list[Task]:
    """ell-ai's expansion: every datapoint (or `n_evals` empty ones) `samples` times; with API
    batching, one call per datapoint that asks the model for `n = samples` choices instead."""
    base = list(dataset) if dataset is not None else [{"input": None}] * int(n_evals or 1)
    keys = datapoint_keys(base)
    repeat = 1 if batching else samples
    return [Task(i, s, keys[i], dp) for i, dp in enumerate(base) for s in range(repeat)]


def call_target(target: Callable[..., Any], datapoint: dict[str, Any], kwargs: dict[str, Any],
                required: bool) -> Any:
    """ell-ai's `get_lmp_output`: a list input is positional arguments, a dict keyword arguments."""
    if not required:
        return target(**kwargs)
    inp = datapoint.get("input", None)
    if isinstance(inp, list):
        return target(*inp, **kwargs)
    if isinstance(inp, dict):
        return target(**inp, **kwargs)
    if inp is None:
        return target(**kwargs)
    raise ValueError(f"a datapoint's 'input' must be a list (positional arguments) or a dict (keyword "
                     f"arguments), got {type(inp).__name__}: write {{'input': [value]}}")


def origin_of(value: Any) -> Optional[str]:
    """The invocation that produced `value` (an LMP's lstr or Message), if exactly one did."""
    if isinstance(value, Message):
        return value._origin
    if isinstance(value, lstr):
        trace = value.__origin_trace__
        return next(iter(trace)) if len(trace) == 1 else None
    return None


def label_value(kind: str, value: Any) -> Any:
    """A metric's value as a float; a criterion's as a bool (numbers kept for the pre-0.0.17 list form)."""
    if value is None:
        raise ValueError("returned None; return a number (metric) or a bool (criterion)")
    if kind == CRITERION and (isinstance(value, bool) or type(value).__name__ == "bool_"):
        return bool(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"returned {type(value).__name__} {str(value)[:40]!r}, not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"returned {number}, not a finite number")
    return number


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_task(task: Task, target: Callable[..., Any], kwargs: dict[str, Any], required: bool,
             labelers: list[Labeler], tracked_target: bool) -> Outcome:
    t0 = time.perf_counter()
    last_invocation.set(None)
    try:
        output = call_target(target, task.datapoint, kwargs, required)
    except Exception as exc:
        row = DatapointResult(task.index, task.sample, task.key, last_invocation.get() if tracked_target else None,
                              None, {l.name: None for l in labelers}, {}, {"output": _error(exc)},
                              (time.perf_counter() - t0) * 1000.0)
        return Outcome([None], [row], exc)
    latency = (time.perf_counter() - t0) * 1000.0
    called = last_invocation.get() if tracked_target else None
    # ell-ai: a list output (n > 1 choices) is that many results of the same datapoint.
    outputs = output if isinstance(output, list) else [output]
    rows = []
    for k, out in enumerate(outputs):
        labels: dict[str, Any] = {}
        label_ids: dict[str, Optional[str]] = {}
        errors: dict[str, str] = {}
        for l in labelers:
            last_invocation.set(None)
            try:
                value = l.fn(task.datapoint, out)
                label_ids[l.name] = last_invocation.get() or origin_of(value)
                labels[l.name] = label_value(l.kind, value)
            except Exception as exc:  # recorded on the datapoint; the other labelers still run
                labels[l.name] = None
                errors[l.name] = _error(exc)
        rows.append(DatapointResult(
            task.index, task.sample + k, task.key, called or origin_of(out),
            to_jsonable(out, max_string=MAX_DATAPOINT_STRING), labels, label_ids, errors, latency))
    return Outcome(outputs, rows)


def run_tasks(tasks: list[Task], work: Callable[[Task], Outcome], n_workers: int,
              progress: Progress) -> list[Outcome]:
    """Every task's outcome in task order; `n_workers` threads (none when 1)."""
    if n_workers <= 1:
        outcomes = []
        for t in tasks:
            outcomes.append(contextvars.copy_context().run(work, t))
            progress.advance(failed=outcomes[-1].error is not None)
        return outcomes
    pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="ell-eval")
    try:
        # Each task gets its own copy of the caller's context (a Context cannot run in two threads).
        futures = [pool.submit(contextvars.copy_context().run, work, t) for t in tasks]
        for f in as_completed(futures):
            progress.advance(failed=f.result().error is not None)
        return [f.result() for f in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
