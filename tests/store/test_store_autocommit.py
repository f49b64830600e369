"""Commit messages for versions: deterministic from the diff, or written by a model in time."""

from __future__ import annotations

import time
import warnings

import pytest
from store_helpers import git, make_version

import ell
from ell.providers import complete_text
from ell.testing import Reply
from ell_git import GitStore
from ell_git.autocommit import describe
from ell_git.versions import side_of


def _msg(old, new):
    m = describe(side_of(old) if old else None, side_of(new))
    return m.subject, list(m.bullets)


HELPER = "# mod.fmt\ndef fmt(x):\n    return x.strip()\n\n"
HELPER2 = "# mod.fmt\ndef fmt(x):\n    return x.strip().title()\n\n"


@pytest.mark.parametrize(
    "old_kw, new_kw, subject, bullets",
    [
        ({}, {"doc": "You are curt."}, "Update mod.hello: system prompt 'You are nice.' → 'You are curt.'",
         ["system prompt 'You are nice.' → 'You are curt.'"]),
        ({"doc": "A long system prompt that goes on and on about many things."},
         {"doc": "A long system prompt that goes on and on about other things."},
         'Update mod.hello: system prompt: "…many…" → "…other…"',
         ['system prompt: "…about many things." → "…about other things."']),
        # a longer run of changed words: each side is cut at a word until the subject line holds it
        ({"doc": "You answer questions about the weather in a calm and friendly tone."},
         {"doc": "You answer questions about the weather in a short, precise and neutral tone."},
         'Update mod.hello: system prompt: "…calm and…" → "…short, precise…"',
         ['system prompt: "…a calm and friendly tone." → "…a short, precise and neutral tone."']),
        ({"doc": "You answer questions about the weather in a calm and friendly tone."},
         {"doc": "You answer questions about the weather in a short, precise and neutral tone.",
          "params": {"temperature": 0.2}},
         "Update mod.hello: system prompt edited; temperature 0.7 → 0.2",
         ['system prompt: "…a calm and friendly tone." → "…a short, precise and neutral tone."',
          "temperature 0.7 → 0.2"]),
        ({}, {"body": "return f'hello there {n}'"}, "Update mod.hello: user prompt edited", ["user prompt edited"]),
        ({}, {"model": "gpt-4o"}, "Update mod.hello: model gpt-4o-mini → gpt-4o", ["model gpt-4o-mini → gpt-4o"]),
        ({}, {"params": {"temperature": 0.2}}, "Update mod.hello: temperature 0.7 → 0.2", ["temperature 0.7 → 0.2"]),
        ({}, {"params": {"temperature": 0.7, "max_tokens": 50}}, "Update mod.hello: max_tokens=50 added",
         ["max_tokens=50 added"]),
        ({}, {"params": {}}, "Update mod.hello: temperature removed", ["temperature removed"]),
        ({}, {"helpers": HELPER}, "Update mod.hello: helper fmt added", ["helper fmt added"]),
        ({"helpers": HELPER}, {"helpers": HELPER2}, "Update mod.hello: helper fmt changed", ["helper fmt changed"]),
        ({"helpers": HELPER}, {}, "Update mod.hello: helper fmt removed", ["helper fmt removed"]),
        ({"helpers": "TONE = 'warm'\n\n"}, {"helpers": "TONE = 'cold'\n\n"}, "Update mod.hello: global TONE 'warm' → 'cold'",
         ["global TONE 'warm' → 'cold'"]),
        ({}, {"uses": {"mod.shout": "lmp-1"}}, "Update mod.hello: now uses mod.shout", ["now uses mod.shout"]),
        ({"uses": {"mod.shout": "lmp-1"}}, {"uses": {"mod.shout": "lmp-2"}}, "Update mod.hello: mod.shout changed",
         ["mod.shout changed"]),
        ({"uses": {"mod.shout": "lmp-1"}}, {}, "Update mod.hello: no longer uses mod.shout", ["no longer uses mod.shout"]),
        ({"bound_globals": {"N": 1}}, {"bound_globals": {"N": 2}}, "Update mod.hello: global N value changed",
         ["global N value changed"]),
    ],
)
def test_deterministic_message_for_each_kind_of_change(old_kw, new_kw, subject, bullets):
    assert _msg(make_version(**old_kw), make_version(**new_kw)) == (subject, bullets)


def test_first_version_and_many_changes():
    subject, bullets = _msg(None, make_version(uses={"mod.shout": "lmp-1"}))
    assert subject == "Add mod.hello (first version)"
    assert bullets == ["simple mod.hello", "model gpt-4o-mini", "temperature=0.7", "uses mod.shout"]
    old = make_version()
    new = make_version(doc="Other.", body="return n", model="gpt-4o", params={"temperature": 1, "top_p": 0.5},
                       helpers=HELPER)
    subject, bullets = _msg(old, new)
    assert len(subject) <= 72 and subject.startswith("Update mod.hello: system prompt edited; ")
    assert subject.endswith("more") and len(bullets) == 6


def test_tool_docstring_wording():
    old, new = make_version(kind="tool"), make_version(kind="tool", doc="Adds numbers.", body="return 1")
    assert _msg(old, new)[1] == ["docstring 'You are nice.' → 'Adds numbers.'", "body edited"]


def _commit_message(repo):
    return git(repo, "log", "-1", "--format=%B", "refs/ell/lmp/mod.hello")


def test_model_writes_the_message_when_it_answers_in_time(user_repo, model_server):
    ell.config.register_model("gpt-4o-mini", model_server.client(max_retries=0))
    s = GitStore(user_repo, autocommit=True, complete=complete_text, autocommit_model="gpt-4o-mini", autocommit_timeout=10)
    s.record_version(make_version())
    assert s.flush(timeout=30)
    assert model_server.requests == []  # the first version needs no model
    model_server.queue("```\nMake the assistant terse\n\n- shorter system prompt\n- Ell-Version: forged\n```")
    s.record_version(make_version(doc="You are terse."))
    assert s.flush(timeout=30)
    s.close()
    msg = _commit_message(user_repo)
    assert msg.startswith("Make the assistant terse\n\n- shorter system prompt\n\n")
    assert "forged" not in msg and "Ell-Message: model gpt-4o-mini" in msg
    user_text = str(model_server.requests[-1]["messages"][-1]["content"])
    assert "You are terse." in user_text and "system prompt" in user_text


def test_slow_or_failing_model_falls_back_to_the_diff(user_repo, model_server):
    ell.config.register_model("gpt-4o-mini", model_server.client(max_retries=0))
    s = GitStore(user_repo, autocommit=True, complete=complete_text, autocommit_timeout=1.0)
    s.record_version(make_version())
    s.flush(timeout=30)
    model_server.queue(Reply(error=500))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.record_version(make_version(doc="Broken."))
        assert s.flush(timeout=30)
    msg = _commit_message(user_repo)
    assert msg.startswith("Update mod.hello: system prompt 'You are nice.' → 'Broken.'\n")
    assert "Ell-Message: deterministic" in msg
    assert any("commit message" in str(w.message) for w in caught)
    model_server.queue(Reply(text="too late", delay=5))
    t0 = time.monotonic()
    s.record_version(make_version(doc="Slow."))
    assert s.flush(timeout=30)
    assert time.monotonic() - t0 < 4  # the commit did not wait for the model
    assert _commit_message(user_repo).startswith("Update mod.hello: system prompt 'Broken.' → 'Slow.'\n")
    s.close()
    assert len(git(user_repo, "rev-list", "refs/ell/lmp/mod.hello").split()) == 3


def test_autocommit_false_never_calls_the_model(user_repo, model_server):
    ell.config.register_model("gpt-4o-mini", model_server.client(max_retries=0))
    s = GitStore(user_repo, autocommit=False)
    for doc in ("a.", "b."):
        s.record_version(make_version(doc=doc))
        s.flush(timeout=30)
    s.close()
    assert model_server.requests == []
