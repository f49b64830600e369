"""Cost accounting (issue 18): usage as reported, a dated shipped price table, team prices on
refs/notes/ell/prices shared by `ell sync`, pricing when history is read.

Real repositories in tmp_path, model calls through the openai SDK to ell.testing's server."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

import ell
from ell_git.cli import cli
from ell.records import InvocationRecord
from ell.testing import Reply
from ell_git import GitStore, Reader, prices
from ell_git.sync import sync

USAGE = {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200,
         "prompt_tokens_details": {"cached_tokens": 400}, "completion_tokens_details": {"reasoning_tokens": 50}}
# gpt-4o-mini's list price (USD per 1M tokens) since 2024-10-01: input 0.15, cached input 0.075, output 0.60.
MINI = (600 * 0.15 + 400 * 0.075 + 200 * 0.60) / 1e6


def _module(dirpath: Path, name: str, source: str) -> dict:
    import importlib.util
    import sys

    path = dirpath / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return vars(module)


SRC = '''
    import ell

    @ell.simple(model="gpt-4o-mini-2024-07-18")
    def known(x: str):
        return f"say {x}"

    @ell.simple(model="acme-private-7b")
    def unknown(x: str):
        return f"say {x}"
'''


def _cli(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def calls(tmp_path: Path, model_server):
    """A repository with two calls of a known model (one streamed) and one of an unknown model."""
    repo = tmp_path / "repo"
    repo.mkdir()
    ell.init(store=repo, default_client=model_server.client(max_retries=0), autocommit=False)
    mod = _module(tmp_path, "costmod", SRC)
    model_server.queue(Reply(text="a", usage=USAGE))
    mod["known"]("x")
    model_server.queue(Reply(text="b", usage=USAGE))
    assert "".join(mod["known"]("y", stream=True)) == "b"
    model_server.queue(Reply(text="c", usage={"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}))
    mod["unknown"]("z")
    ell.get_store().flush()
    return repo


def _by_lmp(reader: Reader) -> dict[str, list]:
    out: dict[str, list] = {}
    for row in reader.invocations(limit=100).items:
        out.setdefault(row.lmp.split(".")[-1], []).append(row)
    return out


def test_usage_details_are_recorded_for_plain_and_streamed_calls(calls: Path) -> None:
    with Reader(calls) as r:
        rows = _by_lmp(r)["known"]
        assert len(rows) == 2
        for row in rows:
            usage = r.invocation(row.id).record["usage"]
            assert usage["prompt_tokens_details"]["cached_tokens"] == 400
            assert usage["completion_tokens_details"]["reasoning_tokens"] == 50
            assert usage["prompt_tokens"] == 1000 and usage["completion_tokens"] == 200


def test_a_known_model_costs_tokens_times_its_list_price_including_cached_tokens(calls: Path) -> None:
    with Reader(calls) as r:
        rows = _by_lmp(r)["known"]
        assert [row.cost_usd for row in rows] == [pytest.approx(MINI, rel=1e-9)] * 2
        assert r.invocation(rows[0].id).cost_usd == pytest.approx(MINI, rel=1e-9)
        assert r.cost("costmod.known").cost_usd == pytest.approx(2 * MINI, rel=1e-9)


def test_an_unknown_model_is_unpriced_never_zero_and_ell_prices_set_prices_its_past_calls(calls: Path) -> None:
    with Reader(calls) as r:
        (row,) = _by_lmp(r)["unknown"]
        assert row.cost_usd is None
        total = r.cost()
        assert (total.priced_calls, total.unpriced_calls) == (2, 1)
        assert total.cost_usd == pytest.approx(2 * MINI, rel=1e-9)
        assert "+ 1 unpriced call" in total.label and "$0 " not in total.label
        assert r.costs_by_lmp()["costmod.unknown"].cost_usd is None
    _cli("prices", "set", "acme-private-7b", "--input", "0.5", "--output", "1.5", "--repo", str(calls))
    with Reader(calls) as r:  # a fresh reader on the same cache file: the price applies to the old call
        (row,) = _by_lmp(r)["unknown"]
        assert row.cost_usd == pytest.approx(0.5 + 1.5)
        assert r.cost().unpriced_calls == 0
        assert r.cost().cost_usd == pytest.approx(2 + 2 * MINI)
    _cli("prices", "unset", "acme-private-7b", "--repo", str(calls))
    with Reader(calls) as r:
        assert _by_lmp(r)["unknown"][0].cost_usd is None


def test_a_team_price_overrides_the_list_price_and_an_open_reader_sees_it(calls: Path) -> None:
    with Reader(calls) as r:
        before = r.cost("costmod.known").cost_usd
        prices.set_price(r.repo, "gpt-4o-mini", input=1.0, output=2.0, cached_input=0.5)
        rows = _by_lmp(r)["known"]  # the same reader: the price ref moved, the rates table follows
        expected = (600 * 1.0 + 400 * 0.5 + 200 * 2.0) / 1e6
        assert [row.cost_usd for row in rows] == [pytest.approx(expected)] * 2
        assert r.cost("costmod.known").cost_usd == pytest.approx(2 * expected) != before
        assert r.costs_by_version("costmod.known") and all(
            c.cost_usd == pytest.approx(2 * expected) for c in r.costs_by_version("costmod.known").values())


def test_min_cost_filter_and_cost_of(calls: Path) -> None:
    with Reader(calls) as r:
        page = r.invocations(min_cost=MINI / 2)
        assert page.total == 2 and {row.lmp for row in page.items} == {"costmod.known"}
        assert r.invocations(min_cost=1.0).total == 0
        ids = [row.id for row in r.invocations().items]
        summary = r.cost_of(ids)
        assert (summary.priced_calls, summary.unpriced_calls) == (2, 1)


def _record(store: GitStore, model: str, started: float, usage: dict, n: int) -> None:
    store.record_invocation(InvocationRecord(id=f"inv-{n:032x}", version_id="lmp-00000000000000aa", lmp_name="app.f",
                                             args={}, model=model, usage=usage, started_at=started))


def test_calls_are_priced_at_the_price_in_force_at_their_time_and_old_records_still_read(clean_repo: Path) -> None:
    store = GitStore(clean_repo, autocommit=False, flush_interval=0.05)
    may_2024, jan_2025 = prices.parse_date("2024-06-01") + 3600, prices.parse_date("2025-01-15") + 3600
    old_usage = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000, "total_tokens": 2_000_000}
    _record(store, "gpt-4o", may_2024, old_usage, 1)  # a record as written before usage details existed
    _record(store, "gpt-4o", jan_2025, old_usage, 2)
    _record(store, "gpt-4o-2024-05-13", jan_2025, old_usage, 3)  # a snapshot listed on its own
    assert store.flush(timeout=30)
    store.close()
    with Reader(clean_repo) as r:
        cost = {row.id[-1]: row.cost_usd for row in r.invocations().items}
        assert cost == {"1": pytest.approx(5 + 15), "2": pytest.approx(2.5 + 10), "3": pytest.approx(5 + 15)}
        assert r.cost("app.f").cost_usd == pytest.approx(20 + 12.5 + 20)  # the aggregates, by day


def test_aliases_and_dated_snapshots_resolve() -> None:
    at = prices.parse_date("2025-03-01")
    mini = prices.resolve("gpt-4o-mini", at)
    for name in ("gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini", "GPT-4o-mini"):
        assert prices.resolve(name, at) == mini
    assert prices.resolve("claude-3-5-sonnet-20241022", at).model == "claude-3-5-sonnet"
    assert prices.resolve("claude-3-5-sonnet-latest", at).model == "claude-3-5-sonnet"
    assert prices.resolve("mistral-large-2411", at).model == "mistral-large"
    assert prices.resolve("gemini-2.0-flash-001", at).model == "gemini-2.0-flash"
    assert prices.resolve("ft:gpt-4o-mini-2024-07-18:acme::abc", at) is None  # fine-tunes cost more: unpriced
    assert prices.resolve("no-such-model", at) is None


def test_the_shipped_table_is_package_data_with_a_date_and_source_for_every_price() -> None:
    doc = json.loads(resources.files("ell_git").joinpath("data/prices.json").read_bytes())
    assert {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini", "claude-3-5-sonnet", "gemini-2.0-flash",
            "mistral-large", "deepseek-chat"} <= set(doc["models"])
    for model, entries in doc["models"].items():
        for e in entries:
            assert e["source"].startswith("https://"), model
            prices.parse_date(e["from"])
            assert e["input"] >= 0 and e["output"] >= 0 and e.get("cached_input", 0) >= 0, model


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_prices_set_in_one_clone_apply_in_another_after_ell_sync(tmp_path: Path, model_server) -> None:
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", str(remote))
    a, b = tmp_path / "a", tmp_path / "b"
    _git(tmp_path, "clone", "-q", str(remote), str(a))
    ell.init(store=a, default_client=model_server.client(max_retries=0), autocommit=False)
    mod = _module(tmp_path, "synced", SRC)
    model_server.queue(Reply(text="c", usage={"prompt_tokens": 2_000_000, "completion_tokens": 1_000_000}))
    mod["unknown"]("z")
    ell.get_store().flush()
    _cli("prices", "set", "acme-private-7b", "--input", "1", "--output", "3", "--repo", str(a))
    sync(a)
    _git(tmp_path, "clone", "-q", str(remote), str(b))
    with Reader(b) as r:  # before sync: B has neither the call nor the price
        assert r.invocations().total == 0
    _cli("sync", "--repo", str(b))  # `ell sync` itself
    with Reader(b) as r:
        (row,) = r.invocations().items
        assert row.cost_usd == pytest.approx(2 * 1 + 1 * 3)
    assert _git(b, "notes", "--ref=ell/prices", "show", prices.TARGET).count("acme-private-7b") == 1


def test_concurrent_team_prices_merge_the_newest_wins(tmp_path: Path, clean_repo: Path) -> None:
    with Reader(clean_repo) as r:
        prices.set_price(r.repo, "m", 1, 2)
        time.sleep(0.01)
        prices.set_price(r.repo, "m", 3, 4)
        prices.set_price(r.repo, "m", 9, 9, since="2030-01-01")
        (now, later) = prices.local_entries(r.repo)["m"]
        assert (now.input, now.output, later.input) == (3.0, 4.0, 9.0)
        assert prices.unset_price(r.repo, "m", since="2030-01-01") == 1
        assert [p.input for p in prices.local_entries(r.repo)["m"]] == [3.0]
        with pytest.raises(ValueError):
            prices.set_price(r.repo, "m", -1, 2)
        with pytest.raises(ValueError):
            prices.set_price(r.repo, "m", 1, 2, since="01/02/2025")
