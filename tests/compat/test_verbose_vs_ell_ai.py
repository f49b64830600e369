"""`verbose=True` shows at least what ell-ai 0.0.17 shows: the same public programs run under both, and
every word of every message ell-ai prints (and every LMP name) is in our output too.

Needs a Python with ell-ai 0.0.17: ELL_AI_PYTHON, else bench/.venv-peer/bin/python; skipped without.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from peer import MISSING, ell_ai_python, program_env

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = Path(__file__).resolve().parent / "programs"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WORD = re.compile(r"[A-Za-z0-9_]+")
# ell-ai prints tool calls and results as reprs; these words are its repr's, not the conversation's.
ELL_AI_REPR_WORDS = {"ToolCall", "ToolResult", "tool_call_id", "ChatCompletionMessageFunctionToolCall", "Function",
                     "function", "arguments", "name", "type", "id"}


ELL_AI_PYTHON = ell_ai_python()


def _run(python: str, program: Path, workdir: Path, server_env: dict[str, str]) -> str:
    workdir.mkdir(parents=True)
    env = program_env(python, server_env)
    env["COLUMNS"] = "200"  # wide: no word is broken by wrapping
    done = subprocess.run([python, str(program)], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{python} {program.name}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return ANSI.sub("", done.stdout)


def _shown_by_ell_ai(out: str) -> tuple[set[str], set[str]]:
    """(LMP names in box headers, words of the message lines) of ell-ai's verbose output."""
    names = {m.group(1) for m in re.finditer(r"^║ (\w+)\(", out, re.M)}
    words = {w for line in out.splitlines() if line.startswith("│") for w in WORD.findall(line[1:])}
    return names, words - ELL_AI_REPR_WORDS


@pytest.mark.skipif(ELL_AI_PYTHON is None, reason=MISSING)
@pytest.mark.parametrize("program", ["chat_history.py", "diamond_dependencies.py", "tool_chatbot_store.py"])
def test_we_show_everything_ell_ai_shows(program: str, model_server, tmp_path):
    assert ELL_AI_PYTHON is not None
    theirs = _run(ELL_AI_PYTHON, PROGRAMS / program, tmp_path / "ell-ai", model_server.env())
    model_server.reset()  # the same request numbers, so the same tool call ids
    ours = _run(sys.executable, PROGRAMS / program, tmp_path / "ours", model_server.env())

    names, words = _shown_by_ell_ai(theirs)
    assert names and len(words) > 10, f"ell-ai printed no conversation:\n{theirs[:2000]}"
    our_names = set(re.findall(r"║ (\w+)\(", ours))
    assert names <= our_names, f"LMPs ell-ai shows and we do not: {names - our_names}"
    missing = words - set(WORD.findall(ours))
    assert not missing, f"words ell-ai shows and we do not: {sorted(missing)}\n--- ours ---\n{ours[:4000]}"
    assert ours.count("║ Output:") >= theirs.count("║ Output:")
