"""Push protection: `ell push`, `ell sync` and the installed pre-push hook refuse to send secrets that
were recorded before redaction or by an older client, here written with plain git by hand; they name
the invocation or version and say how to fix it. And `git config ell.share` decides what leaves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from privacy_tools import ROOT, Project, found_in, git

KEY = "sk-proj-Handwritten1Secret2Abc3Def4"
AWS = "AKIAHANDWRITTEN12345"
LINE = {"id": "inv-00000000000000000000000000000abc", "version_id": "lmp-00000000000000aa", "lmp_name": "old.client",
        "args": {"api_key": KEY}, "messages": [{"role": "user", "content": [{"text": f"use {AWS} please"}]}],
        "outputs": [], "bound_globals": {}, "api_params": {}, "error": None, "started_at": 1.0, "format": 1}


META = json.dumps({"name": "app.f", "version_id": "lmp-0123456789abcdef", "kind": "simple", "format": 1}) + "\n"


def by_hand(repo: Path, ref: str, files: dict[str, str], message: str = "written by an older client") -> str:
    """A commit on `ref` holding `files`, made with git plumbing only (a private index)."""
    env = {"GIT_INDEX_FILE": str(repo / ".git" / "hand-index")}
    for path, text in files.items():
        blob = git(repo, "hash-object", "-w", "--stdin", input=text).stdout.strip()
        git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = git(repo, "write-tree", env=env).stdout.strip()
    (repo / ".git" / "hand-index").unlink()
    parent = git(repo, "rev-parse", "--verify", "-q", ref, check=False).stdout.strip()
    commit = git(repo, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message).stdout.strip()
    git(repo, "update-ref", ref, commit)
    return commit


def hand_written_invocation(project: Project) -> None:
    by_hand(project.path, "refs/ell/inv/0ldc11e47", {
        "2026-01/02/03/04/lmp-00000000000000aa/batch1.jsonl": json.dumps(LINE, sort_keys=True) + "\n"})


def remote_ell_refs(project: Project) -> str:
    return git(project.remote, "for-each-ref", "refs/ell", "refs/notes").stdout


def test_ell_push_refuses_a_hand_written_secret_and_names_the_invocation(project: Project) -> None:
    hand_written_invocation(project)
    proc = project.ell("push", check=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "refused" in err and "inv-00000000000000000000000000000abc of old.client" in err
    assert "api_key" in err and "aws-access-key" in err  # what would be hidden, never the value
    assert KEY not in err and AWS not in err
    assert "ell forget --secrets" in err and "--allow-secrets" in err
    assert remote_ell_refs(project) == "" and found_in(project.remote, KEY, AWS) == []
    sync = project.ell("sync", check=False)
    assert sync.returncode == 1 and "ell sync: refused" in sync.stderr
    assert found_in(project.remote, KEY, AWS) == []
    forced = project.ell("push", "--allow-secrets")
    assert "pushed" in forced.stdout and found_in(project.remote, KEY) == [KEY]


def test_a_hand_written_version_secret_names_the_lmp_and_version(project: Project) -> None:
    closure = 'DB_PASSWORD = "hunter2-is-my-password"\n\ndef f():\n    return DB_PASSWORD\n'
    by_hand(project.path, "refs/ell/lmp/app.f", {"closure.py": closure, "source.py": "def f(): ...\n",
                                                   "meta.json": META},
            message="app.f: new version\n\nEll-Version: lmp-0123456789abcdef\nEll-Lmp: app.f\n")
    err = project.ell("push", check=False).stderr
    assert "LMP app.f, version lmp-0123456789abcdef (closure.py): DB_PASSWORD" in err
    assert found_in(project.remote, "hunter2-is-my-password") == []


def test_only_new_objects_are_checked(project: Project) -> None:
    """What the remote already has is not held against the next push."""
    hand_written_invocation(project)
    project.ell("push", "--allow-secrets")
    project.run('''
        import ell
        ell.init(store=".", autocommit=False)

        @ell.simple(model="gpt-4o-mini")
        def hi(name: str):
            """Be brief."""
            return f"hi {name}"

        hi("Ada")
    ''')
    assert "pushed" in project.ell("push").stdout


@pytest.fixture
def hooked(project: Project) -> Project:
    subprocess.run([sys.executable, "-m", "ell_git.hooks", "install", str(project.path)], check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return project


def test_the_pre_push_hook_keeps_secrets_but_lets_the_branch_go(hooked: Project) -> None:
    hand_written_invocation(hooked)
    proc = git(hooked.path, "push", "origin", "main")
    assert git(hooked.remote, "rev-parse", "main").stdout == git(hooked.path, "rev-parse", "main").stdout
    assert "refused" in proc.stderr and "inv-00000000000000000000000000000abc" in proc.stderr
    assert "ELL_ALLOW_SECRETS=1 git push" in proc.stderr
    assert remote_ell_refs(hooked) == "" and found_in(hooked.remote, KEY, AWS) == []


def test_the_pre_push_hook_refuses_ell_refs_pushed_by_hand(hooked: Project) -> None:
    hand_written_invocation(hooked)
    proc = git(hooked.path, "push", "origin", "refs/ell/inv/0ldc11e47:refs/ell/inv/0ldc11e47", check=False)
    assert proc.returncode != 0 and "git push: refused" in proc.stderr
    assert remote_ell_refs(hooked) == "" and found_in(hooked.remote, KEY, AWS) == []
    git(hooked.path, "push", "origin", "refs/ell/inv/0ldc11e47:refs/ell/inv/0ldc11e47",
        env={"ELL_ALLOW_SECRETS": "1"})
    assert found_in(hooked.remote, KEY) == [KEY]


def test_ell_share_keeps_invocations_local_everywhere(hooked: Project) -> None:
    hooked.run('''
        import ell
        ell.init(store=".", autocommit=False)

        @ell.simple(model="gpt-4o-mini")
        def hi(name: str):
            """Be brief."""
            return f"hi {name}"

        hi("Ada")
        ell.feedback(hi("Bob"), score=1)
    ''')
    git(hooked.path, "config", "ell.share", "versions,evals,feedback")
    assert "This clone does not share its invocations" in hooked.ell("log").stdout
    from webui import create_app

    client = create_app(hooked.path, testing=True).test_client()
    assert client.get("/.json").get_json()["sharing"]["not_shared"] == ["invocations"]
    assert "This clone does not share its invocations" in client.get("/invocations").get_data(as_text=True)
    hooked.ell("push")
    remote = remote_ell_refs(hooked)
    assert "refs/ell/lmp/app.hi" in remote and "refs/notes/ell/feedback" in remote
    assert "refs/ell/inv/" not in remote
    hooked.ell("sync")
    git(hooked.path, "push", "origin", "main")  # the hook pushes what is shared, nothing more
    assert "refs/ell/inv/" not in remote_ell_refs(hooked)
    writer = git(hooked.path, "config", "ell.writerid").stdout.strip()
    by_hand_push = git(hooked.path, "push", "origin", f"refs/ell/inv/{writer}:refs/ell/inv/{writer}", check=False)
    assert by_hand_push.returncode != 0 and "keeps refs/ell/inv/" in by_hand_push.stderr
    git(hooked.path, "-c", "ell.share=all", "push", "origin", f"refs/ell/inv/{writer}:refs/ell/inv/{writer}")
    assert "refs/ell/inv/" in remote_ell_refs(hooked)
    git(hooked.path, "config", "ell.share", "nothing-like-this")
    bad = hooked.ell("push", check=False)
    assert bad.returncode == 1 and "is not one of versions, invocations, evals, feedback" in bad.stderr
