"""Share `refs/ell/*` with git remotes: fetch into a tracking namespace, merge, push.

`git fetch`/`git push` do the transport (shelled out, so users' credentials, ssh config and hosting just
work); the steps decide what to fetch and push (`pull`, `push`) and merge what came back (`merge`). Only refs under
`refs/ell/` and `refs/notes/ell*` are ever written: never the user's branches, HEAD, index or work tree.

Namespaces (see hooks/README.md for the full rationale):

    remote                       local tracking copy                       merged into
    refs/ell/lmp/<name>     →    refs/ell/remotes/<remote>/lmp/<name>      refs/ell/lmp/<name>
    refs/ell/eval/<name>    →    refs/ell/remotes/<remote>/eval/<name>     refs/ell/eval/<name>
    refs/ell/inv/<writer>   →    refs/ell/remotes/<remote>/inv/<writer>    (never: readers union them)
    refs/notes/ell*         →    refs/ell/remotes/<remote>/notes/ell*      refs/notes/ell* (line union)
"""

from __future__ import annotations

import os
import random
import time

from .errors import SyncError
from .gitcmd import check_remote, open_repo, repo_root
from .pull import pull_into
from .push import push_into
from .remotes import PUSH_REFSPECS, TRACKING_PREFIX, SyncReport, fetch_refspecs

__all__ = [
    "SyncError",
    "SyncReport",
    "fetch_refspecs",
    "PUSH_REFSPECS",
    "TRACKING_PREFIX",
    "pull",
    "push",
    "sync",
]

_SYNC_ATTEMPTS = 4


def pull(repo_path: str | os.PathLike[str], remote: str = "origin", *, fetch: bool = True,
         timeout: float | None = None) -> SyncReport:
    """Fetch the remote's ell refs into `refs/ell/remotes/<remote>/` and merge them into local refs.

    With `fetch=False` only merges what an earlier `git fetch` (configured refspecs) brought in.
    """
    from . import guard

    path = repo_root(repo_path)
    check_remote(path, remote)
    guard.check_forget_done(path, open_repo(path), remote, timeout, offline=not fetch)
    report = SyncReport(remote)
    pull_into(report, path, remote, fetch, timeout)
    return report


def push(repo_path: str | os.PathLike[str], remote: str = "origin", *, timeout: float | None = None,
         allow_secrets: bool = False, command: str = "ell push") -> SyncReport:
    """Push local ell refs (fast-forward only), the parts ``git config ell.share`` shares.

    Raises SyncError if the remote has diverged (run `sync`) or after `ell forget` until its force
    pushes to this remote are done, `ell_git.secrets.SecretsFound` if what would be sent holds
    secrets (unless `allow_secrets`)."""
    path = repo_root(repo_path)
    check_remote(path, remote)
    report = SyncReport(remote)
    push_into(report, path, remote, timeout, allow_secrets, command)
    return report


def sync(repo_path: str | os.PathLike[str], remote: str = "origin", *, timeout: float | None = None,
         allow_secrets: bool = False, command: str = "ell sync") -> SyncReport:
    """Pull (fetch + merge) then push; if someone pushed in between, pull and push again (bounded)."""
    from . import guard

    path = repo_root(repo_path)
    check_remote(path, remote)
    guard.check_forget_done(path, open_repo(path), remote, timeout)
    report = SyncReport(remote)
    for attempt in range(_SYNC_ATTEMPTS):
        pull_into(report, path, remote, True, timeout)
        try:
            push_into(report, path, remote, timeout, allow_secrets, command)
            return report
        except SyncError as exc:
            if not exc.diverged:
                raise
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))  # let the other pusher finish
    raise SyncError(f"'{remote}' kept changing while syncing (others pushed {_SYNC_ATTEMPTS} times in a row): "
                    f"run `ell sync {remote}` again")
