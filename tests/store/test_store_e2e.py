"""A real LMP, `ell.init(store=path)` and the local model server, end to end."""

from __future__ import annotations

import importlib
import linecache
import sys
import textwrap
from pathlib import Path

import orjson
from store_helpers import all_lines, git

import ell
from ell_git import GitStore

MODULE_V1 = '''
import ell

@ell.simple(model="gpt-4o-mini", temperature=0.7)
def shout(text: str):
    """You shout."""
    return text

@ell.simple(model="gpt-4o-mini", temperature={temp})
def greet(name: str):
    """{system}"""
    return f"Greet {{shout(name)}}"
'''


def _load(tmp_path: Path, system: str, temp: float):
    """Write the user's module (as if edited) and import it afresh."""
    f = tmp_path / "src" / "prompts_e2e.py"
    f.write_text(textwrap.dedent(MODULE_V1.format(system=system, temp=temp)))
    linecache.checkcache(str(f))
    if "prompts_e2e" in sys.modules:
        return importlib.reload(sys.modules["prompts_e2e"])
    return importlib.import_module("prompts_e2e")


def test_real_lmp_versions_invocations_and_freeze(user_repo, tmp_path, model_server, monkeypatch, request):
    (tmp_path / "src").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    sys.modules.pop("prompts_e2e", None)
    request.addfinalizer(lambda: sys.modules.pop("prompts_e2e", None))
    ell.init(store=str(user_repo), autocommit=False, default_client=model_server.client(max_retries=0))
    store = ell.get_store()
    assert isinstance(store, GitStore)
    m = _load(tmp_path, "You are kind.", 0.7)
    shouted = m.shout("Ada")
    out = m.greet(shouted)  # an lstr output passed in: greet's origin is that shout call
    assert "Ada" in str(out)
    m2 = _load(tmp_path, "You are terse.", 0.2)
    m2.greet("Bob")
    with store.freeze(m2.greet, m2.shout):  # greet builds its prompt by calling shout
        n = len(model_server.requests)
        m2.greet("Bob")  # identical call: served from the store
        assert len(model_server.requests) == n
        m2.greet("Cy")  # new arguments: the model is called
        assert len(model_server.requests) == n + 2  # greet and the inner shout
    assert store.flush(timeout=30)
    log = git(user_repo, "log", "--format=%s", "refs/ell/lmp/prompts_e2e.greet").splitlines()
    assert log == ["Update prompts_e2e.greet: system prompt edited; temperature 0.7 → 0.2",
                   "Add prompts_e2e.greet (first version)"]
    uses = git(user_repo, "log", "-1", "--format=%(trailers:key=Ell-Uses,valueonly,separator=)",
               "refs/ell/lmp/prompts_e2e.greet").strip()
    assert uses.endswith("(prompts_e2e.shout)")
    lines = [orjson.loads(x) for x in all_lines(user_repo, store.inv_ref)]
    greets = [x for x in lines if x["lmp_name"] == "prompts_e2e.greet"]
    assert len(greets) == 4 and sum(x["cached"] for x in greets) == 1
    r = store.reader
    first = next(x for x in greets if x["origin_ids"])
    detail = r.invocation(first["id"])
    assert [c.lmp for c in detail.children] == ["prompts_e2e.shout"]  # called while building the prompt
    assert [o.lmp for o in detail.origins] == ["prompts_e2e.shout"]
    assert first["id"] in [c.id for c in r.invocation(detail.origins[0].id).consumers]
    assert r.lmps()[0].name == "prompts_e2e.greet" and r.lmps()[0].vn == 2
    assert "system prompt 'You are kind.' → 'You are terse.'" in r.diff("prompts_e2e.greet", "v1", "v2").summary
