"""After a revert (the code goes back to a version already recorded: no commit is made), the pages
say which version runs now, as a badge and as an event in the history."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

import ell

SOURCE = '''
    import ell

    @ell.simple(model="gpt-4o-mini", temperature={t})
    def write(topic: str):
        """You are a writer."""
        return f"Write about {{topic}}."
'''


def _call_version(folder: Path, t: float) -> None:
    path = folder / "reverted.py"
    path.write_text(textwrap.dedent(SOURCE.format(t=t)), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("reverted", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reverted"] = module
    try:
        spec.loader.exec_module(module)
        module.write("cats")
    finally:
        sys.modules.pop("reverted", None)


def test_the_pages_say_what_runs_after_a_revert(tmp_path: Path, model_server: Any) -> None:
    from webui import create_app

    repo = tmp_path / "repo"
    ell.init(store=repo, default_client=model_server.client(max_retries=0), autocommit=False)
    try:
        for t in (0.7, 0.2):
            _call_version(tmp_path, t)
        ell.get_store().flush()
        client = create_app(repo, testing=True).test_client()
        assert client.get("/lmp/reverted.write.json").get_json()["running"] is None  # v2 runs: nothing to say
        _call_version(tmp_path, 0.7)  # back to v1
        ell.get_store().flush()
    finally:
        ell.set_store(None)

    data = client.get("/lmp/reverted.write.json").get_json()
    assert data["latest"] == data["versions"][-1]["version_id"] and data["running"]["vn"] == 1
    assert client.get("/.json").get_json()["running"]["reverted.write"]["vn"] == 1
    page = BeautifulSoup(client.get("/lmp/reverted.write").data, "html.parser")
    assert page.select_one("#version-head .badge.running").get_text(strip=True) == "running now: v1"
    event = page.select_one("#history #running-event")
    assert "back to v1" in event.get_text() and event.find_next_sibling("tr")["data-version"] == data["latest"]
    home = BeautifulSoup(client.get("/").data, "html.parser")
    assert home.select_one("tr[data-id='reverted.write'] .badge.running").get_text(strip=True) == "running v1"
