"""git for sync: run it non-interactively (own process group, bounded), explain its failures in one
line, and open and check the repository and remote it works on."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pygit2

from .errors import SyncError
from .remotes import TRACKING_PREFIX
from .repo import open_repository


def run_git(path: Path, *args: str, action: str, remote: str, timeout: float | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git non-interactively in its own process group (so a timeout also stops ssh/helpers)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never", "LC_ALL": "C",
           "ELL_HOOK_ACTIVE": "1"}  # our own pushes must not re-enter the ell pre-push hook
    proc = subprocess.Popen(["git", "-C", str(path), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise SyncError(f"git {action} '{remote}' timed out after {timeout:g}s: check the network, then "
                        f"run `ell sync {remote}` again") from None
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if check and proc.returncode != 0:
        raise SyncError(explain(err, action, remote))
    return result


_HINTS = (
    (("terminal prompts disabled", "authentication failed", "permission denied", "could not read username",
      "403", "401", "host key verification failed"),
     "set up credentials (ssh key or credential helper) so `git fetch {remote}` works without a prompt"),
    (("could not resolve host", "connection refused", "connection timed out", "unable to connect",
      "failed to connect", "couldn't connect", "network is unreachable", "unable to look up",
      "connection reset", "the remote end hung up", "errno=", "unexpected disconnect", "early eof"),
     "check the network and that the server is up, then run `ell sync {remote}` again"),
    (("does not appear to be a git repository", "not found", "no such file"),
     "check the remote's URL with `git remote -v` (was the repository moved or deleted?)"),
)


def explain(stderr: str, action: str, remote: str) -> str:
    """git's most telling stderr line plus what to do about it, as one line."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    for keys, hint in _HINTS:
        # ssh and git:// put the real cause on a line before git's generic "fatal: Could not read...".
        hit = next((l for l in lines if any(k in l.lower() for k in keys)), None)
        if hit is not None:
            break
    else:
        hint = "run the same command with plain `git` to see the details"
        hit = next((l for l in lines if l.lower().startswith(("fatal:", "error:"))), lines[-1] if lines else "")
    if hit.endswith(":") and hit in lines[:-1]:  # "unable to connect to host:" + the errno on the next line
        hit += " " + lines[lines.index(hit) + 1]
    cause = hit.split(": ", 1)[1] if hit.lower().startswith(("fatal: ", "error: ")) else hit
    return f"git {action} '{remote}' failed: {cause.rstrip('.') or 'no output'}; {hint.format(remote=remote)}"


def repo_root(repo_path: str | os.PathLike[str]) -> Path:
    """The repository's work tree (a bare one's git directory); SyncError if it is not a repository."""
    try:
        repo = open_repository(repo_path, create=False)
    except FileNotFoundError:
        raise SyncError(f"not a git repository: {repo_path}: run `git init` there or pass the repository path") from None
    return Path(repo.workdir or repo.path)


def open_repo(path: Path) -> pygit2.Repository:
    """A fresh handle: after a fetch, libgit2's cached view of refs and packs is stale."""
    return pygit2.Repository(str(path))


def check_remote(path: Path, remote: str) -> None:
    """Raise SyncError, saying what to do, if `remote` is unknown or cannot name tracking refs."""
    repo = open_repo(path)
    names = list(repo.remotes.names())
    if remote not in names:
        known = f" (known: {', '.join(names)})" if names else ""
        raise SyncError(f"unknown remote '{remote}'{known}: add it with `git remote add {remote} <url>`")
    if not pygit2.reference_is_valid_name(f"{TRACKING_PREFIX}{remote}/lmp/x"):
        raise SyncError(f"remote name '{remote}' cannot be used in a ref name: rename it with `git remote rename`")


def refs_under(repo: pygit2.Repository, prefix: str) -> dict[str, pygit2.Oid]:
    """Direct refs whose names start with `prefix`, and their targets."""
    out = {}
    for name in repo.references:
        if name.startswith(prefix):
            ref = repo.references.get(name)
            if ref is not None and ref.type == pygit2.enums.ReferenceType.DIRECT:
                out[name] = ref.target
    return out


def ls_remote(path: Path, remote: str, timeout: float | None) -> dict[str, str] | None:
    """The remote's ell refs now (ref -> hex id); None if it cannot be listed."""
    try:
        out = run_git(path, "ls-remote", "--refs", remote, action="list refs of", remote=remote, timeout=timeout).stdout
    except SyncError:
        return None
    listing = {}
    for line in out.splitlines():
        oid, _, ref = line.partition("\t")
        if ref.startswith(("refs/ell/", "refs/notes/ell")):
            listing[ref] = oid
    return listing
