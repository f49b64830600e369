"""Issue 17: the diff page of a version made by a dependency shows that dependency's change (item 4),
and the History column shows the useful part of each subject (item 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import triage_repo
from bs4 import BeautifulSoup


@pytest.fixture
def client(tmp_path: Path, model_server: Any) -> Any:
    from webui import create_app

    repo = triage_repo.build(tmp_path / "repo", model_server, tmp_path / "src")
    return create_app(repo, testing=True).test_client()


def _soup(resp: Any) -> BeautifulSoup:
    assert resp.status_code == 200, resp.data[:500]
    return BeautifulSoup(resp.data, "html.parser")


def test_diff_of_a_dependency_made_version_shows_the_dependency(client: Any) -> None:
    data = client.get("/lmp/triage.classify/diff.json?a=v2&b=v3").get_json()
    (dep,) = data["diff"]["dependencies"]
    assert dep["name"] == "triage.summarize" and (dep["a"]["vn"], dep["b"]["vn"]) == (1, 2)
    assert triage_repo.SUMMARIZE_DOCS[1] in dep["source_diff"]

    page = _soup(client.get("/lmp/triage.classify/diff?a=v2&b=v3"))
    section = page.select_one("#diff-deps .dependency-diff[data-lmp='triage.summarize']")
    assert section is not None
    assert any(triage_repo.SUMMARIZE_DOCS[1] in td.get_text() for td in section.select("tr.add td.code"))
    link = section.select_one("a.dep-diff-link")
    assert link.get_text(strip=True) == "v1 → v2"
    url = urlparse(link["href"])
    assert url.path == "/lmp/triage.summarize/diff"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    linked = client.get(f"/lmp/triage.summarize/diff.json?a={query['a']}&b={query['b']}").get_json()["diff"]
    assert (linked["a"]["vn"], linked["b"]["vn"]) == (1, 2)
    # classify's own source did not change: the page says where the change is instead of only "No changes"
    own = page.select_one("#diff-source").get_text(" ", strip=True)
    assert "triage.summarize" in own and "No changes." not in own


def test_history_column_drops_the_update_prefix(client: Any) -> None:
    page = _soup(client.get("/lmp/triage.classify"))
    cells = page.select("#history td.subject .one-line")
    shown = [c.get_text(strip=True) for c in cells]
    titles = [c["title"].split("\n")[0] for c in cells]
    assert all(t.startswith(("Update triage.classify: ", "Add triage.classify")) for t in titles)
    assert not any(s.startswith("Update triage.classify") for s in shown)
    assert shown[-1] == "first version" and shown[0] == "triage.summarize changed"
    # the long system prompt edit says which words changed (in the subject when it fits, else in the
    # body, which the cell's title shows)
    assert shown[1] == "system prompt edited"
    assert '"…with exactly one category, lower-case, from…"' in cells[1]["title"], cells[1]["title"]


_STORY = '''
import ell


@ell.simple(model="gpt-4o-mini")
def shout(text: str):
    """You repeat the text in capitals."""
    return text


@ell.simple(model="gpt-4o-mini")
def write(topic: str):
    """You write one line."""
    return {prompt}
'''


def test_a_dependency_added_then_dropped_shows_its_code(tmp_path: Path, model_server: Any) -> None:
    """v2 starts using `shout`, v3 stops: each diff shows shout's code, all added or all removed, with a
    link to the version of it that was (or is no longer) used (the web, its JSON twin and `ell diff`)."""
    import ell
    from click.testing import CliRunner
    from user_module import import_version
    from webui import create_app

    from ell_git.cli import cli

    repo = tmp_path / "repo"
    ell.init(store=str(repo), default_client=model_server.client(max_retries=0, timeout=10), autocommit=False)
    try:
        for prompt in ('f"About {topic}."', 'f"About {shout(topic)}."', 'f"About {topic}!"'):
            import_version(tmp_path / "src", "story", _STORY.format(prompt=prompt)).write("cats")
        assert ell.get_store().flush()
    finally:
        ell.set_store(None)
    client = create_app(repo, testing=True).test_client()

    added = client.get("/lmp/story.write/diff.json?a=v1&b=v2").get_json()["diff"]
    (dep,) = added["dependencies"]
    assert dep["name"] == "story.shout" and dep["change"] == "added" and dep["summary"] == ["now used, at v1"]
    assert '+    """You repeat the text in capitals."""' in dep["source_diff"] and dep["deletions"] == 0
    removed = client.get("/lmp/story.write/diff.json?a=v2&b=v3").get_json()["diff"]
    (gone,) = removed["dependencies"]
    assert gone["change"] == "removed" and gone["summary"] == ["no longer used (was v1)"]
    assert '-    """You repeat the text in capitals."""' in gone["source_diff"] and gone["additions"] == 0

    page = _soup(client.get("/lmp/story.write/diff?a=v1&b=v2"))
    section = page.select_one("#diff-deps .dependency-diff[data-lmp='story.shout']")
    assert any("You repeat the text in capitals." in td.get_text() for td in section.select("tr.add td.code"))
    link = section.select_one("a.dep-diff-link")
    assert link.get_text(strip=True) == "added · v1" and urlparse(link["href"]).path == "/lmp/story.shout"
    assert client.get(link["href"]).status_code == 200

    out = CliRunner().invoke(cli, ["diff", "story.write", "v2", "v3", "--repo", str(repo)]).output
    assert "    used story.shout: removed (v1)  (+0 -" in out, out
    assert '    -    """You repeat the text in capitals."""' in out.splitlines()
