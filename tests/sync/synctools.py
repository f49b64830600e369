"""Helpers for the sync/hooks tests: git commands, writing versions/invocations/notes the way the store
lays them out, reading them back as readers do, snapshots of the user's state, and a git daemon."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pygit2

_clock = [1_700_000_000]


def git(path: Path | str, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def out(path: Path | str, *args: str) -> str:
    return git(path, *args).stdout.strip()


# -- writing what the store writes -----------------------------------------------------------------


def _tick() -> int:
    _clock[0] += 10
    return _clock[0]


def _sig(when: int) -> pygit2.Signature:
    return pygit2.Signature("ell tests", "tests@localhost", when, 0)


def _cas(repo: pygit2.Repository, ref: str, new: pygit2.Oid, old: pygit2.Oid | None) -> None:
    if old is None:
        repo.references.create(ref, new)
    else:
        repo.references[ref].set_target(new)


def write_version(path: Path, name: str, source: str, *, when: int | None = None) -> str:
    """Commit one version of LMP `name` on refs/ell/lmp/<name>; returns its version id."""
    repo = pygit2.Repository(str(path))
    vid = "lmp-" + hashlib.sha256(source.encode()).hexdigest()[:16]
    meta = json.dumps({"name": name, "version_id": vid, "format": 1}, sort_keys=True).encode()
    tb = repo.TreeBuilder()
    tb.insert("source.py", repo.create_blob(source.encode()), pygit2.GIT_FILEMODE_BLOB)
    tb.insert("closure.py", repo.create_blob(source.encode()), pygit2.GIT_FILEMODE_BLOB)
    tb.insert("meta.json", repo.create_blob(meta), pygit2.GIT_FILEMODE_BLOB)
    ref = f"refs/ell/lmp/{name}"
    tip = repo.references.get(ref)
    parents = [tip.target] if tip else []
    sig = _sig(when or _tick())
    commit = repo.create_commit(None, sig, sig, f"{name}: new version\n\nEll-Version: {vid}\n", tb.write(), parents)
    _cas(repo, ref, commit, tip.target if tip else None)
    return vid


def write_invocations(path: Path, writer: str, version_id: str, lines: list[str]) -> None:
    """Add one JSONL segment blob on refs/ell/inv/<writer> (tree: <version>/<day>/<segment>.jsonl)."""
    repo = pygit2.Repository(str(path))
    ref = f"refs/ell/inv/{writer}"
    tip = repo.references.get(ref)
    index = pygit2.Index()
    if tip:
        index.read_tree(repo[tip.target].tree)
    data = "".join(line + "\n" for line in lines).encode()
    blob = repo.create_blob(data)
    seg = hashlib.sha1(data).hexdigest()[:12]
    index.add(pygit2.IndexEntry(f"{version_id}/2024-01-01/{seg}.jsonl", blob, pygit2.GIT_FILEMODE_BLOB))
    sig = _sig(_tick())
    commit = repo.create_commit(None, sig, sig, f"{len(lines)} invocations\n", index.write_tree(repo),
                                [tip.target] if tip else [])
    _cas(repo, ref, commit, tip.target if tip else None)


def add_note(path: Path, target: str, text: str, ref: str = "ell") -> None:
    git(path, "notes", f"--ref={ref}", "append", "-m", text, target)


# -- reading it back -------------------------------------------------------------------------------


def versions(path: Path, name: str) -> set[str]:
    """Version ids reachable from refs/ell/lmp/<name>, skipping merge commits (as readers do)."""
    repo = pygit2.Repository(str(path))
    ref = repo.references.get(f"refs/ell/lmp/{name}")
    if ref is None:
        return set()
    found = set()
    for commit in repo.walk(ref.target):
        if len(commit.parents) < 2:
            found |= {l.split(": ", 1)[1] for l in commit.message.splitlines() if l.startswith("Ell-Version: ")}
    return found


def invocations(path: Path) -> set[str]:
    """Every JSONL line on local refs/ell/inv/* and fetched refs/ell/remotes/*/inv/* (what readers union)."""
    repo = pygit2.Repository(str(path))
    lines: set[str] = set()

    def walk(tree: pygit2.Tree) -> None:
        for entry in tree:
            if entry.type_str == "tree":
                walk(repo[entry.id])
            else:
                lines.update(repo[entry.id].data.decode().splitlines())

    for name in repo.references:
        parts = name.split("/")
        if name.startswith("refs/ell/inv/") or (name.startswith("refs/ell/remotes/") and parts[4:5] == ["inv"]):
            walk(repo[repo.references[name].target].tree)
    return lines


def refs(path: Path, *patterns: str) -> dict[str, str]:
    fmt = "%(refname) %(if)%(symref)%(then)->%(symref)%(else)%(objectname)%(end)"  # origin/HEAD stays symbolic
    text = out(path, "for-each-ref", f"--format={fmt}", *patterns)
    return dict(line.split(" ") for line in text.splitlines())


def user_state(path: Path) -> dict[str, object]:
    """Everything sync must never touch: branches, HEAD, index, work tree, FETCH_HEAD."""
    gitdir = path / ".git"
    files = {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file() and ".git" not in p.parts}
    return {
        "HEAD": (gitdir / "HEAD").read_text(),
        "refs": refs(path, "refs/heads", "refs/remotes", "refs/tags"),
        "index": (gitdir / "index").read_bytes() if (gitdir / "index").exists() else None,
        "status": out(path, "status", "--porcelain=v1", "--untracked-files=all"),
        "files": files,
        "FETCH_HEAD": (gitdir / "FETCH_HEAD").read_bytes() if (gitdir / "FETCH_HEAD").exists() else None,
    }


# -- repositories ----------------------------------------------------------------------------------


@dataclass
class World:
    root: Path
    remote: Path  # bare
    a: Path
    b: Path

    def clone(self, name: str, url: str | None = None) -> Path:
        dest = self.root / name
        git(self.root, "clone", "-q", url or str(self.remote), str(dest))
        return dest


def make_world(root: Path, url: str | None = None) -> World:
    remote = root / "remote.git"
    git(root, "init", "-q", "--bare", str(remote))
    seed = root / "seed"
    git(root, "init", "-q", str(seed))
    (seed / "app.py").write_text("print('hello')\n")
    git(seed, "add", "app.py")
    git(seed, "commit", "-q", "-m", "user code")
    git(seed, "push", "-q", str(remote), "main")
    shutil.rmtree(seed)
    world = World(root, remote, root / "a", root / "b")
    for clone in (world.a, world.b):
        git(root, "clone", "-q", url or str(remote), str(clone))
        # A dirty work tree and a staged change: sync must leave both alone.
        (clone / "app.py").write_text("print('edited')\n")
        (clone / "staged.txt").write_text("staged\n")
        git(clone, "add", "staged.txt")
        (clone / "untracked.txt").write_text("mine\n")
    return world


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """`git daemon` serving a directory on 127.0.0.1 (push enabled); start/stop by its own pid."""

    def __init__(self, base: Path) -> None:
        self.base, self.port, self.proc = base, free_port(), None
        self.url_base = f"git://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr", "--informative-errors",
             f"--base-path={self.base}", f"--port={self.port}", "--listen=127.0.0.1", str(self.base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("git daemon did not start")

    def stop(self) -> None:
        # `git daemon` runs git-daemon (and per-connection children) as subprocesses: stop its whole group.
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
