"""`ell forget`: erase invocations from this clone's ell history, and secrets recorded before redaction.

Invocations are chosen by id, LMP, version, time range and text (criteria combine: all must hold);
they are erased from every invocation ref of this clone (its own and the copies fetched from
remotes), with the feedback given on them, and their outputs in evaluation results become
``<forgotten>``; with a text, feedback comments and evaluation outputs holding it go too.
``--secrets`` replaces every secret the detectors find, in versions, invocations, evaluations and
notes. Only ``refs/ell/*`` and ``refs/notes/ell*`` move (by compare-and-swap); the
read cache is dropped so nothing forgotten is shown again.

A remote still has the old history. Forgetting records, per remote, the force pushes that replace
it (``git push --force-with-lease=<ref>:<what the remote has> ...``: refused if someone pushed
meanwhile) in ``.git/ell/forget.json``, and `ell push`/`pull`/`sync` to that remote refuse to run
until they are done, because a pull would merge the old history back.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import subprocess
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Optional

import pygit2

from . import leases, refs
from .errors import CasConflict, EllGitError, NothingToForget
from .repo import ell_dir, open_repository

if TYPE_CHECKING:
    from .rewrite import Trees

__all__ = ["ForgetReport", "NothingToForget", "forget"]

_TRACKING = refs.REMOTES_PREFIX


@dataclass
class ForgetReport:
    forgotten: list[str] = field(default_factory=list)  # invocation ids erased
    redacted: int = 0  # records whose secrets were replaced
    refs: dict[str, list[Optional[str]]] = field(default_factory=dict)  # ref -> [old, new (None: deleted)]
    pushes: dict[str, str] = field(default_factory=dict)  # remote -> the git push command left to run
    live_journals: int = 0  # programs recording into this repository right now
    remaining: list[str] = field(default_factory=list)  # definitions that still hold the --match text
    dry_run: bool = False
    pruned: bool = False

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary}

    @property
    def summary(self) -> str:
        verb = "would forget" if self.dry_run else "forgot"
        parts = [f"{verb} {len(self.forgotten)} invocation{'s' * (len(self.forgotten) != 1)}"]
        if self.redacted:
            parts.append(f"replaced secrets in {self.redacted} record{'s' * (self.redacted != 1)}")
        parts.append(f"{len(self.refs)} ell ref{'s' * (len(self.refs) != 1)} "
                     f"{'to rewrite' if self.dry_run else 'rewritten'}")
        return "; ".join(parts)

    def lines(self) -> list[str]:
        out = [self.summary]
        if self.remaining:
            out.append("note: the text is also in what your code defines, which forget does not rewrite: "
                       f"{', '.join(self.remaining)}; change your code (a new version or evaluation follows)")
        if self.live_journals:
            out.append(f"warning: {self.live_journals} program(s) are recording into this repository now; calls they "
                       "made before this may still be committed: run `ell forget` again once they stop")
        if self.dry_run or not self.refs:
            return out
        if self.pushes:
            out.append("The remotes still have the old history. To replace it there (refused if someone pushed "
                       "meanwhile; `ell push`/`pull`/`sync` to these remotes wait until it is done):")
            out += [f"  {command}" for command in self.pushes.values()]
            out.append("Then the remote keeps the old objects until it is garbage-collected (`git gc --prune=now` "
                       "on a server you run; hosting services: ask them to run gc). Other clones keep their copy: "
                       "run the same `ell forget` there.")
        if not self.pruned:
            out.append("This clone's object store keeps the forgotten objects until `git gc` prunes them; "
                       "`ell forget ... --prune` (or `git gc --prune=now`) removes them now.")
        return out


def forget(path: str | os.PathLike[str] = ".", *, ids: tuple[str, ...] = (), lmp: Optional[str] = None,
           version: Optional[str] = None, before: Optional[dt.datetime] = None, after: Optional[dt.datetime] = None,
           match: Optional[str] = None, secrets: bool = False, dry_run: bool = False,
           prune: bool = False) -> ForgetReport:
    """Erase the invocations matching every given criterion (and secrets, with `secrets`)."""
    if not (ids or lmp or version or before or after or match or secrets):
        raise NothingToForget("nothing to forget: give --invocation, --lmp, --version, --before/--after, --match "
                              "or --secrets")
    repo = open_repository(path, create=False)
    report = ForgetReport(dry_run=dry_run)
    if not dry_run:
        report.live_journals = _commit_orphan_journals(repo)
    version_id = _resolve_version(repo, lmp, version) if version else None
    pick = _picker(set(ids), lmp, version_id, before, after, match) if (ids or lmp or version or before or after
                                                                           or match) else None
    from .rewrite import Selection, Trees
    from .secrets import policy_for

    needle = match.casefold() if match else None
    selection = Selection(pick=pick, secrets=secrets, policy=policy_for(repo),
                          matches=(lambda text: needle in text.casefold()) if needle else None)
    trees = Trees(repo, selection)
    plan = _rewrite_all(repo, trees, secrets, dry_run)
    missing = set(ids) - selection.forgotten
    if missing and dry_run:
        raise NothingToForget(f"no invocation {', '.join(sorted(missing))} in this clone's ell history "
                              "(`ell invocations` lists them)")
    report.forgotten = sorted(selection.forgotten)
    report.redacted = len(selection.redacted)
    report.refs = {ref: [old, new] for ref, (old, new) in plan.items()}
    if match:
        report.remaining = _definitions_holding(repo, match)
    if dry_run or not plan:
        if missing:
            raise NothingToForget(f"no invocation {', '.join(sorted(missing))} in this clone's ell history "
                                  "(`ell invocations` lists them); nothing was changed")
        return report
    _drop_local_traces(repo, list(plan))
    report.pushes = leases.record(repo, plan)
    if prune:
        _git(repo, "gc", "--quiet", "--prune=now")
        report.pruned = True
    return report


# -- choosing -----------------------------------------------------------------------------------------


def _picker(ids: set[str], lmp: Optional[str], version_id: Optional[str], before: Optional[dt.datetime],
            after: Optional[dt.datetime], match: Optional[str]):
    lo = after.replace(tzinfo=after.tzinfo or dt.timezone.utc).timestamp() if after else None
    hi = before.replace(tzinfo=before.tzinfo or dt.timezone.utc).timestamp() if before else None
    needle = match.casefold() if match else None

    def pick(record: dict[str, Any], text: str) -> bool:
        if ids and record.get("id") not in ids:
            return False
        if lmp is not None and record.get("lmp_name") != lmp:
            return False
        if version_id is not None and not str(record.get("version_id", "")).startswith(version_id):
            return False
        t = record.get("started_at")
        t = float(t) if isinstance(t, (int, float)) else 0.0
        if (lo is not None and t < lo) or (hi is not None and t >= hi):
            return False
        return needle is None or needle in text.casefold()

    return pick


def _resolve_version(repo: pygit2.Repository, lmp: Optional[str], version: str) -> str:
    if not (version.startswith("v") and version[1:].isdigit()):
        return version  # a version id or a prefix of one
    if lmp is None:
        raise NothingToForget(f"--version {version} needs --lmp (vN counts the versions of one LMP)")
    from .reader import Reader

    with Reader(repo.path) as reader:
        return reader.version(lmp, version).version_id


def _definitions_holding(repo: pygit2.Repository, text: str) -> list[str]:
    """Version sources and evaluation definitions (at their refs' tips) that contain `text`."""
    needle = text.casefold()
    found = []
    for ref, tip in sorted(refs.ell_refs(repo).items()):
        if ref.startswith(refs.LMP_PREFIX):
            files = ("source.py", "closure.py")
        elif ref.startswith("refs/ell/eval/"):
            files = ("dataset.jsonl", "evaluation.json", "labelers")
        else:
            continue
        tree = repo[tip].tree
        for name in files:
            if name not in tree:
                continue
            entry = repo[tree[name].id]
            blobs = [repo[e.id] for e in entry] if isinstance(entry, pygit2.Tree) else [entry]
            if any(needle in b.data.decode("utf-8", "replace").casefold() for b in blobs if isinstance(b, pygit2.Blob)):
                found.append(f"{ref} ({name})")
    return found


# -- rewriting ----------------------------------------------------------------------------------------


def _namespace(ref: str) -> Optional[str]:
    if ref.startswith("refs/notes/ell"):
        return "notes"
    rest = ref[len("refs/ell/"):]
    if ref.startswith(_TRACKING):
        parts = ref[len(_TRACKING):].split("/", 2)
        rest = parts[1] + "/" if len(parts) > 2 else ""
    for ns in ("inv", "lmp", "eval", "notes"):
        if rest.startswith(ns + "/"):
            return ns
    return None


def _rewrite_all(repo: pygit2.Repository, trees: Trees, secrets: bool,
                 dry_run: bool) -> dict[str, tuple[str, Optional[str]]]:
    """ref -> (old tip, new tip or None: deleted) for every ref whose history changed; invocations
    first (the ids they erase matter to evaluations and notes), versions before notes (notes
    follow rewritten version commits). Each ref moves by compare-and-swap: if a program records
    meanwhile, its new tip is rewritten in turn (cheap: what was rewritten is remembered)."""
    from .rewrite import rewrite_history

    by_ns: dict[str, list[str]] = {}
    for ref in refs.ell_refs(repo, notes=True):
        ns = _namespace(ref)
        if ns is not None:
            by_ns.setdefault(ns, []).append(ref)
    plan: dict[str, tuple[str, Optional[str]]] = {}
    steps = [("inv", trees.invocation_tree, True)]
    if secrets:
        steps.append(("lmp", trees.version_tree, False))
    steps += [("eval", trees.evaluation_tree, False), ("notes", trees.notes_tree, False)]
    for ns, fn, drop in steps:
        mapping: dict[str, str] = trees.commit_map if ns == "lmp" else {}
        message = _redact_message(trees) if secrets and ns in ("lmp", "eval") else None
        for ref in sorted(by_ns.get(ns, [])):
            for _ in range(50):
                current, tip = refs.read_tip(repo, ref)
                if tip is None:
                    break
                new = rewrite_history(repo, tip, fn, drop_unchanged=drop, message_fn=message, mapping=mapping)
                if new == tip:
                    break
                if dry_run:
                    plan[ref] = (str(tip), str(new) if new is not None else None)
                    break
                try:
                    if new is None:
                        _git(repo, "update-ref", "-d", ref, str(tip))  # git's delete checks the old value
                    else:
                        refs.swap(repo, ref, current, new)
                except (CasConflict, subprocess.CalledProcessError):
                    continue
                plan[ref] = (str(tip), str(new) if new is not None else None)
                break
            else:
                raise EllGitError(f"{ref} kept moving while forgetting (programs are recording): run `ell forget` "
                                  "again once they stop; refs before it are already rewritten")
    return plan


def _redact_message(trees: Trees):
    from ell.redaction import redact_text

    def message(text: str) -> str:
        return redact_text(text, trees.sel.policy)

    return message


def _drop_local_traces(repo: pygit2.Repository, rewritten: list[str]) -> None:
    """The read cache holds previews of what was forgotten; ell's reflogs hold the old tips."""
    base = ell_dir(repo)
    for name in ("cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm", "cache.sqlite-journal"):
        try:
            os.unlink(os.path.join(base, name))
        except FileNotFoundError:
            pass
    logged = [r for r in rewritten if os.path.exists(os.path.join(repo.path, "logs", *r.split("/")))]
    if logged:
        _git(repo, "reflog", "expire", "--expire=now", "--expire-unreachable=now", *logged)


def _commit_orphan_journals(repo: pygit2.Repository) -> int:
    """Commit what crashed programs left in the journal (it would bring forgotten calls back at the
    next start); return how many journals live programs hold."""
    directory = os.path.join(ell_dir(repo), "journal")
    orphans = live = 0
    for name in os.listdir(directory) if os.path.isdir(directory) else ():
        if not name.endswith(".log"):
            continue
        try:
            fd = os.open(os.path.join(directory, name), os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            orphans += 1
        except OSError:
            live += 1
        finally:
            os.close(fd)
    if orphans:
        from .store import GitStore

        store = GitStore(repo.workdir or repo.path, autocommit=False, writer_process=False)
        try:
            store.flush(timeout=120)
        finally:
            store.close()
    return live


def _git(repo: pygit2.Repository, *args: str) -> None:
    root = repo.workdir or repo.path
    subprocess.run(["git", "-C", root, *args], check=True, capture_output=True, stdin=subprocess.DEVNULL,
                   env={**os.environ, "ELL_HOOK_ACTIVE": "1"})
