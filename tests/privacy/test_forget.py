"""`ell forget`: "a customer asked us to delete their data". Invocations are erased from this clone's
ell refs (with their feedback), nothing of the user's moves, the printed force pushes erase them on
the remote, and after the remote's `git gc --prune=now` no object there holds them."""

from __future__ import annotations

import json
import shlex

import pytest
from privacy_tools import Project, found_in, git, user_state

from test_push_protection import AWS, KEY, hand_written_invocation

PROGRAM = '''
import ell
ell.init(store=".", autocommit=False)


@ell.simple(model="gpt-4o-mini")
def support(customer: str, question: str):
    """You answer support questions."""
    return f"Customer {customer} asks: {question}"


def length(datapoint, output):
    return float(len(output))


for who, question in [("alice@example.com", "where is my order 1234?"), ("bob@example.org", "refund please"),
                      ("carol@example.net", "change my address")]:
    out = support(who, question)
    ell.feedback(out, score=-1, comment=f"{who} was unhappy")
ell.feedback(out, score=1, comment="carol is alice@example.com's sister")  # on carol's call
ell.Evaluation("support", dataset=[{"input": ["dave@example.com", "status?"]}], metrics={"len": length}).run(support)
'''


def _ids(project: Project, q: str | None = None) -> list[str]:
    args = ["invocations", "--json", "--limit", "100"] + (["-q", q] if q else [])
    return [r["id"] for r in json.loads(project.ell(*args).stdout)["items"]]


@pytest.fixture
def recorded(project: Project) -> Project:
    project.run(PROGRAM)
    project.ell("push")
    assert found_in(project.remote, "alice@example.com")
    return project


def test_forget_by_text_then_push_leaves_no_trace_on_the_remote(recorded: Project) -> None:
    project = recorded
    before = user_state(project.path)
    assert len(_ids(project, "alice@example.com")) == 1

    proc = project.ell("forget", "--match", "ALICE@example.com", "--prune")
    assert "forgot 1 invocation;" in proc.stdout
    commands = [l.strip() for l in proc.stdout.splitlines() if l.strip().startswith("git push")]
    assert len(commands) == 1 and "--force-with-lease=refs/ell/inv/" in commands[0] and " origin " in commands[0]

    # This clone: gone from every view, and (after --prune) from every object; nothing of the user's moved.
    assert _ids(project, "alice") == [] and len(_ids(project)) == 3  # bob, carol and the evaluation's call
    assert found_in(project.path, "alice@example.com") == []
    assert user_state(project.path) == before
    feedback = git(project.path, "log", "--notes=ell/feedback", "--glob=refs/ell/lmp/*").stdout
    assert "bob@example.org was unhappy" in feedback and "carol@example.net was unhappy" in feedback
    assert "alice" not in feedback  # neither the feedback on her call nor the comment naming her

    # Pushing before the force pushes are done would bring it back: refused, with the command.
    refused = project.ell("push", check=False)
    assert refused.returncode == 1 and commands[0] in refused.stderr
    git(project.path, *shlex.split(commands[0])[1:])
    project.ell("sync")  # now it goes through, and pulls nothing back
    assert _ids(project, "alice") == []

    clone = project.path.parent / "clone"
    # --no-local: through git's transport, so only what the remote's refs reach is copied
    git(project.path.parent, "clone", "-q", "--mirror", "--no-local", str(project.remote), str(clone))
    assert found_in(clone, "alice@example.com") == []  # nothing reachable on the remote holds it
    git(project.remote, "gc", "--quiet", "--prune=now")
    assert found_in(project.remote, "alice@example.com") == []  # nor any object, once it is collected
    assert found_in(project.remote, "bob@example.org") == ["bob@example.org"]


def test_forget_by_id_lmp_version_and_time(project: Project) -> None:
    project.run(PROGRAM)
    ids = _ids(project)
    assert len(ids) == 4
    evaluated = _ids(project, "dave@example.com")
    out = project.ell("forget", "--invocation", *evaluated, "--dry-run").stdout
    assert "would forget 1 invocation" in out and _ids(project) == ids  # a dry run changes nothing
    project.ell("forget", "--invocation", *evaluated)
    assert _ids(project) == [i for i in ids if i not in evaluated]
    results = git(project.path, "show", "refs/ell/eval/support:results.jsonl").stdout
    assert '"output":"<forgotten>"' in results and "dave" not in results
    missing = project.ell("forget", "--invocation", evaluated[0], check=False)  # already forgotten
    assert missing.returncode == 1 and "no invocation" in missing.stderr and len(_ids(project)) == 3
    assert "forgot 0 invocations" in project.ell("forget", "--before", "2000-01-01").stdout
    project.ell("forget", "--lmp", "app.support", "--version", "v1", "--after", "2000-01-01")
    assert _ids(project) == []
    nothing = project.ell("forget", check=False)
    assert nothing.returncode == 1 and "nothing to forget" in nothing.stderr


def test_forget_secrets_replaces_them_and_the_push_goes_through(project: Project) -> None:
    hand_written_invocation(project)
    project.ell("push", "--allow-secrets")  # sent before push protection was asked
    assert found_in(project.remote, KEY)
    before = user_state(project.path)
    out = project.ell("forget", "--secrets").stdout
    assert "forgot 0 invocations; replaced secrets in 1 record" in out
    command = next(l.strip() for l in out.splitlines() if l.strip().startswith("git push"))
    git(project.path, *shlex.split(command)[1:])
    line = git(project.path, "show", "refs/ell/inv/0ldc11e47:2026-01/02/03/04/lmp-00000000000000aa/batch1.jsonl").stdout
    record = json.loads(line)
    assert record["args"]["api_key"] == "<redacted:api_key>"
    assert record["messages"][0]["content"][0]["text"] == "use <redacted:aws-access-key> please"
    project.ell("push")  # no longer refused
    git(project.remote, "gc", "--quiet", "--prune=now")
    assert found_in(project.remote, KEY, AWS) == []
    assert user_state(project.path) == before
