"""What must hold before ell history leaves this clone: no secrets in it, and no pending `ell forget`.

`sync.push` (so `ell push`, `ell sync` and the pre-push hook) calls `check_secrets` with what it is
about to send and `check_forget_done` before pulling or pushing. Both ask the remote what it has
(`ls_remote`), so they judge what it would receive, not what this clone last fetched.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pygit2

from .errors import SyncError
from .gitcmd import ls_remote, refs_under
from .remotes import TRACKING_PREFIX

__all__ = ["check_secrets", "check_forget_done", "ls_remote", "remote_tips", "tracking_name"]


def check_secrets(path: Path, repo: pygit2.Repository, remote: str, sources: list[str], local: list[str],
                   timeout: float | None, command: str, override: str | None = None) -> None:
    """Refuse (`SecretsFound`) to push commits the remote lacks that hold secrets."""
    from .secrets import SecretsFound, refusal, scan

    tips = {r: repo.references[r].resolve().target for r in local
            if any(fnmatch.fnmatchcase(r, src) for src in sources)}
    known = refs_under(repo, f"{TRACKING_PREFIX}{remote}/")
    if all(known.get(tracking_name(remote, r)) == oid for r, oid in tips.items()):
        return  # nothing the remote lacks (as of the last fetch)
    hide = list(known.values()) + remote_tips(path, remote, timeout)
    findings = scan(repo, tips, hide)
    if findings:
        raise SecretsFound(refusal(findings, remote, command, override), findings)


def tracking_name(remote: str, ref: str) -> str:
    if ref.startswith("refs/notes/"):
        return f"{TRACKING_PREFIX}{remote}/notes/{ref[len('refs/notes/'):]}"
    return f"{TRACKING_PREFIX}{remote}/{ref[len('refs/ell/'):]}"


def remote_tips(path: Path, remote: str, timeout: float | None) -> list[pygit2.Oid]:
    """The remote's ell tips (they hide what it already holds from the scan)."""
    tips = []
    for oid in (ls_remote(path, remote, timeout) or {}).values():
        try:
            tips.append(pygit2.Oid(hex=oid))
        except ValueError:
            continue
    return tips


def check_forget_done(path: Path, repo: pygit2.Repository, remote: str, timeout: float | None, *,
                      offline: bool = False) -> None:
    """After `ell forget`, this remote has the old history until the printed force pushes are done:
    a pull would merge it back, a push would be refused or bring it back. Whether they are done is
    asked of the remote; `offline` (a branch switch) cannot ask, so it waits for the next push or
    pull to see them done (forget rewrote the tracking refs too: they cannot tell)."""
    from .leases import load_pending, settle

    if not load_pending(repo, remote):
        return
    left = settle(repo, remote, None if offline else ls_remote(path, remote, timeout))
    if left:
        raise SyncError(f"`ell forget` rewrote ell history that '{remote}' still has the old version of: first "
                        f"run `{left}` (or `ell forget --abandon {remote}` to stop waiting for it)")
