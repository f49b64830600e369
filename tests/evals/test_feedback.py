"""`ell.feedback` from code: what it accepts, where the git store keeps it (a note on the version's
commit), and how the reader aggregates and filters by it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ell
from ell_git import Reader
from evaltools import DOCS, git, load_version, note_lines


@ell.simple(model="gpt-4o-mini")
def capital(country: str):
    """Answer with the city name only."""
    return f"What is the capital of {country}?"


@ell.complex(model="gpt-4o-mini")
def capital_message(country: str):
    """Answer with the city name only."""
    return [ell.user(f"What is the capital of {country}?")]


def test_feedback_in_memory(memory: ell.MemoryStore) -> None:
    paris = capital("France")
    record = ell.feedback(paris, score=1, comment="  right  ", labels=["geo", "short"])
    assert record.invocation_id == memory.invocations[-1].id and record.score == 1.0
    assert record.comment == "right" and record.labels == {"geo": True, "short": True}
    assert record.version_id == ell.version_of(capital) and record.source == "code"
    message = capital_message("Italy")
    assert ell.feedback(message, score=-0.5).invocation_id == message._origin
    assert ell.feedback(memory.invocations[0].id, labels={"tone": "dry"}).labels == {"tone": "dry"}
    assert ell.feedback(paris, score=False).score == -1.0
    assert len(memory.feedback) == 4


@pytest.mark.parametrize("target, kwargs, error, match", [
    ("France", {"score": 1}, ValueError, "not an invocation id"),
    ("inv-00000000000000000000000000000000", {"score": 1}, LookupError, "no invocation"),
    (None, {"score": 1}, TypeError, "lstr or Message"),
    ("__paris__", {"score": float("nan")}, ValueError, "finite"),
    ("__paris__", {"score": "great"}, TypeError, "number"),
    ("__paris__", {}, ValueError, "needs a score, a comment or labels"),
    ("__both__", {"score": 1}, ValueError, "not exactly one"),
])
def test_feedback_errors_say_what_to_do(memory: ell.MemoryStore, target: Any, kwargs: dict[str, Any],
                                        error: type[Exception], match: str) -> None:
    paris, rome = capital("France"), capital("Italy")
    target = {"__paris__": paris, "__both__": paris + rome}.get(target, target) if isinstance(target, str) else target
    with pytest.raises(error, match=match):
        ell.feedback(target, **kwargs)


def test_feedback_needs_a_store_that_keeps_it(fake: Any) -> None:
    ell.init(default_client=fake.client(max_retries=0))
    ell.set_store(None)
    with pytest.raises(RuntimeError, match="ell.init"):
        ell.feedback("inv-0123456789abcdef", score=1)

    class Minimal:
        def record_version(self, v: Any) -> None: ...
        def record_invocation(self, i: Any) -> None: ...
        def flush(self, timeout: Any = None) -> None: ...
        def close(self) -> None: ...

    ell.set_store(Minimal())
    with pytest.raises(TypeError, match="does not keep feedback"):
        ell.feedback("inv-0123456789abcdef", score=1)


def test_feedback_in_git_is_a_note_on_the_version(git_store: Any, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    mod = load_version(tmp_path / "src", DOCS[1])
    paris = mod.capital("France")
    rome = mod.capital("Italy")
    first = ell.feedback(paris, score=1, comment="right")  # right after the call: still queued, flushed first
    ell.feedback(rome, score=-1, comment="too terse")
    ell.feedback(rome, score=1)  # changed my mind: the newest judgement of this writer counts
    git_store.flush()
    tips = git(repo, "for-each-ref", "--format=%(objectname)", "refs/ell/lmp/evalfix_prompts.capital").split()
    reader = Reader(repo)
    version = reader.version("evalfix_prompts.capital")
    assert tips == [version.commit]  # feedback never touched the version ref
    lines = note_lines(repo, "ell/feedback", version.commit)
    assert [l["inv"] for l in lines] == [first.invocation_id, *(2 * [next(iter(rome.__origin_trace__))])]
    assert lines[0] == {"id": first.id, "inv": first.invocation_id, "score": 1.0, "comment": "right", "labels": {},
                        "source": "code", "t": first.created_at, "lmp": "evalfix_prompts.capital",
                        "version": version.version_id, "by": git_store.writer_id, "author": "ell tests", "format": 1}
    shown = git(repo, "log", "--notes=ell/feedback", "--glob=refs/ell/lmp/*")
    assert "Notes (ell/feedback):" in shown and '"comment":"too terse"' in shown

    rome_id = lines[1]["inv"]
    summary = reader.notes.feedback(rome_id)
    assert (summary["up"], summary["down"], summary["score"], summary["count"], summary["comments"]) == (1, 0, 1.0, 2, 1)
    assert [r.id for r in reader.notes.invocations_with_feedback("up").items] == [rome_id, first.invocation_id]
    assert reader.notes.invocations_with_feedback("down").total == 0
    assert [r.id for r in reader.notes.invocations_with_feedback("comment", q="ital").items] == [rome_id]
    assert reader.notes.invocations_with_feedback("any", lmp="other.lmp").total == 0
    with pytest.raises(ValueError, match="feedback filter"):
        reader.notes.invocations_with_feedback("sideways")


def test_unknown_invocation_in_git(git_store: Any) -> None:
    with pytest.raises(LookupError, match="inv-0123456789abcdef"):
        ell.feedback("inv-0123456789abcdef", score=1)
