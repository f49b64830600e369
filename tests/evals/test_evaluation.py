"""`ell.Evaluation` semantics (ell-ai 0.0.17's), against ell.testing with scripted answers so every
metric value is known; stored in a MemoryStore."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import ell
import ell.lmp.function
from ell.evaluation import EvaluationError, Scores
from ell.testing import Reply
from evaltools import CAPITALS, DATASET, DOCS, evaluation, load_version


@ell.simple(model="gpt-4o-mini")
def capital(country: str):
    """Answer with the city name only."""
    return f"What is the capital of {country}?"


@ell.simple(model="gpt-4o-mini")
def poem():
    """You write poems."""
    return "Write a poem."


def correct(datapoint, output):
    return float(datapoint["expected"] in output)


def test_metric_and_criterion_values(memory: ell.MemoryStore) -> None:
    run = evaluation().run(capital, n_workers=3)
    assert run.results.outputs == ["Paris", "Rome", "Madrid", "Tokyo", "Unknown"]
    assert run.results.metrics["correct"] == [1.0, 1.0, 1.0, 1.0, 0.0]
    assert isinstance(run.results.metrics["correct"], Scores)
    assert run.results.metrics["correct"].mean() == pytest.approx(0.8)
    assert run.results.metrics["correct"].std() == pytest.approx(0.4)  # population std, as numpy's default
    assert run.results.criterion == [True, True, True, True, True]
    assert run.summary["correct"] == {"count": 5, "errors": 0, "mean": pytest.approx(0.8), "std": pytest.approx(0.4),
                                      "min": 0.0, "max": 1.0}
    assert run.success and run.error is None and run.id.startswith("run-")
    assert run.inputs == [d["input"] for d in DATASET]
    # Every output's invocation id is the call that produced it.
    calls = {i.id: i for i in memory.invocations}
    for inv_id, dp in zip(run.invocation_ids.outputs, DATASET):
        args = calls[inv_id].args
        assert args == {"country": dp["input"][0] if isinstance(dp["input"], list) else dp["input"]["country"]}
    (recorded,) = memory.evaluation_runs
    assert recorded.id == run.id and recorded.version_id == ell.version_of(capital)
    assert recorded.lmp_name.endswith("test_evaluation.capital")
    assert recorded.summaries == run.summary and len(recorded.results) == 5


def test_n_evals_and_samples(memory: ell.MemoryStore, fake: Any) -> None:
    counter = iter(range(100))
    fake.script(lambda request: f"poem {next(counter)}")
    run = ell.Evaluation("poems", n_evals=3, samples_per_datapoint=2,
                         metrics={"length": lambda _, out: len(out)}).run(poem, n_workers=2)
    assert len(run.results.outputs) == 6 and len(fake.requests) == 6
    assert sorted(run.results.outputs) == [f"poem {i}" for i in range(6)]
    assert run.results.metrics["length"] == [6.0] * 6
    keys = [(r.key, r.sample) for r in run.records]
    assert len(set(keys)) == 6  # n_evals datapoints are all alike, yet each keeps its own key


def test_names_and_validation(memory: ell.MemoryStore) -> None:
    def length(_: Any, out: str) -> float:
        return len(out)

    run = ell.Evaluation("named", dataset=DATASET[:2], metrics=[correct, length]).run(capital)
    assert set(run.results.metrics) == {"correct", "length"}
    with pytest.raises(ValueError, match="not a lambda"):
        ell.Evaluation("x", dataset=DATASET, metrics=[lambda d, o: 1.0])
    with pytest.raises(ValueError, match="not both"):
        ell.Evaluation("x", dataset=DATASET, n_evals=2, metrics={"c": correct})
    with pytest.raises(ValueError, match="Either dataset or n_evals"):
        ell.Evaluation("x", metrics={"c": correct})
    with pytest.raises(ValueError, match="needs metrics"):
        ell.Evaluation("x", dataset=DATASET)
    with pytest.raises(ValueError, match="annotations are not supported"):
        ell.Evaluation("x", dataset=DATASET, annotations={"a": correct})
    with pytest.raises(ValueError, match="list of dicts"):
        ell.Evaluation("x", dataset=["France"], metrics={"c": correct})
    with pytest.raises(ValueError, match="at least one datapoint"):
        ell.Evaluation("x", dataset=[], metrics={"c": correct})


def test_api_params_reach_the_model(memory: ell.MemoryStore, fake: Any) -> None:
    ev = evaluation(default_api_params={"temperature": 0.3, "max_tokens": 5})
    run = ev.run(capital, api_params={"model": "gpt-4o", "max_tokens": 7})
    bodies = fake.requests
    assert {b["model"] for b in bodies} == {"gpt-4o"}
    assert {b["temperature"] for b in bodies} == {0.3} and {b["max_tokens"] for b in bodies} == {7}
    assert run.api_params == {"temperature": 0.3, "max_tokens": 7, "model": "gpt-4o"}
    assert memory.evaluation_runs[-1].api_params == run.api_params


def test_workers_run_concurrently_and_results_keep_dataset_order(memory: ell.MemoryStore, fake: Any) -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def slow(request: dict[str, Any]) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        # The first datapoint answers last: completion order differs from dataset order.
        time.sleep(0.4 if "France" in request["messages"][-1]["content"] else 0.1)
        with lock:
            active[0] -= 1
        return "ok " + request["messages"][-1]["content"].split()[-1]

    fake.script(slow)
    run = evaluation().run(capital, n_workers=4)
    assert peak[0] >= 2
    assert [o.split()[-1] for o in run.results.outputs] == ["France?", "Italy?", "Spain?", "Japan?", "Atlantis?"]


def test_progress_bar_on_stderr(memory: ell.MemoryStore, capsys: pytest.CaptureFixture[str]) -> None:
    evaluation("progress").run(capital)
    err = capsys.readouterr().err
    assert "progress [########################] 5/5 100%" in err


def test_failures_are_recorded_on_their_datapoint(memory: ell.MemoryStore, fake: Any) -> None:
    def flaky(request: dict[str, Any]) -> Any:
        return Reply(error=500) if "Spain" in request["messages"][-1]["content"] else CAPITALS.get(
            request["messages"][-1]["content"].split()[-1].rstrip("?"), "Unknown")

    def picky(datapoint: dict[str, Any], output: str) -> float:
        if output == "Rome":
            raise RuntimeError("no Rome today")
        return 1.0

    fake.script(flaky)
    with pytest.warns(RuntimeWarning, match="2 of 5 results have errors"):
        run = ell.Evaluation("flaky", dataset=DATASET, metrics={"picky": picky, "correct": correct}).run(capital)
    assert not run.success
    assert run.results.outputs[2] is None and "InternalServerError" in run.records[2].errors["output"]
    assert run.results.metrics["picky"] == [1.0, None, None, 1.0, 1.0]
    assert run.records[1].errors == {"picky": "RuntimeError: no Rome today"}
    assert run.summary["picky"]["count"] == 3 and run.summary["picky"]["errors"] == 2
    assert run.results.metrics["correct"].mean() == pytest.approx(3 / 4)
    assert memory.evaluation_runs[-1].success is False


def test_every_call_failing_raises_and_records_nothing(memory: ell.MemoryStore, fake: Any) -> None:
    fake.script(lambda request: Reply(error=401))
    with pytest.raises(EvaluationError, match="every call .* failed"):
        evaluation().run(capital)
    assert memory.evaluation_runs == []


def test_metric_values_must_be_numbers(memory: ell.MemoryStore) -> None:
    with pytest.warns(RuntimeWarning):
        run = ell.Evaluation("words", dataset=DATASET[:1], metrics={"word": lambda d, o: "good"}).run(capital)
    assert run.results.metrics["word"] == [None]
    assert "not a number" in run.records[0].errors["word"]


def test_identity_is_the_content(memory: ell.MemoryStore, tmp_path: Path) -> None:
    a = ell.Evaluation("a", dataset=DATASET, metrics={"correct": correct}).definition()
    b = ell.Evaluation("renamed", dataset=list(DATASET), metrics={"correct": correct}).definition()
    assert a.id == b.id and a.id.startswith("eval-")  # the name is not the identity
    other = ell.Evaluation("a", dataset=DATASET[:3], metrics={"correct": correct}).definition()
    assert other.id != a.id and other.dataset_id != a.dataset_id
    renamed_metric = ell.Evaluation("a", dataset=DATASET, metrics={"right": correct}).definition()
    assert renamed_metric.id != a.id
    # A model-graded metric's version includes its critic's prompt: editing the critic makes a new evaluation.
    v1 = load_version(tmp_path, DOCS[0])
    g1 = ell.Evaluation("g", dataset=DATASET, metrics={"graded": v1.graded}).definition()
    v2 = load_version(tmp_path, DOCS[0], critic_doc="You are a harsh critic. Reply 'Score: <n>'.")
    g2 = ell.Evaluation("g", dataset=DATASET, metrics={"graded": v2.graded}).definition()
    assert g1.labelers[0].version_id != g2.labelers[0].version_id and g1.id != g2.id
    assert "critic(output)" in g1.labelers[0].source


def test_model_graded_metric_is_versioned_like_any_lmp(memory: ell.MemoryStore, tmp_path: Path) -> None:
    mod = load_version(tmp_path, DOCS[1])
    run = ell.Evaluation("graded", dataset=DATASET[:3], metrics={"graded": mod.graded}).run(mod.capital)
    # The critic scores by answer length (capped at 10): Paris 5, Rome 4, Madrid 6.
    assert run.results.metrics["graded"] == [5.0, 4.0, 6.0]
    names = {v.name for v in memory.versions.values()}
    assert {"evalfix_prompts.critic", "evalfix_prompts.capital"} <= names
    critic_calls = [i for i in memory.invocations if i.lmp_name == "evalfix_prompts.critic"]
    # Each critic call took the evaluated output as its input (lstr origins link them).
    assert {c.origin_ids[0] for c in critic_calls} == set(run.invocation_ids.outputs)


def test_tracked_function_metric_records_its_invocations(memory: ell.MemoryStore, tmp_path: Path) -> None:
    mod = load_version(tmp_path, DOCS[1])

    @ell.lmp.function.function()
    def score(datapoint: dict[str, Any], output: str) -> float:
        return float(mod.critic(output).split("Score:")[1])

    run = ell.Evaluation("tracked", dataset=DATASET[:2], metrics={"score": score}).run(mod.capital)
    label_ids = run.invocation_ids.metrics["score"]
    assert all(i and i.startswith("inv-") for i in label_ids)
    by_id = {i.id: i for i in memory.invocations}
    assert [by_id[i].outputs for i in label_ids] == [[5.0], [4.0]]
    critics = [i for i in memory.invocations if i.lmp_name == "evalfix_prompts.critic"]
    assert {c.parent_id for c in critics} == set(label_ids)  # the critic ran inside the metric
    assert memory.versions[by_id[label_ids[0]].version_id].kind == "function"


def test_plain_function_is_tracked_when_evaluated(memory: ell.MemoryStore) -> None:
    def shout(country: str) -> str:
        return capital(country).upper()

    run = evaluation().run(shout)
    assert run.results.outputs[0] == "PARIS"
    inv = {i.id: i for i in memory.invocations}[run.invocation_ids.outputs[0]]
    assert inv.lmp_name.endswith("shout") and memory.versions[inv.version_id].kind == "function"
    assert memory.evaluation_runs[-1].version_id == inv.version_id


def test_api_batching_asks_for_n_choices(memory: ell.MemoryStore, fake: Any) -> None:
    run = ell.Evaluation("batched", dataset=DATASET[:2], samples_per_datapoint=3,
                         metrics={"correct": correct}).run(capital, use_api_batching=True)
    assert len(fake.requests) == 2 and {b["n"] for b in fake.requests} == {3}
    assert len(run.results.outputs) == 6 and [r.sample for r in run.records] == [0, 1, 2, 0, 1, 2]


def test_pre_0_0_17_api_of_ell_ais_examples_eval_py(memory: ell.MemoryStore) -> None:
    """ell-ai's own examples/eval.py uses criterion=[...] and run(samples_per_datapoint=...), which
    0.0.17 itself rejects; they work here, with `run.scores` as its 2-D table."""
    ev = ell.Evaluation("old", dataset=DATASET[:2], criterion=[correct, lambda _, out: len(out)])
    run = ev.run(capital, samples_per_datapoint=2)
    assert len(run.results.outputs) == 4
    assert run.scores[:, 0] == [1.0, 1.0, 1.0, 1.0] and run.scores[:, 1] == [5.0, 5.0, 4.0, 4.0]
    assert run.scores.mean() == pytest.approx(2.75)


def test_numpy_reads_scores(memory: ell.MemoryStore) -> None:
    np = pytest.importorskip("numpy")
    run = evaluation().run(capital)
    assert float(np.mean(run.results.metrics["correct"])) == pytest.approx(0.8)
    assert np.asarray(run.results.criterion).all()


def test_runs_without_a_store(fake: Any) -> None:
    ell.init(default_client=fake.client(max_retries=0))
    ell.set_store(None)
    run = evaluation().run(capital)
    assert run.results.metrics["correct"].mean() == pytest.approx(0.8)


def test_verbose_is_restored(memory: ell.MemoryStore) -> None:
    ell.config.verbose = True
    evaluation().run(capital, verbose=False)
    assert ell.config.verbose is True
    assert math.isnan(Scores([None]).mean())


def test_async_lmps_are_refused_clearly(memory: ell.MemoryStore) -> None:
    @ell.simple(model="gpt-4o-mini")
    async def later(country: str):
        return country

    with pytest.raises(TypeError, match="is async"):
        evaluation().run(later)
