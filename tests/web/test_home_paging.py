"""Home at scale (issue 17): a page of LMPs at a time, a search by name, a graph of the page only,
word search of invocations through the read cache's FTS5 index, and live polls that list no ref."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from ell_git import refs, refscan
from webui import create_app
from webui.views import home

ROOT = Path(__file__).resolve().parents[2]
N_LMPS = 120


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 LMPs (some using others) and 600 invocations, written exactly as the store writes them."""
    spec = importlib.util.spec_from_file_location("gen_repo", ROOT / "bench" / "gen_repo.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen.generate(tmp_path_factory.mktemp("big") / "repo", N_LMPS, 600, versions_per_lmp=1, batch=100,
                        writers=2)


@pytest.fixture
def client(big: Path) -> Any:
    return create_app(big, testing=True).test_client()


def _names(client: Any, url: str) -> list[str]:
    return [l["name"] for l in client.get(url).get_json()["lmps"]]


def test_home_json_pages_through_every_lmp_by_name(client: Any) -> None:
    first = client.get("/.json").get_json()
    size = home.PAGE_SIZE
    pages = -(-N_LMPS // size)
    assert first["paging"] == {"page": 1, "pages": pages, "total": N_LMPS, "limit": size, "offset": 0,
                               "first": 1, "last": size, "q": ""}
    seen = [name for p in range(1, pages + 1) for name in _names(client, f"/.json?page={p}")]
    assert len(seen) == N_LMPS and seen == sorted(seen) and len(set(seen)) == N_LMPS
    assert _names(client, "/.json?page=999999999999999999999999") == seen[(pages - 1) * size :]  # the last page
    assert _names(client, "/.json?page=x") == seen[:size]


def test_home_search_filters_names_and_keeps_paging_info(client: Any) -> None:
    found = client.get("/.json?q=LMP_11").get_json()
    assert [l["name"] for l in found["lmps"]] == sorted(l for l in _all(client) if "lmp_11" in l)
    assert found["paging"]["q"] == "LMP_11" and found["paging"]["total"] == len(found["lmps"]) == 11
    page = BeautifulSoup(client.get("/?q=nothing-like-this").data, "html.parser")
    assert page.select_one("#no-match") and not page.select("#lmp-table")
    assert page.select_one("#lmp-q")["value"] == "nothing-like-this"


def _all(client: Any) -> list[str]:
    pages = client.get("/.json").get_json()["paging"]["pages"]
    return [n for p in range(1, pages + 1) for n in _names(client, f"/.json?page={p}")]


def test_home_html_has_page_links_and_a_graph_of_the_page_only(client: Any) -> None:
    data = client.get("/.json?page=2").get_json()
    page = BeautifulSoup(client.get("/?page=2").data, "html.parser")
    assert [r["data-id"] for r in page.select("#lmp-table tbody tr")] == [l["name"] for l in data["lmps"]]
    assert page.select_one(".pager a[rel=prev]")["href"] == "/?page=1"
    assert page.select_one("#lmp-count").get_text(" ", strip=True).startswith(f"LMPs {home.PAGE_SIZE + 1}–")
    on_page = {l["name"] for l in data["lmps"]}
    used = {u for l in data["lmps"] for u in l["uses"]}
    assert set(data["graph"]["nodes"]) == on_page | used  # not the 120 LMPs of the repository
    assert all(a in on_page for a, _ in data["graph"]["edges"])
    assert len(page.select("svg.graph a.node")) == len(data["graph"]["nodes"])


def test_a_graph_too_large_is_left_out_with_a_note(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(home, "GRAPH_MAX", 3)
    data = client.get("/.json").get_json()
    assert data["graph"]["nodes"] == [] and data["graph"]["omitted"] > 3
    page = BeautifulSoup(client.get("/").data, "html.parser")
    assert page.select_one("#graph-omitted") and not page.select("svg.graph")


def test_invocation_search_finds_words_through_the_fts_index(client: Any) -> None:
    found = client.get("/invocations.json?q=topic+42").get_json()["invocations"]
    # gen_repo asks "question number {i} about topic {i % 97}": "topic 42" (42 as a prefix) matches
    assert found["total"] >= 1 and all("topic 42" in r["args_preview"] for r in found["items"])
    db = client.application.extensions["ell_data"].reader.db
    assert db.execute("SELECT count(*) FROM inv_fts WHERE inv_fts MATCH '\"topic 42\"*'").fetchone()[0] == found["total"]


def test_live_poll_lists_no_ref_when_nothing_moved(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refscan, "RACY_S", 0.0)
    token = client.get("/.json").get_json()["state"]  # the first read lists the refs once
    calls = [0]
    real = refs.ell_refs
    monkeypatch.setattr(refs, "ell_refs", lambda *a, **k: (calls.__setitem__(0, calls[0] + 1), real(*a, **k))[1])
    for _ in range(3):
        assert client.get(f"/_live?token={token}").status_code == 204
        assert client.get("/.json").status_code == 200
    assert calls[0] == 0


def test_first_request_shows_indexing_progress_while_the_cache_builds(big: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from ell_git import Reader, cache
    from webui import warmup

    release = threading.Event()
    real_sync = cache.Indexer.sync

    def slow_sync(self: Any, current: dict[str, str]) -> bool:
        self.progress = (3, 10)  # as a sync part-way through its refs reports it
        release.wait(30)
        return real_sync(self, current)

    monkeypatch.setattr(cache.Indexer, "sync", slow_sync)
    monkeypatch.setattr(warmup, "WAIT_S", 0.2)
    reader = Reader(big, cache_path=str(tmp_path / "cold.sqlite"))
    c = create_app(big, testing=True, reader=reader).test_client()
    resp = c.get("/")
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert "Indexing 3 of 10 refs" in BeautifulSoup(resp.data, "html.parser").select_one("#indexing").get_text()
    assert c.get("/.json").get_json()["indexing"] == {"done": 3, "total": 10}
    assert c.get("/_live.json").status_code == 200  # polls never wait for the index
    release.set()
    c.application.extensions["ell_warmup"].thread.join(30)
    assert c.get("/.json").get_json()["paging"]["total"] == N_LMPS
    reader.close()
