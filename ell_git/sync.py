"""Share `refs/ell/*` with git remotes: fetch into a tracking namespace, merge, push.

`git fetch`/`git push` do the transport (shelled out, so users' credentials, ssh config and hosting just
work); this module decides what to fetch and push and merges what came back. Only refs under
`refs/ell/` and `refs/notes/ell*` are ever written: never the user's branches, HEAD, index or work tree.

Namespaces (see hooks/README.md for the full rationale):

    remote                       local tracking copy                       merged into
    refs/ell/lmp/<name>     →    refs/ell/remotes/<remote>/lmp/<name>      refs/ell/lmp/<name>
    refs/ell/eval/<name>    →    refs/ell/remotes/<remote>/eval/<name>     refs/ell/eval/<name>
    refs/ell/inv/<writer>   →    refs/ell/remotes/<remote>/inv/<writer>    (never: readers union them)
    refs/notes/ell*         →    refs/ell/remotes/<remote>/notes/ell*      refs/notes/ell* (line union)
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import pygit2

from . import refs
from .errors import SyncError
from .repo import open_repository

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

#: Where fetched refs live; `refs/ell/remotes/<remote>/{lmp,inv,eval,notes}/...`.
TRACKING_PREFIX = "refs/ell/remotes/"
#: Histories merged on pull (a version is a commit, so the union of histories is the union of versions).
MERGED_NAMESPACES = ("lmp", "eval")
#: Per-writer refs: fetched, never merged (nobody else writes them, so they never diverge).
FETCHED_NAMESPACES = ("inv",)
#: Not forced: a push must never drop history from the remote; divergence is resolved by `sync`.
#: Only this clone's own `refs/ell/inv/*` match (tracking copies live under refs/ell/remotes/).
PUSH_REFSPECS = (
    "refs/ell/lmp/*:refs/ell/lmp/*",
    "refs/ell/eval/*:refs/ell/eval/*",
    "refs/ell/inv/*:refs/ell/inv/*",
    "refs/notes/ell*:refs/notes/ell*",
)
_MERGE_IDENTITY = ("ell-git sync", "ell-git@localhost")
_CAS_ATTEMPTS = 20
_SYNC_ATTEMPTS = 4


def fetch_refspecs(remote: str) -> list[str]:
    """Forced refspecs that copy a remote's ell refs into our tracking namespace for `remote`.

    Sub-namespaces are listed one by one (never `refs/ell/*`) so a remote that is itself a clone does not
    hand us its own `refs/ell/remotes/*`. Tracking notes live under refs/ell/, not refs/notes/, so the
    `refs/notes/ell*` glob can never match them either.
    """
    specs = [f"+refs/ell/{ns}/*:{TRACKING_PREFIX}{remote}/{ns}/*" for ns in (*MERGED_NAMESPACES, *FETCHED_NAMESPACES)]
    return specs + [f"+refs/notes/ell*:{TRACKING_PREFIX}{remote}/notes/ell*"]


@dataclass
class SyncReport:
    """What one pull/push/sync did. Dict keys are full local ref names (pushes: remote ref names)."""

    remote: str
    lmp: dict[str, str] = field(default_factory=dict)  # new | same | ahead | fast-forward | merged
    eval: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    inv_fetched: int = 0  # invocation refs that were new or moved on the remote
    pushed: dict[str, str] = field(default_factory=dict)  # new | updated (refs already up to date omitted)
    steps: list[str] = field(default_factory=list)  # "pull", "push" in the order they ran
    refused: dict[str, str] = field(default_factory=dict)  # fetched ref -> why it was not merged (bad data)
    bad_records: dict[str, str] = field(default_factory=dict)  # fetched invocation ref -> "N × problem" (skipped)

    @property
    def notes_merged(self) -> int:
        return sum(1 for o in self.notes.values() if o in ("new", "fast-forward", "merged"))

    @property
    def summary(self) -> str:
        parts = []
        for label, outcomes in (("LMP", self.lmp), ("eval", self.eval)):
            counts = Counter(o for o in outcomes.values() if o not in ("same", "ahead"))
            if counts:
                parts.append(f"{label} refs: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())))
        if self.inv_fetched:
            parts.append(f"{self.inv_fetched} invocation ref{'s' * (self.inv_fetched != 1)} fetched")
        if self.notes_merged:
            parts.append(f"{self.notes_merged} notes ref{'s' * (self.notes_merged != 1)} merged")
        if self.pushed:
            parts.append(f"{len(self.pushed)} ref{'s' * (len(self.pushed) != 1)} pushed")
        if self.refused:
            parts.append(f"{len(self.refused)} fetched ref{'s' * (len(self.refused) != 1)} not merged, nor pushed over "
                         "(bad data: " + "; ".join(f"{r}: {why}" for r, why in sorted(self.refused.items())[:3])
                         + "; it is repaired in the clone that pushed it)")
        if self.bad_records:
            n = sum(int(v.split(" ", 1)[0]) for v in self.bad_records.values())
            parts.append(f"{n} fetched record{'s' * (n != 1)} are not the storage format (skipped by readers; "
                         "`ell doctor` names them)")
        return f"{self.remote}: " + ("; ".join(parts) if parts else "already in sync")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes_merged": self.notes_merged, "summary": self.summary}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def _note(self, table: dict[str, str], ref: str, outcome: str) -> None:
        # A retried pull reports "same" for what the first one merged: keep the informative outcome.
        if table.get(ref) in (None, "same", "ahead"):
            table[ref] = outcome


# -- public API -------------------------------------------------------------------------------------


def pull(repo_path: str | os.PathLike[str], remote: str = "origin", *, fetch: bool = True,
         timeout: float | None = None) -> SyncReport:
    """Fetch the remote's ell refs into `refs/ell/remotes/<remote>/` and merge them into local refs.

    With `fetch=False` only merges what an earlier `git fetch` (configured refspecs) brought in.
    """
    from . import guard

    path = _repo_root(repo_path)
    _check_remote(path, remote)
    guard.check_forget_done(path, _open(path), remote, timeout, offline=not fetch)
    report = SyncReport(remote)
    _pull_into(report, path, remote, fetch, timeout)
    return report


def push(repo_path: str | os.PathLike[str], remote: str = "origin", *, timeout: float | None = None,
         allow_secrets: bool = False, command: str = "ell push") -> SyncReport:
    """Push local ell refs (fast-forward only), the parts ``git config ell.share`` shares.

    Raises SyncError if the remote has diverged (run `sync`) or after `ell forget` until its force
    pushes to this remote are done, `ell_git.secrets.SecretsFound` if what would be sent holds
    secrets (unless `allow_secrets`)."""
    path = _repo_root(repo_path)
    _check_remote(path, remote)
    report = SyncReport(remote)
    _push_into(report, path, remote, timeout, allow_secrets, command)
    return report


def sync(repo_path: str | os.PathLike[str], remote: str = "origin", *, timeout: float | None = None,
         allow_secrets: bool = False, command: str = "ell sync") -> SyncReport:
    """Pull (fetch + merge) then push; if someone pushed in between, pull and push again (bounded)."""
    from . import guard

    path = _repo_root(repo_path)
    _check_remote(path, remote)
    guard.check_forget_done(path, _open(path), remote, timeout)
    report = SyncReport(remote)
    for attempt in range(_SYNC_ATTEMPTS):
        _pull_into(report, path, remote, True, timeout)
        try:
            _push_into(report, path, remote, timeout, allow_secrets, command)
            return report
        except SyncError as exc:
            if not exc.diverged:
                raise
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))  # let the other pusher finish
    raise SyncError(f"'{remote}' kept changing while syncing (others pushed {_SYNC_ATTEMPTS} times in a row): "
                    f"run `ell sync {remote}` again")


# -- pull -------------------------------------------------------------------------------------------


def _pull_into(report: SyncReport, path: Path, remote: str, fetch: bool, timeout: float | None) -> None:
    report.steps.append("pull")
    tracking = f"{TRACKING_PREFIX}{remote}/"
    before = _refs(_open(path), tracking)
    if fetch:
        # --no-write-fetch-head: FETCH_HEAD belongs to the user; --no-prune: never drop fetched data.
        _git(path, "fetch", "--no-tags", "--no-write-fetch-head", "--no-prune", "--no-recurse-submodules",
             "--quiet", remote, *fetch_refspecs(remote), action="fetch from", remote=remote, timeout=timeout)
    repo = _open(path)  # reopened: the fetch wrote refs and packs behind libgit2's back
    after = _refs(repo, tracking)
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
                merger = _history_merger(remote, ns, local)
                report._note(table, local, _merge_ref(repo, local, theirs, remote, merger))
    for ref, theirs in sorted(after.items()):
        if ref.startswith(tracking + "notes/"):
            local = "refs/notes/" + ref[len(tracking) + len("notes/"):]
            if _refuse(report, report.notes, repo, "notes", ref, theirs, local):
                continue
            report._note(report.notes, local, _merge_ref(repo, local, theirs, remote, _notes_merger(remote, local)))


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


Merger = Callable[[pygit2.Repository, pygit2.Oid, pygit2.Oid], pygit2.Oid]


def _merge_ref(repo: pygit2.Repository, local: str, theirs: pygit2.Oid, remote: str, merger: Merger) -> str:
    """Move `local` to include `theirs` with compare-and-swap; retry if a local writer moves it meanwhile."""
    for attempt in range(_CAS_ATTEMPTS):
        ref = repo.references.get(local)
        if ref is None:
            try:
                refs.swap(repo, local, None, theirs)  # atomic create (libgit2's is not, across processes)
                return "new"
            except refs.CasConflict:
                continue  # a local writer created it a moment ago: merge with that
        ours = ref.target
        if ours == theirs:
            return "same"
        if repo.descendant_of(ours, theirs):
            return "ahead"
        if repo.descendant_of(theirs, ours):
            outcome, new = "fast-forward", theirs
        else:
            outcome, new = "merged", merger(repo, ours, theirs)
        try:
            ref.set_target(new, f"ell sync: {outcome} from {remote}")  # libgit2 checks the old target
            return outcome
        except (pygit2.GitError, OSError):  # OSError: another process holds the ref's lock
            time.sleep(random.uniform(0.001, 0.01) * (attempt + 1))
    raise SyncError(f"could not update {local}: local writers kept moving it; run `ell sync {remote}` again")


def _merge_commit(repo: pygit2.Repository, a: pygit2.Oid, b: pygit2.Oid, tree: pygit2.Oid | None, message: str) -> pygit2.Oid:
    """A merge commit that is byte-identical on every clone merging the same pair.

    Parents are ordered newest first (committer time, ties by id) and the newest tip's tree is kept
    unless `tree` is given; identity and time are fixed (time = newest parent's), so two clones that
    merge concurrently produce the same commit instead of a chain of merges of merges.
    """
    newer, older = sorted((repo[a], repo[b]), key=_recency, reverse=True)
    sig = pygit2.Signature(*_MERGE_IDENTITY, newer.commit_time, 0)
    return repo.create_commit(None, sig, sig, message, tree or newer.tree_id, [newer.id, older.id])


def _recency(commit: pygit2.Commit) -> tuple[int, str]:
    return commit.commit_time, str(commit.id)


def _history_merger(remote: str, ns: str, local: str) -> Merger:
    def merge(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid) -> pygit2.Oid:
        newer = max(repo[ours], repo[theirs], key=_recency)  # not `ours`: both clones must name it alike
        name = _display_name(repo, newer.id, local.split("/", 3)[3])
        trailer = "Ell-Lmp" if ns == "lmp" else "Ell-Eval"
        kind = "versions" if ns == "lmp" else "runs"
        msg = f"Merge {name} {kind} from {remote}\n\nEll-Merge: {remote}\n{trailer}: {name}\n"
        return _merge_commit(repo, ours, theirs, None, msg)

    return merge


def _display_name(repo: pygit2.Repository, tip: pygit2.Oid, escaped: str) -> str:
    """The LMP's real name: the tip's `Ell-Lmp` trailer, else its meta.json, else the unescaped ref."""
    commit = repo[tip]
    for line in reversed(commit.message.splitlines()):
        if line.startswith("Ell-Lmp: ") and line[9:].strip():
            return line[9:].strip()
    try:
        name = json.loads(commit.tree["meta.json"].data).get("name")
        if isinstance(name, str) and name and "\n" not in name:
            return name
    except (KeyError, ValueError, AttributeError):
        pass
    return refs.unescape(escaped) or escaped


# -- notes: union of lines, like `git notes merge -s cat_sort_uniq` -------------------------------


def _notes_merger(remote: str, local: str) -> Merger:
    def merge(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid) -> pygit2.Oid:
        tree = _notes_union(repo, repo[ours].tree, repo[theirs].tree)
        msg = f"Merge notes {local} from {remote}\n\nEll-Merge: {remote}\nEll-Notes: {local}\n"
        return _merge_commit(repo, ours, theirs, tree, msg)

    return merge


def _notes_union(repo: pygit2.Repository, a: pygit2.Tree, b: pygit2.Tree) -> pygit2.Oid:
    """Union of two notes trees; a note present on both sides with different text keeps every distinct
    line, sorted (git's cat_sort_uniq). Done in-process for a CAS update and a deterministic commit."""
    merged: dict[str, pygit2.Oid] = dict(_note_blobs(repo, a))
    for key, oid in _note_blobs(repo, b):
        if key in merged and merged[key] != oid:
            lines = set(repo[merged[key]].data.splitlines()) | set(repo[oid].data.splitlines())
            oid = repo.create_blob(b"".join(line + b"\n" for line in sorted(lines) if line))
        merged[key] = oid
    # Fan out like git does for big notes trees, so rewriting the tree stays cheap.
    fanout = len(merged) > 256
    groups: dict[str, dict[str, pygit2.Oid]] = {}
    top = repo.TreeBuilder()
    for key, oid in merged.items():
        if fanout and len(key) > 2:
            groups.setdefault(key[:2], {})[key[2:]] = oid
        else:
            top.insert(key, oid, pygit2.GIT_FILEMODE_BLOB)
    for prefix, entries in groups.items():
        sub = repo.TreeBuilder()
        for key, oid in entries.items():
            sub.insert(key, oid, pygit2.GIT_FILEMODE_BLOB)
        top.insert(prefix, sub.write(), pygit2.GIT_FILEMODE_TREE)
    return top.write()


def _note_blobs(repo: pygit2.Repository, tree: pygit2.Tree, prefix: str = ""):
    """(annotated object id, blob id) for every note, whatever fan-out the tree uses."""
    for entry in tree:
        if entry.type_str == "tree" and len(entry.name) == 2 and _is_hex(entry.name):
            yield from _note_blobs(repo, repo[entry.id], prefix + entry.name)
        elif entry.type_str == "blob":
            yield prefix + entry.name, entry.id


def _is_hex(s: str) -> bool:
    return all(c in "0123456789abcdef" for c in s)


# -- push -------------------------------------------------------------------------------------------


def _push_into(report: SyncReport, path: Path, remote: str, timeout: float | None, allow_secrets: bool = False,
               command: str = "ell push") -> None:
    from . import guard, share

    report.steps.append("push")
    repo = _open(path)
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
    proc = _git(path, "push", "--porcelain", "--no-follow-tags", "--no-signed", "--recurse-submodules=no",
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
        raise SyncError(_explain(proc.stderr, "push to", remote))


def _stale_writer_ref(path: Path, remote: str, ref: str) -> str:
    """Why the remote refused this clone's own invocation ref, and what to do."""
    repo = _open(path)
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


# -- git plumbing -----------------------------------------------------------------------------------


def _git(path: Path, *args: str, action: str, remote: str, timeout: float | None = None,
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
        raise SyncError(_explain(err, action, remote))
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


def _explain(stderr: str, action: str, remote: str) -> str:
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


def _repo_root(repo_path: str | os.PathLike[str]) -> Path:
    try:
        repo = open_repository(repo_path, create=False)
    except FileNotFoundError:
        raise SyncError(f"not a git repository: {repo_path}: run `git init` there or pass the repository path") from None
    return Path(repo.workdir or repo.path)


def _open(path: Path) -> pygit2.Repository:
    return pygit2.Repository(str(path))


def _check_remote(path: Path, remote: str) -> None:
    repo = _open(path)
    names = list(repo.remotes.names())
    if remote not in names:
        known = f" (known: {', '.join(names)})" if names else ""
        raise SyncError(f"unknown remote '{remote}'{known}: add it with `git remote add {remote} <url>`")
    if not pygit2.reference_is_valid_name(f"{TRACKING_PREFIX}{remote}/lmp/x"):
        raise SyncError(f"remote name '{remote}' cannot be used in a ref name: rename it with `git remote rename`")


def _refs(repo: pygit2.Repository, prefix: str) -> dict[str, pygit2.Oid]:
    out = {}
    for name in repo.references:
        if name.startswith(prefix):
            ref = repo.references.get(name)
            if ref is not None and ref.type == pygit2.enums.ReferenceType.DIRECT:
                out[name] = ref.target
    return out
