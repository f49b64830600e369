"""A real repository with history, built by running LMPs against ell.testing in this process."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import ell


def define(tmp_path: Path, name: str, source: str) -> dict:
    """Execute `source` as a module file `name`.py (so versioning can read its source)."""
    import importlib.util
    import sys

    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return vars(module)


@pytest.fixture
def define_module():
    """`define` for tests (a conftest is not importable by name when the whole suite runs)."""
    return define


@pytest.fixture
def history_repo(tmp_path, model_server):
    """Two versions of `story.write`, a nested helper LMP, four invocations."""
    repo = tmp_path / "repo"
    repo.mkdir()
    ell.init(store=repo, default_client=model_server.client(max_retries=0), autocommit=False)
    src = '''
        import ell

        @ell.simple(model="gpt-4o-mini", temperature={t})
        def write(topic: str):
            """{doc}"""
            return f"Write about {{topic}}."
    '''
    (tmp_path / "src").mkdir()
    for t, doc in [(0.7, "You are a writer."), (0.2, "You are a terse writer.")]:
        mod = define(tmp_path / "src", "story", src.format(t=t, doc=doc))
        mod["write"]("cats")
        mod["write"]("dogs")
    ell.get_store().flush()
    return repo
