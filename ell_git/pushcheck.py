"""The pre-push hook's check of ell refs pushed by hand (``git push origin 'refs/ell/*'``,
``git push --mirror``, the force pushes `ell forget` prints).

git hands the hook one line per ref it is about to update. Those under ``refs/ell/`` or
``refs/notes/ell`` are refused when ``git config ell.share`` keeps their part on this machine, or
when the commits the remote lacks hold secrets (the same scan as `ell push`). Overrides, for this
one push: ``git -c ell.share=all push ...`` and ``ELL_ALLOW_SECRETS=1 git push ...``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pygit2

__all__ = ["Pushed", "pushed_refs", "check_pushed_by_hand"]

_ZERO = "0" * 40


@dataclass(frozen=True)
class Pushed:
    """One line of pre-push's stdin: ``<local ref> <local id> <remote ref> <remote id>``."""

    local_ref: str
    local: str
    remote_ref: str
    remote: str

    @property
    def ell(self) -> bool:
        return self.remote_ref.startswith(("refs/ell/", "refs/notes/ell"))

    @property
    def deletes(self) -> bool:
        return set(self.local) == {"0"}


def pushed_refs(stdin: str) -> list[Pushed]:
    out = []
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) == 4:
            out.append(Pushed(*parts))
    return out


def check_pushed_by_hand(root: Path, remote: str, pushed: list[Pushed]) -> Optional[str]:
    """Why this push must be refused (a message), or None."""
    mine = [p for p in pushed if p.ell and not p.deletes]
    if not mine:
        return None
    from . import share

    parts = share.parse(_git_config(root, "ell.share"))  # through git: `git -c ell.share=... push` counts
    kept = [p.remote_ref for p in mine if not share.is_shared(p.remote_ref, parts)]
    if kept:
        return (f"git push: refused: `git config ell.share` keeps {', '.join(kept)} on this machine "
                f"(it shares {', '.join(sorted(parts)) or 'nothing'}); to push it anyway: "
                f"`git -c ell.share=all push ...`")
    if os.environ.get("ELL_ALLOW_SECRETS") or _git_config(root, "ell.allowSecrets") in ("1", "true", "yes"):
        return None
    from .secrets import refusal, scan
    from .gitcmd import refs_under
    from .remotes import TRACKING_PREFIX

    repo = pygit2.Repository(str(root))
    tips = {p.remote_ref: pygit2.Oid(hex=p.local) for p in mine}
    hide = [pygit2.Oid(hex=p.remote) for p in pushed if p.remote != _ZERO and set(p.remote) != {"0"}]
    hide += list(refs_under(repo, f"{TRACKING_PREFIX}{remote}/").values()) if remote else []
    findings = scan(repo, tips, hide)
    if not findings:
        return None
    return refusal(findings, remote, "git push", override="`ELL_ALLOW_SECRETS=1 git push ...`")


def _git_config(root: Path, key: str) -> Optional[str]:
    proc = subprocess.run(["git", "-C", str(root), "config", "--get", key], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    return proc.stdout.strip() if proc.returncode == 0 else None
