"""`import ell` is cheap, so the store's writer process imports it honestly; `ell_git` reaches
`ell` only for records, types, redaction and the store protocol (a model call is passed in)."""

from __future__ import annotations

import subprocess
import sys


def _run(script: str) -> None:
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_import_ell_loads_neither_pydantic_nor_openai():
    _run("""
import sys
import ell, ell.records
heavy = [m for m in ("pydantic", "openai", "ell.types", "ell.configurator") if m in sys.modules]
assert not heavy, heavy
assert ell.Message.__module__ == "ell.types.message"  # and the public names still resolve
""")


def test_the_writer_process_imports_no_framework():
    _run("""
import sys
from ell_git import writer_child, versions, writer, batch, writer_process  # what its main imports
import ell_git.store
heavy = [m for m in ("pydantic", "openai", "ell.configurator", "ell.providers", "ell.lmp") if m in sys.modules]
assert not heavy, heavy
""")
