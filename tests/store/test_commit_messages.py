"""Issue 17, item 5: word-level prompt edits in messages, model replies accepted only when they
summarise the change, and a notice that autocommit sends code to the model."""

from __future__ import annotations

import threading
import warnings

import pytest
from store_helpers import git, make_version

import ell
from ell.providers import complete_text
from ell_git import GitStore, autocommit, versions
from ell_git.versions import side_of

LONG = "You sort support tickets. Answer with one category from the list you are given."
LONGER = "You sort support tickets. Answer with exactly one category, lower-case, from the list you are given."


def _describe(old_kw, new_kw):
    return autocommit.describe(side_of(make_version(**old_kw)), side_of(make_version(**new_kw)))


def test_long_system_prompt_edit_names_the_changed_words():
    m = _describe({"doc": LONG}, {"doc": LONGER})
    assert m.bullets == ('system prompt: "…with one category from…" → "…with exactly one category, lower-case, from…"',)
    # a subject holds the changed words, each side cut at a word until the line holds them
    assert m.subject == 'Update mod.hello: system prompt: "…one category…" → "…exactly one…"'
    m = _describe({"doc": LONG}, {"doc": LONG.replace("one category", "a category")})
    assert m.subject == 'Update mod.hello: system prompt: "…one…" → "…a…"'
    # bounded: a rewrite is cut, and further edits are counted, not listed
    m = _describe({"doc": LONG}, {"doc": "Completely different. " * 20})
    (bullet,) = m.bullets
    assert bullet.startswith('system prompt: "') and len(bullet) < 160
    m = _describe({"doc": "a b c d e f g h i j k l m n o p q r s t u v w x y z"},
                  {"doc": "a B c d e f g h i j k l m n o p q r s t u v w x Y z"})
    assert m.bullets == ('system prompt: "a b c…" → "a B c…" and 1 more edit',)
    # whitespace only
    assert _describe({"doc": LONG}, {"doc": LONG.replace(". ", ".  ")}).bullets == ("system prompt edited",)


def _judge(reply: str, old_kw=None, new_kw=None):
    old, new = side_of(make_version(**(old_kw or {}))), side_of(make_version(**(new_kw or {"doc": "You are terse."})))
    fallback = autocommit.describe(old, new)
    return autocommit.model_message(old, new, fallback, lambda *a, **k: reply, "m", 1)


@pytest.mark.parametrize("reply", [
    "Make the assistant terse",
    "Make replies terse\n\n- system prompt now asks for terse answers",
])
def test_model_summaries_are_accepted(reply):
    assert _judge(reply) is not None


@pytest.mark.parametrize("reply", [
    "Echo: Prompt program: mod.hello\nDetected changes: system prompt 'You are nice.' → 'You are terse.'",
    "Sure! Here is a commit message for the terse change",
    "I cannot see the terse change",
    "Prompt program: mod.hello",
    "Make the assistant terse, which is a change to the system prompt of the mod.hello program that we made",
    "Make the assistant terse\n\n@@ -1 +1 @@\n-You are nice.\n+You are terse.",
    "Make the assistant terse\n\n" + "\n".join(f"- point {i} terse" for i in range(10)),
    "Improve error handling in the database layer",
])
def test_replies_that_are_no_summary_of_this_change_are_refused(reply):
    assert _judge(reply) is None


def _message(repo):
    return git(repo, "log", "-1", "--format=%B", "refs/ell/lmp/mod.hello")


def test_the_offline_servers_echo_never_becomes_a_commit_message(user_repo, model_server, monkeypatch):
    monkeypatch.setattr(versions, "_told", threading.Event(), raising=False)
    ell.config.register_model("gpt-4o-mini", model_server.client(max_retries=0))
    s = GitStore(user_repo, autocommit=True, complete=complete_text, autocommit_model="gpt-4o-mini", autocommit_timeout=10)
    s.record_version(make_version())
    assert s.flush(timeout=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.record_version(make_version(doc="You are terse."))  # nothing queued: the server echoes
        assert s.flush(timeout=30)
    s.close()
    assert model_server.requests  # the model was asked ...
    msg = _message(user_repo)  # ... and its echo refused
    assert "Echo" not in msg and "Ell-Message: deterministic" in msg
    assert msg.startswith("Update mod.hello: system prompt 'You are nice.' → 'You are terse.'\n")


def test_sending_code_to_the_model_is_said_once_per_process(user_repo, model_server, monkeypatch):
    monkeypatch.setattr(versions, "_told", threading.Event(), raising=False)
    ell.config.register_model("gpt-4o-mini", model_server.client(max_retries=0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = GitStore(user_repo, autocommit=False)
        for doc in ("a.", "b."):
            s.record_version(make_version(doc=doc))
            assert s.flush(timeout=30)
        s.close()
        assert not [w for w in caught if "closure diff" in str(w.message)]  # no model asked, nothing said
        for n in range(2):  # two stores, two versions each: one notice
            s = GitStore(user_repo, autocommit=True, complete=complete_text, autocommit_timeout=10)
            for doc in (f"c{n}.", f"d{n}."):
                model_server.queue("Make the assistant terse")
                s.record_version(make_version(doc=doc))
                assert s.flush(timeout=30)
            s.close()
    said = [str(w.message) for w in caught if "closure diff" in str(w.message)]
    assert len(said) == 1 and "gpt-4o-mini" in said[0] and "ell.init(autocommit=False)" in said[0]
    assert len(model_server.requests) >= 3
