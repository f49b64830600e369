"""Reader costs that must not grow with the repository: refresh when nothing moved, one page of LMPs,
text search through the FTS5 index (issue 17)."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from store_helpers import make_inv, make_version

from ell_git import GitStore, Reader, cache, refs, refscan, search
from ell_git import reader as reader_module

ROOT = Path(__file__).resolve().parents[2]


def _gen() -> Any:
    spec = importlib.util.spec_from_file_location("gen_repo", ROOT / "bench" / "gen_repo.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """A repository of 120 LMPs (one version each) and 600 invocations, written as the store writes."""
    return _gen().generate(tmp_path / "many", 120, 600, versions_per_lmp=1, batch=100, writers=2)


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust ref fingerprints at once (a test cannot wait out the racy window of a real clock)."""
    monkeypatch.setattr(refscan, "RACY_S", 0.0)


def _count_listings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = refs.ell_refs

    def counting(*a: Any, **k: Any) -> dict[str, str]:
        calls[0] += 1
        return real(*a, **k)

    monkeypatch.setattr(refs, "ell_refs", counting)
    return calls


def test_refresh_lists_no_ref_when_nothing_moved(user_repo: Path, settled: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    s = GitStore(user_repo, autocommit=False, flush_interval=0.01)
    v = make_version()
    s.record_version(v)
    s.record_invocation(make_inv(v, 1))
    s.flush(timeout=30)
    with Reader(user_repo) as r:
        token = r.state_token()
        assert r.lmps()[0].invocation_count == 1
        calls = _count_listings(monkeypatch)
        syncs = [0]
        real_sync = r._indexer.sync
        monkeypatch.setattr(r._indexer, "sync", lambda cur: (syncs.__setitem__(0, syncs[0] + 1), real_sync(cur))[1])
        for _ in range(3):
            assert r.refresh() is False
            r.lmps()
            r.invocations()
            assert r.state_token() == token and not r.changed_since(token)
        assert calls[0] == 0 and syncs[0] == 0  # no ref listing, no indexer call: O(1)
        s.record_invocation(make_inv(v, 2))
        s.flush(timeout=30)
        s.close()
        assert r.changed_since(token)  # the new tip is seen
        assert r.lmps()[0].invocation_count == 2
        assert calls[0] >= 1 and syncs[0] == 1


def test_fingerprint_changes_when_a_ref_moves_or_is_packed(many: Path, settled: None) -> None:
    import subprocess

    with Reader(many) as r:
        gitdir = refscan.common_dir(r.repo)
        before = refscan.fingerprint(gitdir)
        assert before is not None and refscan.fingerprint(gitdir) == before
        subprocess.run(["git", "pack-refs", "--all"], cwd=many, check=True)
        packed = refscan.fingerprint(gitdir)
        assert packed != before
        ref = next(iter(refs.ell_refs(r.repo)))
        subprocess.run(["git", "update-ref", "-d", ref], cwd=many, check=True)
        assert refscan.fingerprint(gitdir) != packed


def test_fingerprint_is_not_trusted_while_refs_are_changing(many: Path) -> None:
    # Just written: a second change in the same mtime tick would look the same, so no fingerprint.
    assert refscan.fingerprint(str(many / ".git")) is None


def test_lmp_page_pages_and_filters_by_name(many: Path) -> None:
    with Reader(many) as r:
        everything = [l.name for l in r.lmps()]
        assert len(everything) == 120 and everything == sorted(everything)
        first = r.lmp_page(limit=50)
        assert first.total == 120 and [l.name for l in first.items] == everything[:50]
        last = r.lmp_page(limit=50, offset=100)
        assert [l.name for l in last.items] == everything[100:]
        assert last.items[0].to_json() == next(l for l in r.lmps() if l.name == everything[100]).to_json()
        hit = r.lmp_page(q="LMP_11", limit=50)  # any case
        assert [l.name for l in hit.items] == [n for n in everything if "lmp_11" in n] and hit.total == len(hit.items)
        assert r.lmp_page(q="no-such-lmp").total == 0
        assert r.lmp_names() == everything
        used = {u for l in r.lmps() for u in l.uses}
        assert used and set(r.running([everything[0]])) <= {everything[0]}


def test_search_uses_the_fts5_index(many: Path) -> None:
    with Reader(many) as r:
        assert search.has_fts(r.db)  # this Python's SQLite has FTS5
        rows = r.invocations(limit=1000).items
        word = rows[0].args_preview.split('"')[3].split()[0]  # a word of a stored question
        r.invocations(q=word)  # the first search indexes the words
        upto = r.db.execute("SELECT value FROM meta WHERE key='fts_upto'").fetchone()
        assert upto is not None and int(upto[0]) == r.db.execute("SELECT max(rowid) FROM inv").fetchone()[0]
        found = r.invocations(q=word, limit=1000)
        expect = [x.id for x in rows if word.lower() in (x.args_preview + " " + x.output_preview).lower()]
        assert found.total == len(expect) > 0 and sorted(x.id for x in found.items) == sorted(expect)
        assert r.invocations(q=word[:-1]).total >= found.total  # the last word by prefix
        one = rows[5].id
        assert [x.id for x in r.invocations(q=one[4:14]).items] == [one] or r.invocations(q=one[4:14]).total >= 1
        assert one in [x.id for x in r.invocations(q=one, limit=1000).items]  # full ids by prefix


def test_deep_pages_and_capped_search_counts(many: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every page is the same slice of one newest-first order (the page's rowids are picked before
    the joins), and a search matching more than COUNT_CAP rows says "at least" instead of counting on."""
    with Reader(many) as r:
        everything = [x.id for x in r.invocations(limit=1000).items]
        assert len(everything) == 600
        pages = [x.id for off in range(0, 600, 70) for x in r.invocations(limit=70, offset=off).items]
        assert pages == everything
        word = r.invocations(limit=1).items[0].args_preview.split('"')[3].split()[0]
        full = r.invocations(q=word, limit=1000)
        assert not full.total_capped and full.total == len(full.items) > 3
        in_order = [x for x in everything if x in {i.id for i in full.items}]
        assert [x.id for x in full.items] == in_order
        latency = r.invocations(q=word, min_latency=0, limit=1000)  # a second filter: counted in SQL
        assert latency.total == full.total and [x.id for x in latency.items] == in_order
        monkeypatch.setattr(reader_module, "COUNT_CAP", 3)
        capped = r.invocations(q=word, limit=2, offset=1)
        assert capped.total == 3 and capped.total_capped
        assert [x.id for x in capped.items] == in_order[1:3]  # the rows are the same, only the count stops
        assert r.invocations(q=word, min_latency=0, limit=1).total_capped
        exact = r.invocations(q=in_order[0], limit=5)  # an id: one match, under the cap
        assert [x.id for x in exact.items] == [in_order[0]] and not exact.total_capped


def test_search_falls_back_to_like_without_fts5(many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "create", lambda db: False)  # an SQLite built without FTS5
    with Reader(many, cache_path=str(tmp_path / "nofts.sqlite")) as r:
        assert not search.has_fts(r.db)
        rows = r.invocations(limit=1000).items
        word = rows[0].args_preview.split('"')[3].split()[0]
        found = r.invocations(q=word[1:-1], limit=1000)  # a substring, as LIKE finds
        assert found.total >= 1 and rows[0].id in [x.id for x in found.items]


def test_new_invocations_are_searchable_after_the_index_caught_up(user_repo: Path) -> None:
    s = GitStore(user_repo, autocommit=False, flush_interval=0.01)
    v = make_version()
    s.record_version(v)
    s.record_invocation(make_inv(v, 1, args={"q": "alpha"}))
    s.flush(timeout=30)
    with Reader(user_repo) as r:
        assert r.invocations(q="alpha").total == 1
        s.record_invocation(make_inv(v, 2, args={"q": "alphabet soup"}))
        s.flush(timeout=30)
        s.close()
        assert r.invocations(q="alpha").total == 2 and r.invocations(q="soup").total == 1


def test_schema_change_rebuilds_the_cache(many: Path, tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite")
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES('schema', '6')")
    db.commit()
    db.close()
    with Reader(many, cache_path=path) as r:
        assert r.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == cache.SCHEMA_VERSION
        assert search.has_fts(r.db) and r.lmp_page().total == 120
