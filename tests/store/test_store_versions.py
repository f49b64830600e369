"""Version commits as plain git sees them: refs, trees, messages, trailers, idempotency."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from store_helpers import git, make_version, python_env

from ell_git import GitStore, escape_name


def _trailers(repo, ref: str, key: str) -> list[str]:
    out = git(repo, "log", "-1", f"--format=%(trailers:key={key},valueonly,separator=%x0a)", ref)
    return [x for x in out.splitlines() if x]


def test_version_commit_tree_message_and_trailers(store, user_repo):
    helper = make_version(name="mod.shout", doc="Shout.")
    v = make_version(uses={"mod.shout": helper.version_id})
    store.record_version(helper)
    store.record_version(v)
    assert store.flush(timeout=30)
    ref = "refs/ell/lmp/mod.hello"
    assert git(user_repo, "for-each-ref", "--format=%(refname)", "refs/ell/lmp/").split() == [
        "refs/ell/lmp/mod.hello", "refs/ell/lmp/mod.shout"]
    assert sorted(git(user_repo, "ls-tree", "--name-only", ref).split()) == ["closure.py", "meta.json", "source.py"]
    assert git(user_repo, "show", f"{ref}:closure.py") == v.closure
    assert git(user_repo, "show", f"{ref}:source.py") == v.source
    meta = json.loads(git(user_repo, "show", f"{ref}:meta.json"))
    assert meta["version_id"] == v.version_id and meta["name"] == "mod.hello" and meta["format"] == 1
    assert meta["api_params"] == {"temperature": 0.7} and meta["uses"] == [helper.version_id]
    assert git(user_repo, "log", "-1", "--format=%s", ref).strip() == "Add mod.hello (first version)"
    assert _trailers(user_repo, ref, "Ell-Version") == [v.version_id]
    assert _trailers(user_repo, ref, "Ell-Lmp") == ["mod.hello"]
    assert _trailers(user_repo, ref, "Ell-Model") == ["gpt-4o-mini"]
    assert _trailers(user_repo, ref, "Ell-Uses") == [f"{helper.version_id} (mod.shout)"]
    assert _trailers(user_repo, ref, "Ell-Format") == ["1"]
    head = git(user_repo, "rev-parse", "HEAD").strip()
    assert _trailers(user_repo, ref, "Ell-Code-Commit") == [f"{head} (dirty)"]  # the fixture's tree is dirty
    # git's own trailer parser agrees with ours
    parsed = git(user_repo, "log", "-1", "--format=%B", ref)
    keys = subprocess.run(["git", "interpret-trailers", "--parse"], input=parsed, capture_output=True, text=True).stdout
    assert "Ell-Version: " + v.version_id in keys


def test_new_version_is_child_with_change_subject(store, user_repo):
    v1 = make_version()
    v2 = make_version(doc="You are terse.", params={"temperature": 0.2})
    store.record_version(v1)
    store.flush(timeout=30)
    store.record_version(v2)
    store.flush(timeout=30)
    ref = "refs/ell/lmp/mod.hello"
    log = git(user_repo, "log", "--format=%H %P%x09%s", ref).splitlines()
    assert len(log) == 2
    tip_parent = log[0].split("\t")[0].split(" ")[1]
    first = log[1].split("\t")[0].split(" ")[0]
    assert tip_parent == first and log[1].split("\t")[0].split()[1:] == []  # root has no parent
    assert log[0].split("\t")[1] == "Update mod.hello: system prompt edited; temperature 0.7 → 0.2"
    body = git(user_repo, "log", "-1", "--format=%b", ref)
    assert "- system prompt 'You are nice.' → 'You are terse.'" in body


def test_same_version_writes_nothing_even_across_stores_and_reverts(user_repo):
    v1, v2 = make_version(), make_version(doc="Other.")
    for versions in ([v1], [v1, v2], [v1], [v2, v1]):  # separate processes' worth of stores
        s = GitStore(user_repo, autocommit=False, flush_interval=0.01)
        for v in versions:
            s.record_version(v)
            s.record_version(v)  # idempotent and cheap
        s.close()
    log = git(user_repo, "log", "--format=%(trailers:key=Ell-Version,valueonly,separator=)", "refs/ell/lmp/mod.hello")
    assert [x for x in log.splitlines() if x] == [v2.version_id, v1.version_id]  # one commit per distinct version


def test_odd_names_get_valid_reversible_refs(store, user_repo):
    names = ["pkg.mod.<locals>.f", "a..b", "x y~z:w", "we@{ird}", "tail.lock", "ünïcödé.名前", ".hidden", "end."]
    for n in names:
        store.record_version(make_version(name=n))
    assert store.flush(timeout=30)
    listed = git(user_repo, "for-each-ref", "--format=%(refname)", "refs/ell/lmp/").split()
    assert sorted(listed) == sorted("refs/ell/lmp/" + escape_name(n) for n in names)
    for n in names:
        out = git(user_repo, "log", "-1", "--format=%(trailers:key=Ell-Lmp,valueonly,separator=)",
                  "refs/ell/lmp/" + escape_name(n))
        assert out.strip() == n


def test_plain_git_commands_from_the_readme(store, user_repo):
    store.record_version(make_version())
    store.record_invocation(__import__("store_helpers").make_inv(make_version(), 1))
    store.flush(timeout=30)
    # A bare `refs/ell/*` is a pathspec to git: nothing.
    assert git(user_repo, "log", "--oneline", "refs/ell/*", check=False) == ""
    assert "Add mod.hello (first version)" in git(user_repo, "log", "--oneline", "--glob=refs/ell/lmp/*")
    all_log = git(user_repo, "log", "--format=%s", "--all")
    assert "Add mod.hello (first version)" in all_log
    only_code = git(user_repo, "log", "--format=%s", "--exclude=refs/ell/*", "--all").split("\n")
    assert [x for x in only_code if x] == ["initial"]
    # --exclude after --all has no effect
    assert "Add mod.hello" in git(user_repo, "log", "--format=%s", "--all", "--exclude=refs/ell/*")


def test_identity_from_repo_config_else_fallback(tmp_path):
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "from store_helpers import make_version\n"
        "from ell_git import GitStore\n"
        "s = GitStore(sys.argv[1], autocommit=False); s.record_version(make_version()); s.close()\n"
    ) % os.path.dirname(__file__)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in python_env().items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    bare = tmp_path / "fresh"  # not a repository yet: the store creates one
    subprocess.run([sys.executable, "-c", script, str(bare)], env=env, check=True)
    fmt = ["log", "-1", "--format=%an <%ae>|%cn <%ce>", "refs/ell/lmp/mod.hello"]
    assert git(bare, *fmt, env=env).strip() == "ell <ell@localhost>|ell <ell@localhost>"
    assert git(bare, "config", "--local", "--list", env=env).count("user.") == 0  # never writes user config
    configured = tmp_path / "configured"
    configured.mkdir()
    git(configured, "init", "-q", env=env)
    git(configured, "config", "user.name", "Grace", env=env)
    git(configured, "config", "user.email", "grace@example.com", env=env)
    subprocess.run([sys.executable, "-c", script, str(configured)], env=env, check=True)
    assert git(configured, *fmt, env=env).strip() == "Grace <grace@example.com>|Grace <grace@example.com>"


def test_readme_plain_git_block_runs(store, user_repo):
    """The shell block of ell_git/README.md, run as written (app.hello → mod.hello)."""
    import re
    from pathlib import Path

    from store_helpers import make_inv

    readme = (Path(__file__).resolve().parents[2] / "ell_git" / "README.md").read_text()
    block = re.search(r"## Plain git\n\n```sh\n(.*?)```", readme, re.S).group(1).replace("app.hello", "mod.hello")
    v1, v2 = make_version(), make_version(doc="Changed.")
    store.record_version(v1)
    store.flush(timeout=30)
    store.record_version(v2)
    for i in range(5):
        store.record_invocation(make_inv(v2, i))
    store.flush(timeout=30)
    res = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=user_repo, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Add mod.hello (first version)" in out and "mod.hello Update mod.hello" in out
    assert v2.version_id in out and '"name": "mod.hello"' in out and "+    'Changed.'" in out
    assert out.rstrip().splitlines()[-2:] == ["1", "5"]  # one segment, five invocations
