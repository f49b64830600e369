"""Helpers for the store tests: plain-git calls and records built the way `ell` builds them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import orjson

from ell.records import InvocationRecord, VersionRecord


def git(cwd: str | Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run plain git and return stdout (the reference for what users see)."""
    res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if check and res.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {res.stderr}")
    return res.stdout


def python_env(**extra: str) -> dict[str, str]:
    """Environment for a child `python` that imports this checkout's ell and ell_git."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def wait_until_idle(repo: str | Path, is_worker: Callable[[list[bytes]], bool], what: str,
                    timeout: float = 60.0) -> None:
    """Wait until no process whose command line `is_worker` accepts works in `repo` (its working
    directory or an argument names it). Zombies have no command line: they count as gone."""
    repo = os.path.realpath(repo)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if cmd[0] and is_worker(cmd) and (cwd.startswith(repo) or any(repo.encode() in part for part in cmd)):
                busy = True
                break
        if not busy:
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} still busy in {repo} after {timeout} s")


def wait_for_writer_processes(repo: str | Path, timeout: float = 60.0) -> None:
    """Wait until the writer processes (`ell_git.writer_child`) of `repo` are gone: one outlives
    its killed parent to commit what it was sent."""
    wait_until_idle(repo, lambda cmd: b"ell_git.writer_child" in cmd, "writer processes", timeout)


def wait_for_writer_process(pid: int, timeout: float = 60.0) -> None:
    """Wait until the writer process `pid` is gone (its parent may be dead: it is nobody's child here)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if b"ell_git.writer_child" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return  # gone (a zombie has no command line) or the pid was reused
        except OSError:
            return
        time.sleep(0.01)
    raise AssertionError(f"writer process {pid} still running after {timeout} s")


def init_user_repo(path: Path, dirty: bool = True) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Ada Lovelace")
    git(path, "config", "user.email", "ada@example.com")
    (path / "app.py").write_text("print('v1')\n")
    (path / "notes.txt").write_text("notes\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "initial")
    if dirty:
        (path / "app.py").write_text("print('v2, unstaged')\n")
        (path / "notes.txt").write_text("notes, staged\n")
        git(path, "add", "notes.txt")
        (path / "scratch.txt").write_text("untracked\n")
    return path


def closure_of(name: str, doc: str, body: str, model: str, params: dict[str, Any], helpers: str = "") -> str:
    short = name.rsplit(".", 1)[-1]
    args = ", ".join([f"model={model!r}", *(f"{k}={v!r}" for k, v in params.items())])
    return f"import ell\n\n{helpers}@ell.simple({args})\ndef {short}(n: str):\n    {doc!r}\n    {body}\n"


def make_version(
    name: str = "mod.hello",
    doc: str = "You are nice.",
    body: str = "return f'hi {n}'",
    model: str = "gpt-4o-mini",
    params: dict[str, Any] | None = None,
    helpers: str = "",
    uses: dict[str, str] | None = None,
    kind: str = "simple",
    bound_globals: dict[str, Any] | None = None,
) -> VersionRecord:
    params = {"temperature": 0.7} if params is None else params
    closure = closure_of(name, doc, body, model, params, helpers)
    uses = uses or {}
    h = hashlib.sha256((closure + repr(sorted(uses.items())) + repr(bound_globals)).encode()).hexdigest()[:16]
    source = closure.split("\n\n", 1)[-1]
    return VersionRecord(
        version_id=f"lmp-{h}",
        name=name,
        kind=kind,
        source=source,
        closure=closure,
        uses=tuple(uses.values()),
        uses_names=tuple(uses.keys()),
        model=model,
        api_params=params,
        bound_globals=bound_globals or {},
        created_at=time.time(),
    )


def make_inv(v: VersionRecord, i: int, *, tag: str = "t", **kw: Any) -> InvocationRecord:
    fields: dict[str, Any] = dict(
        id=f"inv-{hashlib.md5(f'{tag}-{i}'.encode()).hexdigest()}",
        version_id=v.version_id,
        lmp_name=v.name,
        args={"n": f"{tag}{i}"},
        messages=[{"role": "user", "content": [{"text": f"hi {tag}{i}"}]}],
        outputs=[{"role": "assistant", "content": [{"text": f"hello {tag}{i}"}]}],
        model=v.model,
        usage={"prompt_tokens": 5, "completion_tokens": i % 7, "total_tokens": 5 + i % 7},
        latency_ms=10.0 + i,
        started_at=1_700_000_000.0 + i,
    )
    fields.update(kw)
    return InvocationRecord(**fields)


def all_lines(repo: Path, ref: str) -> list[bytes]:
    """Every JSONL line under `ref`, read with plain git only (ls-tree + cat-file)."""
    listing = git(repo, "ls-tree", "-r", ref)
    return blob_lines(repo, [ln.split()[2] for ln in listing.splitlines() if ln.endswith(".jsonl")])


def recorded_ids(repo: str | Path) -> list[str]:
    """Ids of every invocation under refs/ell/inv/*, read with plain git (duplicates kept)."""
    out: list[str] = []
    for ref in git(repo, "for-each-ref", "--format=%(refname)", "refs/ell/inv/").split():
        out += [orjson.loads(ln)["id"] for ln in all_lines(Path(repo), ref)]
    return out


def blob_lines(repo: str | Path, oids: list[str]) -> list[bytes]:
    """The non-empty lines of these blobs, in order, read with one `git cat-file --batch`."""
    if not oids:
        return []
    out = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input=("\n".join(oids) + "\n").encode(),
                         capture_output=True, check=True).stdout
    lines, pos = [], 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        size = int(out[pos:nl].split()[2])
        blob = out[nl + 1 : nl + 1 + size]
        lines += [ln for ln in blob.split(b"\n") if ln]
        pos = nl + 1 + size + 1
    return lines
