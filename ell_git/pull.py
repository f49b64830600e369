"""The pull step of sync: fetch a remote's ell refs into the tracking namespace, check what came, and
merge it into the local refs (`merge`); fetched data that is bad is refused, never merged."""

from __future__ import annotations

from pathlib import Path

import pygit2

from .gitcmd import open_repo, refs_under, run_git
from .merge import history_merger, merge_ref, notes_merger
from .remotes import MERGED_NAMESPACES, TRACKING_PREFIX, SyncReport, fetch_refspecs


def pull_into(report: SyncReport, path: Path, remote: str, fetch: bool, timeout: float | None) -> None:
    report.steps.append("pull")
    tracking = f"{TRACKING_PREFIX}{remote}/"
    before = refs_under(open_repo(path), tracking)
    if fetch:
        # --no-write-fetch-head: FETCH_HEAD belongs to the user; --no-prune: never drop fetched data.
        run_git(path, "fetch", "--no-tags", "--no-write-fetch-head", "--no-prune", "--no-recurse-submodules",
                "--quiet", remote, *fetch_refspecs(remote), action="fetch from", remote=remote, timeout=timeout)
    repo = open_repo(path)  # reopened: the fetch wrote refs and packs behind libgit2's back
    after = refs_under(repo, tracking)
    _check_fetched_invocations(report, repo, tracking, before, after)
    report.inv_fetched += sum(1 for ref, oid in after.items()
                              if ref.startswith(tracking + "inv/") and before.get(ref) != oid)
    for ns in MERGED_NAMESPACES:
        table = getattr(report, ns)
        for ref, theirs in sorted(after.items()):
            if ref.startswith(f"{tracking}{ns}/"):
                local = f"refs/ell/{ns}/{ref[len(tracking) + len(ns) + 1:]}"
                if _refuse(report, table, repo, ns, ref, theirs, local):
                    continue
                merger = history_merger(remote, ns, local)
                report._note(table, local, merge_ref(repo, local, theirs, remote, merger))
    for ref, theirs in sorted(after.items()):
        if ref.startswith(tracking + "notes/"):
            local = "refs/notes/" + ref[len(tracking) + len("notes/"):]
            if _refuse(report, report.notes, repo, "notes", ref, theirs, local):
                continue
            report._note(report.notes, local, merge_ref(repo, local, theirs, remote, notes_merger(remote, local)))


def _refuse(report: SyncReport, table: dict[str, str], repo: pygit2.Repository, ns: str, ref: str,
            theirs: pygit2.Oid, local: str) -> bool:
    """Whether fetched `ref` holds bad data (`incoming`): then `local` is left as it is and the report says why."""
    from . import incoming

    current = repo.references.get(local)
    what = incoming.problem(repo, ns, theirs, current.target if current is not None else None)
    if what is None:
        return False
    report.refused[ref] = what
    report._note(table, local, "refused")
    return True


def _check_fetched_invocations(report: SyncReport, repo: pygit2.Repository, tracking: str,
                               before: dict[str, pygit2.Oid], after: dict[str, pygit2.Oid]) -> None:
    """A fetched invocation ref that does not point to a commit is put back; bad records are counted."""
    from . import incoming

    for ref, oid in sorted(after.items()):
        if not ref.startswith(tracking + "inv/") or before.get(ref) == oid:
            continue
        what = incoming.inv_tip_problem(repo, oid)
        if what is not None:
            incoming.put_back(repo, ref, oid, before.get(ref))
            after.pop(ref)
            report.refused[ref] = what
            continue
        bad, first = incoming.bad_records(repo, before.get(ref), oid)
        if bad:
            report.bad_records[ref] = f"{bad} × {first}"
