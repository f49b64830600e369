"""Helpers for the evaluation tests: prompt modules loaded in several versions, a deterministic fake
model for capitals and critics, git plumbing, and a repository with evaluations for the web tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import ell
from user_module import import_version

MODULE = "evalfix_prompts"

CAPITALS = {"France": "Paris", "Italy": "Rome", "Spain": "Madrid", "Japan": "Tokyo"}
DATASET = [{"input": [country], "expected": city} for country, city in CAPITALS.items()] + [
    {"input": {"country": "Atlantis"}, "expected": "Poseidonia"}]

_SOURCE = '''
import ell


@ell.simple(model="gpt-4o-mini")
def capital(country: str):
    """{doc}"""
    return f"What is the capital of {{country}}?"


@ell.simple(model="gpt-4o-mini", temperature=0.0)
def critic(answer: str):
    """{critic_doc}"""
    return f"Rate this answer: {{answer}}"


def correct(datapoint, output):
    return float(datapoint["expected"].lower() in output.lower())


def graded(datapoint, output):
    reply = critic(output)
    return float(reply.split("Score:")[1].strip())
'''

#: System prompts of `capital`: v1 answers in lower case; v2 ("Answer with the city") correctly.
DOCS = ("You answer geography questions.", "Answer with the city name only.")
CRITIC_DOC = "You rate answers from 0 to 10. Reply 'Score: <n>'."


def load_version(workdir: Path, doc: str, critic_doc: str = CRITIC_DOC) -> ModuleType:
    """The prompts module with `capital`'s system prompt `doc`, imported from its own file under the
    same module name (as a user editing the file gets successive versions)."""
    return import_version(workdir, MODULE, _SOURCE.format(doc=doc, critic_doc=critic_doc))


def last_user(request: dict[str, Any]) -> str:
    content = request["messages"][-1]["content"]
    return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)


def system(request: dict[str, Any]) -> str:
    first = request["messages"][0]
    return first["content"] if first["role"] == "system" else ""


def fake_model(request: dict[str, Any]) -> str:
    """Deterministic answers: a critic scores by answer length; `capital` v1 misses Tokyo and
    Atlantis, v2 misses only Atlantis; anything else echoes."""
    text = last_user(request)
    if text.startswith("Rate this answer: "):
        return f"Score: {min(len(text) - len('Rate this answer: '), 10)}"
    for country, city in CAPITALS.items():
        if country in text:
            if country == "Japan" and "city name only" not in system(request):
                return "Kyoto"
            return city
    if "Atlantis" in text:
        return "Unknown"
    return "Echo: " + text


def git(path: Path | str, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def note_lines(path: Path | str, ref: str, target: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in git(path, "notes", f"--ref={ref}", "show", target).splitlines() if line]


def evaluation(name: str = "capitals", mod: ModuleType | None = None, **kw: Any) -> ell.Evaluation:
    metrics = {"correct": mod.correct} if mod is not None else {"correct": lambda dp, out: float(dp["expected"] in out)}
    return ell.Evaluation(name, dataset=DATASET, metrics=metrics, criterion=lambda dp, out: len(out) < 10, **kw)


def build_repo(repo: Path, workdir: Path) -> dict[str, Any]:
    """A repository with two versions of `capital`, an evaluation run on each, and one run of a
    model-graded evaluation: what the web and export tests read. (Its own model server, so that
    scripting it never disturbs the per-test one.)"""
    from ell.testing import serve

    saved = (ell.config.default_client, ell.config.autocommit)
    facts: dict[str, Any] = {"runs": {}}
    with serve() as server:
        server.script(fake_model)
        _build(repo, server, workdir, facts)
    ell.config.default_client, ell.config.autocommit = saved
    return facts


def _build(repo: Path, server: Any, workdir: Path, facts: dict[str, Any]) -> None:
    try:
        ell.init(store=str(repo), default_client=server.client(max_retries=0, timeout=10), autocommit=False)
        for n, doc in enumerate(DOCS, 1):
            mod = load_version(workdir, doc)
            run = evaluation(mod=mod).run(mod.capital, n_workers=2)
            facts["runs"][f"v{n}"] = run.id
            facts[f"v{n}"] = run.version_id
            facts[f"outputs_v{n}"] = list(run.results.outputs)
            facts[f"invocations_v{n}"] = list(run.invocation_ids.outputs)
        graded = ell.Evaluation("graded", dataset=DATASET[:2], metrics={"graded": mod.graded})
        facts["runs"]["graded"] = graded.run(mod.capital).id
        facts["lmp"] = f"{MODULE}.capital"
        ell.get_store().flush()
    finally:
        ell.set_store(None)
        sys.modules.pop(MODULE, None)
