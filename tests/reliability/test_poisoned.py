"""One bad record breaks no reader and does not spread through sync.

Bad data is planted with plain git (see poison.py): invocation lines that are valid JSON but not the
storage format (`"usage": "x"`, a non-hex cache_key, a string where a number goes, ...) and raw
garbage lines, an invocation ref pointing at a tree, a version whose meta.json is garbage. Every
reader (the `ell` commands as a user runs them, every `ell web` page and its .json twin) answers,
skipping what is bad with one warning naming it and a count; `ell doctor` names each problem and
`--repair` fixes what can be fixed here. Through a remote: `ell pull` merges none of it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from poison import add_segment, add_version_with_bad_meta, bad_lines, point_at_a_tree
from relhelpers import InvocationIndex, fsck, git
from store_helpers import init_user_repo, make_inv, make_version

from ell_git import GitStore

ROOT = Path(__file__).resolve().parents[2]
LMP = "app.hello"


def ell(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `ell` command as a user runs it, in `repo`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", "import sys; from ell_git.cli import main; sys.exit(main())", *args],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=120)


def _record(repo: Path, n: int, tag: str, versions: int = 2) -> list[Any]:
    """`n` calls of `versions` versions of app.hello, recorded through the store; returns the versions."""
    vs = [make_version(name=LMP, doc=f"Prompt {k}.") for k in range(versions)]
    store = GitStore(repo, autocommit=False, writer_process=False)
    for v in vs:
        store.record_version(v)
    for i in range(n):
        store.record_invocation(make_inv(vs[i % len(vs)], i, tag=tag))
    assert store.flush(timeout=60)
    store.close()
    return vs


def _good_record(v: Any) -> dict[str, Any]:
    from ell_git.batch import serialise

    return json.loads(serialise(make_inv(v, 999, tag="template")))


def test_one_bad_record_breaks_no_reader(tmp_path: Path, figures: Any) -> None:
    repo = init_user_repo(tmp_path / "proj", dirty=False)
    vs = _record(repo, 20, "good")
    inv_ref = "refs/ell/inv/" + git(repo, "config", "ell.writerid").strip()
    poisoned = bad_lines(_good_record(vs[0]))
    good_line = json.dumps({**_good_record(vs[0]), "id": "inv-" + "9" * 32}).encode()
    segment = add_segment(repo, inv_ref, vs[0].version_id, [*poisoned, good_line])
    point_at_a_tree(repo, "refs/ell/inv/intruder", inv_ref)  # a ref to a tree, not a commit

    # Every reader command answers; what it skipped is named (once, when first read) and counted.
    commands = [("log",), ("show", f"{LMP}@v1"), ("diff", LMP, "v1", "v2"), ("export", LMP, "--format", "jsonl"),
                ("invocations", "--json")]
    outputs = {args: ell(repo, *args) for args in commands}
    for args, res in outputs.items():
        assert res.returncode == 0, (args, res.stderr)
        assert f"{len(poisoned) + 1} records could not be read — run `ell doctor`" in res.stderr, (args, res.stderr)
    first = outputs[("log",)].stderr
    assert f"{len(poisoned)} records in {inv_ref}:{segment} could not be read" in first, first
    assert "refs/ell/inv/intruder cannot be read" in first, first
    listed = json.loads(outputs[("invocations", "--json")].stdout)
    assert listed["total"] == 21 and "inv-" + "9" * 32 in {r["id"] for r in listed["items"]}
    assert len(outputs[("export", LMP, "--format", "jsonl")].stdout.splitlines()) == 21

    # Every web page and its .json twin answers 200, and says what could not be read.
    from webui import create_app

    client = create_app(repo, testing=True).test_client()
    pages = ["/", "/.json", "/invocations", "/invocations.json", f"/lmp/{LMP}", f"/lmp/{LMP}.json",
             f"/lmp/{LMP}/diff", f"/lmp/{LMP}/diff.json", f"/invocation/inv-{'9' * 32}",
             f"/invocation/inv-{'9' * 32}.json", "/evals"]
    for url in pages:
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        if not url.endswith(".json"):
            assert f"{len(poisoned) + 1} records could not be read — run `ell doctor`" in resp.get_data(as_text=True), url
    assert client.get("/.json").get_json()["problems"]["count"] == len(poisoned) + 1

    # `ell doctor` names each problem and fails; --repair fixes them (bad lines kept aside); then healthy.
    doctor = ell(repo, "doctor")
    assert doctor.returncode == 1 and f"{inv_ref}:{segment}: {len(poisoned)} record(s)" in doctor.stdout, doctor.stdout
    assert "refs/ell/inv/intruder: lacks non-commit" in doctor.stdout, doctor.stdout
    repaired = ell(repo, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"moved {len(poisoned)} bad record(s) out of {inv_ref}" in repaired.stdout, repaired.stdout
    assert ell(repo, "doctor").returncode == 0
    kept = list((repo / ".git" / "ell" / "quarantine").iterdir())
    assert len(kept) == 1 and len(kept[0].read_bytes().splitlines()) == len(poisoned)
    after = ell(repo, "invocations", "--json")
    assert json.loads(after.stdout)["total"] == 21 and "could not be read" not in after.stderr
    assert "refs/ell/inv/intruder" not in git(repo, "for-each-ref", "refs/ell")
    fsck(repo)
    figures["poisoned"] += len(poisoned) + 1
    figures["reader_checks_with_poison"] += len(commands) + len(pages)


def test_a_garbage_meta_json_is_shown_without_it(tmp_path: Path, figures: Any) -> None:
    repo = init_user_repo(tmp_path / "proj", dirty=False)
    _record(repo, 4, "m")
    commit = add_version_with_bad_meta(repo, f"refs/ell/lmp/{LMP}", b"{not json")
    shown = ell(repo, "show", LMP)
    assert shown.returncode == 0 and "lmp-0000000000000bad" in shown.stdout, shown.stderr
    assert f"meta.json is not JSON (version commit {commit[:12]}" in shown.stderr, shown.stderr
    from webui import create_app

    client = create_app(repo, testing=True).test_client()
    for url in (f"/lmp/{LMP}", f"/lmp/{LMP}.json", f"/lmp/{LMP}/diff"):
        assert client.get(url).status_code == 200, url
    doctor = ell(repo, "doctor")
    assert doctor.returncode == 1 and f"commit {commit[:12]}: meta.json is not JSON" in doctor.stdout, doctor.stdout
    figures["poisoned"] += 1
    figures["reader_checks_with_poison"] += 4


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    """A collaborator's clone `a` and ours `b`, sharing a bare remote, both with app.hello's history."""
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    a = init_user_repo(tmp_path / "a", dirty=False)
    b = init_user_repo(tmp_path / "b", dirty=False)
    for c in (a, b):
        git(c, "remote", "add", "origin", str(tmp_path / "remote.git"))
    _record(a, 10, "a")
    assert ell(a, "sync").returncode == 0
    _record(b, 10, "b")
    assert ell(b, "sync").returncode == 0
    assert ell(a, "sync").returncode == 0  # both have everything
    return a, b


def test_bad_data_from_a_remote_is_never_merged(clones: tuple[Path, Path], figures: Any) -> None:
    a, b = clones
    lmp_ref = f"refs/ell/lmp/{LMP}"
    a_inv = "refs/ell/inv/" + git(a, "config", "ell.writerid").strip()
    v = make_version(name=LMP, doc="Prompt 0.")
    poisoned = bad_lines(_good_record(v))
    add_segment(a, a_inv, v.version_id, poisoned)
    bad_version = add_version_with_bad_meta(a, lmp_ref, b'{"version_id": 7}')
    point_at_a_tree(a, "refs/ell/inv/intruder", a_inv)
    # A buggy client pushes it all with plain git (ell's own push would have refused nothing either).
    git(a, "push", "-q", "origin", "refs/ell/*:refs/ell/*")
    before = {r: git(b, "rev-parse", r).strip() for r in (lmp_ref,)}

    pulled = ell(b, "pull")
    assert pulled.returncode == 0, pulled.stderr
    assert f"refs/ell/remotes/origin/lmp/{LMP}: commit {bad_version[:12]}: meta.json: version_id is not" in pulled.stdout
    assert "refs/ell/remotes/origin/inv/intruder: it points to a tree, not a commit" in pulled.stdout, pulled.stdout
    assert f"{len(poisoned)} fetched records are not the storage format" in pulled.stdout, pulled.stdout
    assert {r: git(b, "rev-parse", r).strip() for r in before} == before  # nothing merged into local refs
    refs_b = git(b, "for-each-ref", "--format=%(refname)", "refs/ell").split()
    assert "refs/ell/remotes/origin/inv/intruder" not in refs_b and "refs/ell/inv/intruder" not in refs_b

    # Our readers still answer (the fetched bad records are skipped and counted), and we still share.
    for args in (("log", LMP), ("export", LMP)):
        res = ell(b, *args)
        assert res.returncode == 0, (args, res.stderr)
    from webui import create_app

    client = create_app(b, testing=True).test_client()
    assert all(client.get(u).status_code == 200 for u in ("/", "/invocations", f"/lmp/{LMP}", "/.json"))
    doctor = ell(b, "doctor")
    assert doctor.returncode == 0 and "a fetched copy" in doctor.stdout, doctor.stdout  # our data is fine
    _record(b, 5, "b2")
    assert ell(b, "sync").returncode == 0
    index = InvocationIndex(b)
    index.refresh()
    assert len(index.ids) == 15 and not index.duplicates()  # ours; the collaborator's 10 are fetched
    assert json.loads(ell(b, "invocations", "--json").stdout)["total"] == 25

    # The collaborator repairs (bad lines moved out of their ref); the next pull brings no bad record.
    assert "moved" in ell(a, "doctor", "--repair").stdout
    git(a, "push", "-q", "origin", a_inv)
    again = ell(b, "pull")
    assert again.returncode == 0 and "not the storage format" not in again.stdout, again.stdout
    assert "could not be read" not in ell(b, "invocations").stderr
    fsck(b)
    figures["poisoned"] += len(poisoned) + 2
    figures["reader_checks_with_poison"] += 7
    figures["poisoned_through_sync"] += len(poisoned) + 2

