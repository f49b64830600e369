"""Ids are the same across processes, hash seeds, import orders, entry points and Pythons."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CASES = Path(__file__).parent / "cases"  # helpers.py, prompts.py (the program), runner.py
LMPS = ("top", "left", "right", "leaf", "lookup", "ping", "pong")


def write_program(where: Path) -> Path:
    for name in ("helpers.py", "prompts.py", "runner.py"):
        shutil.copy(CASES / name, where / name)
    return where


def run(where: Path, args: list[str], *, seed: str = "0", python: str = sys.executable) -> dict:
    env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=os.pathsep.join([str(where), str(REPO)]),
               PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([python, *args], cwd=where, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    return write_program(tmp_path_factory.mktemp("program"))


@pytest.fixture(scope="module")
def reference(program) -> dict:
    return run(program, ["runner.py", "prompts", ",".join(LMPS)])


def test_reference_is_sane(reference):
    assert set(reference) == set(LMPS)
    top = reference["top"]
    assert top[0] == "prompts.top"
    assert sorted(top[2]) == sorted([reference["left"][1], reference["right"][1], reference["lookup"][1]])
    assert reference["ping"][2] == [reference["pong"][1]] and reference["pong"][2] == [reference["ping"][1]]
    assert reference["right"][4] == ["STOP"]  # a mutable set: snapshotted, not hashed
    assert len({v[1] for v in reference.values()}) == len(LMPS)


@pytest.mark.slow
@pytest.mark.parametrize("seed", ["0", "1", "12345", str(random.randrange(2**32))])
def test_hash_seed_does_not_matter(program, reference, seed):
    assert run(program, ["runner.py", "prompts", ",".join(LMPS)], seed=seed) == reference


@pytest.mark.slow
@pytest.mark.parametrize(
    "modules,order",
    [
        ("helpers,prompts", ",".join(reversed(LMPS))),
        ("prompts", "pong,leaf,top,ping,lookup,right,left"),
        ("helpers,prompts", "lookup,ping,left,top,right,pong,leaf"),
    ],
)
def test_import_and_versioning_order_do_not_matter(program, reference, modules, order):
    assert run(program, ["runner.py", modules, order], seed="random") == reference


@pytest.mark.slow
def test_running_as_a_script_gives_the_imported_names_and_ids(program, reference):
    as_script = run(program, ["prompts.py"], seed="7")
    assert as_script == {k: v[:3] for k, v in reference.items()}


def _other_pythons() -> list[str]:
    """Interpreters named in ELL_TEST_PYTHONS (os.pathsep-separated) that can import ell's deps."""
    found = []
    for python in filter(None, os.environ.get("ELL_TEST_PYTHONS", "").split(os.pathsep)):
        exe = shutil.which(python) or python
        probe = subprocess.run([exe, "-c", "import libcst, orjson, pydantic, openai"], capture_output=True)
        if probe.returncode == 0:
            found.append(exe)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("python", _other_pythons() or [pytest.param(None, marks=pytest.mark.skip(
    reason="set ELL_TEST_PYTHONS to interpreters (e.g. 3.12, 3.13) with libcst, orjson, pydantic, openai"))])
def test_other_python_versions_give_the_same_ids(program, reference, python):
    assert run(program, ["runner.py", "prompts", ",".join(LMPS)], python=python) == reference
