"""Fixtures for versioning tests: user-like modules written to disk and imported for real.

`project.load({"prompts.py": "...", "helpers.py": "..."}, "prompts")` writes the files into a new
directory and imports `prompts` through the normal import system, after dropping any earlier
module of the same names. Loading an edited copy under the *same* module names is how "edit the
source, re-import, compare ids" is tested (the name is part of a version, so it must not change).
"""

from __future__ import annotations

import importlib
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.loads = 0
        self.names: set[str] = set()

    def write(self, files: dict[str, str]) -> Path:
        self.loads += 1
        where = self.root / f"load{self.loads}"
        where.mkdir()
        for rel, text in files.items():
            path = where / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return where

    def load(self, files: dict[str, str], main: str, *more: str) -> Any:
        """Import `main` (and `more`) from a fresh copy of `files`; returns the main module."""
        where = self.write(files)
        names = {rel[:-3].replace("/", ".").removesuffix(".__init__") for rel in files if rel.endswith(".py")}
        self.forget(names | self.names)
        self.names |= names
        sys.path.insert(0, str(where))
        importlib.invalidate_caches()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                module = importlib.import_module(main)
                for extra in more:
                    importlib.import_module(extra)
        finally:
            sys.path.remove(str(where))
        return module

    def forget(self, names: set[str]) -> None:
        for name in list(sys.modules):
            if name in names or any(name.startswith(n + ".") for n in names):
                del sys.modules[name]

    def close(self) -> None:
        self.forget(self.names)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    p = Project(tmp_path)
    yield p
    p.close()
