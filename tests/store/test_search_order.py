"""A search with more matches than the count cap reads the word index in time order (issue 17):
its pages are the same slices of the same newest-first order as every other list, whatever order
the calls arrived in, and a call forgotten from history leaves the index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from store_helpers import make_inv, make_version

from ell_git import GitStore, Reader, search
from ell_git import reader as reader_module
from ell_git.forget import forget


def _words(r: Reader, word: str) -> list[str]:
    """Ids of every call whose previews hold `word`, newest first, from the unsearched list."""
    return [x.id for x in r.invocations(limit=1000).items if word in (x.args_preview + x.output_preview)]


def _paged(r: Reader, q: str, size: int, **kw: object) -> list[str]:
    out: list[str] = []
    while True:
        page = r.invocations(q=q, limit=size, offset=len(out), **kw)
        if not page.items:
            return out
        out += [x.id for x in page.items]


def test_a_common_word_pages_newest_first_from_the_index(user_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "COUNT_CAP", 5)  # 5 stands for 10,000: every search below is "common"
    s = GitStore(user_repo, autocommit=False, flush_interval=0.01)
    v, w = make_version(), make_version(name="other.lmp")
    s.record_version(v)
    s.record_version(w)
    for i in range(30):
        s.record_invocation(make_inv(v if i % 3 else w, i, args={"q": f"common word {i}"}))
    s.record_invocation(make_inv(v, 7, tag="twin", args={"q": "common twin"}))  # the same start as call 7
    s.record_invocation(make_inv(v, 8, tag="quiet", args={"q": "rare"}))
    s.flush(timeout=30)
    with Reader(user_repo) as r:
        assert r.invocations(q="common").total_capped  # indexes the words
        # A teammate's older calls arrive after the index was built: they take their place in time.
        for i in range(5):
            s.record_invocation(make_inv(v, i, tag="late", args={"q": "common late"}, started_at=1_700_000_000.5 + i * 4))
        s.flush(timeout=30)
        s.close()
        expect = _words(r, "common")
        assert len(expect) == 36
        assert _paged(r, "common", 7) == expect
        first = r.invocations(q="common", limit=7)
        assert first.total == 5 and first.total_capped  # "5+": not counted on
        # With another condition the matches are counted (up to the cap) and paged the same way,
        # whether the LMP's own words are searched (a small LMP) or the whole index is read.
        mine = [x for x in expect if x in set(_words_of(r, v.name))]
        monkeypatch.setattr(search, "SCOPE_FIRST", 3)
        for scope_max in (search.SCOPE_MAX, 0):
            monkeypatch.setattr(search, "SCOPE_MAX", scope_max)
            scoped = r.invocations(q="common", lmp=v.name, limit=4)
            assert scoped.total == 5 and scoped.total_capped
            assert _paged(r, "common", 4, lmp=v.name) == mine
            assert _paged(r, "common", 3, lmp=v.name, min_latency=20) == [
                x.id for x in r.invocations(lmp=v.name, min_latency=20, limit=1000).items if x.id in set(mine)]
        assert _paged(r, "late", 2) == _words(r, "late")  # under the cap: the listed path, same order
        assert r.invocations(q="rare").total == 1


def _recorded(user_repo: Path, questions: list[str]) -> tuple[GitStore, Any]:
    """A store on `user_repo` with one version and one call per question (flushed)."""
    s = GitStore(user_repo, autocommit=False, flush_interval=0.01)
    v = make_version()
    s.record_version(v)
    for i, question in enumerate(questions):
        s.record_invocation(make_inv(v, i, args={"q": question}))
    s.flush(timeout=30)
    return s, v


def _words_of(r: Reader, lmp: str) -> list[str]:
    return [x.id for x in r.invocations(lmp=lmp, limit=1000).items]


def test_forgotten_calls_leave_the_word_index(user_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader_module, "COUNT_CAP", 2)
    s, _ = _recorded(user_repo, [f"needle {i}" + (" secret" if i == 3 else "") for i in range(6)])
    s.close()
    with Reader(user_repo) as r:
        before = _paged(r, "needle", 4)
        assert len(before) == 6
        forget(user_repo, match="secret")
        after = _paged(r, "needle", 4)
        assert len(after) == 5 and after == [x for x in before if x in set(_words(r, "needle"))]
        assert r.invocations(q="secret").total == 0
        assert r.db.execute("SELECT count(*) FROM inv_tkey").fetchone()[0] == 5


def test_a_reused_rowid_is_indexed_again(user_repo: Path) -> None:
    """SQLite hands the highest rowid out again once its row is deleted: the new call must still be found."""
    s, v = _recorded(user_repo, [f"alpha {i}" + (" secret" if i == 2 else "") for i in range(3)])
    with Reader(user_repo) as r:
        assert r.invocations(q="alpha").total == 3
        newest = r.db.execute("SELECT max(rowid) FROM inv").fetchone()[0]
        forget(user_repo, match="secret")
        assert r.invocations(q="alpha").total == 2
        s.record_invocation(make_inv(v, 9, args={"q": "beta"}))
        s.flush(timeout=30)
        s.close()
        assert r.invocations(q="beta").total == 1
        assert r.db.execute("SELECT max(rowid) FROM inv").fetchone()[0] == newest  # it was reused
