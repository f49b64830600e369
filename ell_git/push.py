"""The push step of sync: push the shared ell refs, fast-forward only, and say why the remote refused any."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pygit2

from .errors import SyncError
from .gitcmd import explain, open_repo, run_git
from .remotes import MERGED_NAMESPACES, TRACKING_PREFIX, SyncReport


def push_into(report: SyncReport, path: Path, remote: str, timeout: float | None, allow_secrets: bool = False,
              command: str = "ell push") -> None:
    from . import guard, share

    report.steps.append("push")
    repo = open_repo(path)
    guard.check_forget_done(path, repo, remote, timeout)
    local = list(repo.references)
    # Only what `git config ell.share` shares, and only globs that match something: with none
    # matching, git falls back to "No refs in common" and fails.
    specs = [spec for spec in share.push_refspecs(share.shared_parts(repo))
             if any(fnmatch.fnmatchcase(r, spec.split(":")[0]) for r in local)]
    if not specs:
        return
    if not allow_secrets:
        override = "`ELL_ALLOW_SECRETS=1 git push ...`" if command.startswith("git push") else None
        guard.check_secrets(path, repo, remote, [s.split(":")[0] for s in specs], local, timeout, command, override)
    # A ref whose remote copy holds bad data (the pull refused to merge it) cannot go over it: leave it out.
    specs += [f"^{ref}" for ref in _refused_locals(report, remote) if any(r == ref for r in local)]
    # Explicit refspecs override remote.<name>.push and push.default, so user branches never travel.
    # Not --no-verify: the user's own pre-push hooks still vet what we push (ours skips itself).
    proc = run_git(path, "push", "--porcelain", "--no-follow-tags", "--no-signed", "--recurse-submodules=no",
                   remote, *specs, action="push to", remote=remote, timeout=timeout, check=False)
    diverged, refused, stale = [], [], []
    for line in proc.stdout.splitlines():
        flag, _, rest = line.partition("\t")
        if len(flag) != 1 or not rest:
            continue  # "To <url>", "Done"
        spec, _, summary = rest.partition("\t")
        dst = spec.rpartition(":")[2]
        if flag == "*":
            report.pushed[dst] = "new"
        elif flag in " +":
            report.pushed[dst] = "updated"
        elif flag == "!":
            behind = "non-fast-forward" in summary or "fetch first" in summary
            if behind and dst.startswith("refs/ell/inv/"):
                # Only one clone writes a writer ref: either this clone forgot old invocations (`ell gc
                # --forget-invocations-before` makes a new root), or a copied repository shares its writer id.
                stale.append(_stale_writer_ref(path, remote, dst))
            elif behind:
                diverged.append(dst)
            else:
                refused.append(f"{dst} {summary.strip()}")
    if refused:
        raise SyncError(f"'{remote}' rejected the push of {', '.join(refused + stale)}: check the remote's hooks "
                        f"and your permissions; local data is unchanged")
    if stale:
        raise SyncError(f"'{remote}' did not take {', '.join(stale)}; local data is unchanged")
    if diverged:
        raise SyncError(f"'{remote}' has history this clone lacks on {', '.join(diverged)}: "
                        f"run `ell sync {remote}` to merge it and push again", diverged=True)
    if proc.returncode != 0:
        raise SyncError(explain(proc.stderr, "push to", remote))


def _stale_writer_ref(path: Path, remote: str, ref: str) -> str:
    """Why the remote refused this clone's own invocation ref, and what to do."""
    repo = open_repo(path)
    tip = repo.references.get(ref)
    root = None
    if tip is not None:
        for root in repo.walk(tip.target, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE):
            break
    if root is not None and any(l.startswith("Ell-Forgotten: ") for l in root.message.splitlines()):
        theirs = repo.references.get(f"{TRACKING_PREFIX}{remote}/inv/{ref[len('refs/ell/inv/'):]}")
        lease = f"{ref}:{theirs.target}" if theirs is not None else ref
        return (f"{ref} (this clone forgot old invocations with `ell gc --forget-invocations-before` and "
                f"'{remote}' still has them: to forget them there too, run `git push --force-with-lease={lease} "
                f"{remote} {ref}`)")
    return f"{ref} (it has invocations this clone lacks: was this repository copied with its .git/ell writer id?)"


def _refused_locals(report: SyncReport, remote: str) -> list[str]:
    """Local refs whose fetched copy was refused (bad data): version, evaluation and notes refs."""
    tracking = f"{TRACKING_PREFIX}{remote}/"
    out = []
    for ref in report.refused:
        rest = ref[len(tracking):] if ref.startswith(tracking) else ""
        ns, _, name = rest.partition("/")
        if ns in MERGED_NAMESPACES:
            out.append(f"refs/ell/{ns}/{name}")
        elif ns == "notes":
            out.append(f"refs/notes/{name}")
    return out
