"""Ref names: escaping is valid and reversible; compare-and-swap updates never lose a commit."""

from __future__ import annotations

import subprocess
import threading

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import git

from ell_git import refs
from ell_git.refs import escape, lmp_name_of, unescape


@settings(max_examples=300, deadline=None, database=None)  # no .hypothesis/ in the checkout
@given(st.text(min_size=1, max_size=120))
def test_escape_round_trips_and_is_a_valid_single_component(name):
    comp = escape(name)
    assert "/" not in comp and len(comp) <= 200
    assert pygit2.reference_is_valid_name("refs/ell/lmp/" + comp)
    if "%%" in comp:  # too long once escaped: hashed, one-way by design
        assert unescape(comp) is None and escape(name) == comp
        return
    assert unescape(comp) == name
    assert lmp_name_of("refs/ell/lmp/" + comp) == name
    assert lmp_name_of("refs/ell/remotes/origin/lmp/" + comp) == name


@pytest.mark.parametrize("name", ["a..b", "x.lock", ".x", "x.", "a b", "a~b^c:d?e*f[g\\h", "@", "a@{b", "ü", "%41"])
def test_git_itself_accepts_escaped_names(name):
    assert subprocess.run(["git", "check-ref-format", "refs/ell/lmp/" + escape(name)]).returncode == 0
    assert unescape(escape(name)) == name


def test_long_names_are_hashed_and_stay_valid():
    name = "pkg." + "very_long_module_name." * 20 + "f"
    comp = escape(name)
    assert len(comp) <= 200 and pygit2.reference_is_valid_name("refs/ell/lmp/" + comp)
    assert unescape(comp) is None  # readers take the name from the commit's trailer
    assert escape(name) == comp and escape(name + "x") != comp


def test_known_escapes_are_readable():
    assert escape("app.main.<locals>.hello") == "app.main.%3Clocals%3E.hello"
    assert escape("mod.hello") == "mod.hello"


def test_compare_and_swap_from_many_threads_loses_nothing(tmp_path):
    path = str(tmp_path / "r")
    pygit2.init_repository(path)
    sig = pygit2.Signature("t", "t@localhost")
    name = "refs/ell/inv/test"
    n_threads, per = 4, 25

    def work(k: int) -> None:
        repo = pygit2.Repository(path)  # one Repository per thread, as libgit2 wants
        tree = repo.TreeBuilder().write()
        for i in range(per):
            def build(tip):
                return repo.create_commit(None, sig, sig, f"{k}-{i}", tree, [tip] if tip else [])
            refs.update(repo, name, build)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    msgs = git(path, "log", "--format=%s", name).split()
    assert sorted(msgs) == sorted(f"{k}-{i}" for k in range(n_threads) for i in range(per))


def test_processes_creating_the_same_new_ref_lose_nothing(tmp_path):
    """libgit2's create(force=False) lets two processes both win; ours must not."""
    import multiprocessing
    import time

    import store_workers

    path = str(tmp_path / "r")
    pygit2.init_repository(path)
    ctx = multiprocessing.get_context("spawn")
    n_refs, start = 60, time.time() + 3
    procs = [ctx.Process(target=store_workers.race_new_refs, args=(path, k, n_refs, start)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    for r in range(n_refs):
        assert sorted(git(path, "log", "--format=%s", f"refs/ell/inv/race{r}").split()) == ["p0", "p1", "p2", "p3"]
