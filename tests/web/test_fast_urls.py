"""The templates' URL helpers build exactly what url_for builds (they skip its per-call cost)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from flask import url_for

from webui import create_app
from webui.templating import inv_url, lmp_url

NAMES = ["a.b", "pkg.mod.hello", "x y/z", "ü%?&#=+", "inv-0123abcd", "a'b\"c<d>"]


@pytest.mark.parametrize("root", ["", "/ell"])
def test_lmp_and_invocation_urls_are_url_fors(tmp_path: Path, root: str) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    app = create_app(str(tmp_path))
    with app.test_request_context("/", base_url=f"http://localhost{root}/"):
        for name in NAMES:
            assert inv_url(name) == url_for("invocations.show", inv_id=name)
            for query in ({}, {"v": "lmp-ab12"}, {"v": "lmp-ab12", "at": "inv-9"}, {"v": None}, {"v": "a b&c"}):
                assert lmp_url(name, **query) == url_for("lmp.page", name=name, **query)
            assert lmp_url(name).startswith(root + "/lmp/")
