"""Repairing an ell ref whose tip or history lacks objects (see `integrity` for how that happens).

Such a ref makes git fail on the whole repository (`git gc`, `git repack`, `git fsck`: "bad
object"), so it must not stay. `heal` moves it, by compare-and-swap, to a history that is whole:

* onto its **newest intact ancestor** (on the first-parent line; else the best of `candidates`,
  commits the caller knows were whole: the parent it built on, the ref's checkpoint);
* carrying over what the damaged part still holds: for invocation and notes refs, whose trees
  accumulate, the newest readable tree with its missing entries left out; for version and
  evaluation refs, each version or run whose commit and files are all present, recommitted with
  its own author, message and files;
* a fetched copy (``refs/ell/remotes/...``) is deleted instead: the next `ell pull` fetches it again.

What nothing could carry over is counted in the `Repair`; the caller (a writer, `ell doctor
--repair`) then commits again what journals hold and says what happened in one warning.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import Iterable

import pygit2

from . import integrity as ig
from . import refs
from .errors import CasConflict
from .layout import FORMAT_VERSION, SEGMENT_SUFFIX

#: Before repairing, a missing object is looked for again this many times (a repack swapping packs
#: can hide an object for an instant from a reader that listed the packs just before).
CONFIRM_ATTEMPTS = 3
CONFIRM_PAUSE = 0.05


@dataclass
class Repair:
    """What `heal` did to one ref."""

    ref: str
    old: str  # the damaged tip
    new: str | None  # where the ref points now (None: deleted)
    base: str | None  # the newest intact ancestor it was moved onto (None: a new root)
    missing: list[str] = field(default_factory=list)  # ids of the objects found missing (the first ones)
    salvaged: int = 0  # versions or runs recommitted, or segments kept, from the damaged part
    lost_versions: list[str] = field(default_factory=list)  # version ids whose files are gone
    lost_paths: list[str] = field(default_factory=list)  # invocation segments whose blob is gone
    unknown: bool = False  # a missing commit or tree hid part of the history: what it held is unknown
    problem: str = ""  # what was wrong, when it is not missing objects
    objects: list[tuple[int, bytes]] = field(default_factory=list, repr=False)  # the commits and trees it wrote

    @property
    def lost_anything(self) -> bool:
        return bool(self.lost_versions or self.lost_paths or self.unknown)

    def describe(self, recommitted: int = 0) -> str:
        """One sentence: what was wrong, what was done, what was lost. `recommitted`: records the
        journals gave back afterwards; call `given_back` first, so that what they gave back is not
        counted as lost. The sentence has the same words for the same kind of repair (only figures
        and ids change), so the store warns once per kind of outcome."""
        more = f" and {len(self.missing) - 1} more" if len(self.missing) > 1 else ""
        if self.new is None and _kind(self.ref) == "remote":
            done = "deleted it (a fetched copy: the next `ell pull` brings it back)"
        elif self.new is None:
            done = "deleted it (nothing in it could be read)"
        else:
            onto = f"reset it to {self.base[:12]}, its newest intact commit" if self.base else "rebuilt it from scratch"
            unit = {"inv": "segments", "notes": "notes"}.get(_kind(self.ref), "versions or runs")
            done = (f"{onto} ({self.salvaged} {unit} of the damaged part kept, {recommitted} records committed "
                    "again from the journals)")
        lost = []
        if self.lost_versions:
            lost.append(f"{len(self.lost_versions)} version(s) ({', '.join(self.lost_versions[:3])})")
        if self.lost_paths:
            lost.append(f"{len(self.lost_paths)} invocation segment(s) no journal held ({self.lost_paths[0]})")
        if lost:
            tail = "lost: " + " and ".join(lost)
        elif self.unknown:
            tail = "nothing known lost (a missing commit or tree cannot be read: what journals held is back)"
        else:
            tail = "nothing lost"
        problem = self.problem or (f"lacked {len(self.missing)} object(s) ({self.missing[0][:12] if self.missing else '?'}"
                                   f"{more}; deleted by a concurrent `git gc --prune=now`, `git prune` or "
                                   "`git repack -ad`, or by hand)")
        return f"{self.ref} {problem}: {done}; {tail}"

    def given_back(self, repo: pygit2.Repository) -> None:
        """Forget, from what is lost, what the ref holds again (a journal gave it back)."""
        tip = refs.read_tip(repo, self.ref)[1] if self.new is not None else None
        if tip is None:
            return
        tree = repo[tip].tree_id
        from .layout import lookup

        odb = ig.fresh_odb(repo)
        self.lost_paths = [p for p in self.lost_paths if (oid := lookup(repo, tree, p)) is None or not odb.exists(oid)]
        if self.lost_versions:
            have = {_trailer(c.message, "Ell-Version") for c in repo.walk(tip, pygit2.enums.SortMode.NONE)}
            self.lost_versions = [v for v in self.lost_versions if v not in have]


def _kind(ref: str) -> str:
    if ref.startswith(refs.REMOTES_PREFIX):
        return "remote"
    if ref.startswith(refs.INV_PREFIX):
        return "inv"
    if ref.startswith(refs.NOTES_PREFIX):
        return "notes"
    return "chain"  # versions, evaluation runs: one commit per item


def heal(repo: pygit2.Repository, refname: str, *, candidates: Iterable[str] = (),
         stop_at: Iterable[str] = ()) -> Repair | None:
    """Repair `refname` if its history lacks objects (None if it is whole or gone). `stop_at`:
    commits known whole (the walk stops there); `candidates`: commits to fall back on when the
    tip itself is missing. Raises `CasConflict` if others keep moving the ref."""
    for _ in range(5):
        try:
            ref = repo.references.get(refname)
        except pygit2.GitError:
            return _replace_corrupt_file(repo, refname, list(candidates) + list(stop_at))
        if ref is None or ref.type != pygit2.enums.ReferenceType.DIRECT:
            return None
        tip = str(ref.target)
        history = _confirmed_damage(repo, tip, set(stop_at))
        if history is None:
            return None
        repair = _plan(repo, refname, tip, history, list(candidates), set(stop_at))
        repair.objects = _written(repo, repair.new, repair.base)
        try:
            if repair.new is None:
                _delete(repo, refname, tip)
            elif repair.new != tip:
                refs.swap(repo, refname, ref, pygit2.Oid(hex=repair.new))
            return repair
        except CasConflict:
            continue  # moved meanwhile: look again
    raise CasConflict(f"could not repair {refname}: others kept moving it")


def _written(repo: pygit2.Repository, new: str | None, base: str | None) -> list[tuple[int, bytes]]:
    """The raw commits and trees between `new` and `base` (what a repair wrote), to write them again."""
    if new is None or new == base:
        return []
    odb = ig.fresh_odb(repo)
    below = set(ig.check_history(odb, base).commits) if base else set()
    out: list[tuple[int, bytes]] = []
    seen: set[str] = set()
    stack = [new]
    while stack:
        c = stack.pop()
        data = ig.read(odb, c, ig.COMMIT)
        if c in below or c in seen or data is None:
            continue
        seen.add(c)
        out.append((ig.COMMIT, data))
        tree, parents = ig.parse_commit(data)
        stack.extend(parents)
        trees = [tree]
        while trees:
            t = trees.pop()
            raw = ig.read(odb, t, ig.TREE)
            if raw is None or t in seen:
                continue
            seen.add(t)
            out.append((ig.TREE, raw))
            trees.extend(e for m, _, e in ig.parse_tree(raw) if m & 0o170000 == 0o040000)
    return out


def _replace_corrupt_file(repo: pygit2.Repository, refname: str, candidates: list[str]) -> Repair | None:
    """A loose ref file that holds no object id (git cannot even delete it): move it aside (kept under
    ``.git/ell/damaged-refs/`` for inspection) and point the ref at its newest intact known commit."""
    from .repo import common_dir, ell_dir

    path = os.path.join(common_dir(repo), *refname.split("/"))
    try:
        with open(path, "rb") as f:
            text = f.read(200)
    except OSError:
        return None
    odb = ig.fresh_odb(repo)
    base = _best_candidate(repo, odb, [c for c in candidates if c], set()) or _best_candidate(repo, odb, _scan(repo, refname), set())
    keep = os.path.join(ell_dir(repo), "damaged-refs")
    os.makedirs(keep, exist_ok=True)
    os.replace(path, os.path.join(keep, f"{refname.replace('/', '%2F')}.{int(time.time())}"))
    if base is not None:
        res = subprocess.run(["git", f"--git-dir={repo.path}", "update-ref", refname, base, "0" * 40],
                             capture_output=True, text=True, timeout=60, check=False)
        if res.returncode != 0:
            raise CasConflict(res.stderr.strip() or f"could not recreate {refname}")
    shown = text.decode("utf-8", "replace").strip()[:40]
    repair = Repair(refname, f"a damaged ref file ({shown!r})", base, base, [f"ref file {shown!r}"], unknown=True,
                    problem=f"was a damaged ref file holding {shown!r} (kept in .git/ell/damaged-refs/)")
    return repair


def _confirmed_damage(repo: pygit2.Repository, tip: str, stop: set[str]) -> ig.History | None:
    """The history of `tip` if it is damaged, looked at again (fresh) until the damage is certain."""
    for attempt in range(CONFIRM_ATTEMPTS):
        history = ig.check_history(ig.fresh_odb(repo), tip, stop_at=stop)
        if history.intact:
            return None
        if attempt + 1 < CONFIRM_ATTEMPTS:
            time.sleep(CONFIRM_PAUSE)
    return history


def _plan(repo: pygit2.Repository, refname: str, tip: str, h: ig.History, candidates: list[str],
          stop: set[str]) -> Repair:
    odb = ig.fresh_odb(repo)
    kind = _kind(refname)
    base = h.newest_intact
    if base is None:
        base = _best_candidate(repo, odb, [c for c in candidates if c], stop)
    if base is None:  # the history is cut: look for this ref's commits below the cut (slow, but rare)
        base = _best_candidate(repo, odb, [c for c in _scan(repo, refname) if c not in h.bad], stop)
    repair = Repair(refname, tip, None, base, [m.oid for m in h.missing])
    # A missing commit hides the rest of its history; a missing tree of an accumulating ref hides
    # which segments it held.
    repair.unknown = any(m.kind in ("commit", "non-commit") or (m.kind == "tree" and kind in ("inv", "notes"))
                         for m in h.missing)
    if kind == "remote":
        return repair
    if kind in ("inv", "notes"):
        repair.new = _salvage_tree(repo, odb, refname, h, base, repair)
    else:
        repair.new = _salvage_chain(repo, odb, h, base, repair)
    return repair


def _best_candidate(repo: pygit2.Repository, odb: pygit2.Odb, candidates: list[str], stop: set[str]) -> str | None:
    best: tuple[int, str] | None = None
    for c in candidates:
        data = ig.read(odb, c, ig.COMMIT)
        if data is None or not ig.check_history(odb, c, stop_at=stop).intact:
            continue
        when = repo[c].commit_time
        # Newest first; in the same second, the descendant (times have a one-second resolution).
        if best is None or when > best[0] or (when == best[0] and repo.descendant_of(c, best[1])):
            best = (when, c)
    return best[1] if best else None


def _scan(repo: pygit2.Repository, refname: str, limit: int = 10) -> list[str]:
    """The newest commits (at most `limit`) that belonged to `refname`, found by their trailers among
    every commit of the repository (slow on a big one, so only when the ref's tip itself is gone)."""
    if refname.startswith(refs.INV_PREFIX):
        key = f"Ell-Writer: {refname[len(refs.INV_PREFIX):]}"
    elif refname.startswith(refs.LMP_PREFIX) and refs.lmp_name_of(refname):
        key = f"Ell-Lmp: {refs.lmp_name_of(refname)}"
    else:
        return []
    try:
        res = subprocess.run(["git", f"--git-dir={repo.path}", "cat-file", "--batch-all-objects", "--unordered",
                              "--batch-check=%(objectname) %(objecttype)"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError):
        return []
    found: list[tuple[int, str]] = []
    for line in res.stdout.splitlines():
        oid, _, kind = line.partition(" ")
        if kind != "commit":
            continue
        try:
            commit = repo[oid]
        except (KeyError, ValueError):
            continue
        if key in commit.message.splitlines():
            found.append((commit.commit_time, oid))
    return [oid for _, oid in sorted(found, reverse=True)[:limit]]


def _first_parent_line(h: ig.History) -> list[str]:
    line, c = [], h.tip
    while c in h.commits:
        line.append(c)
        parents = h.commits[c]
        c = parents[0] if parents else ""
    return line


# -- invocation and notes refs: trees that accumulate ------------------------------------------------


def _salvage_tree(repo: pygit2.Repository, odb: pygit2.Odb, refname: str, h: ig.History, base: str | None,
                  repair: Repair) -> str | None:
    base_tree = parse_tree_of(odb, base) if base else None
    source = None
    for c in _first_parent_line(h):
        if c == base:
            break
        tree = parse_tree_of(odb, c)
        if tree is not None and ig.read(odb, tree, ig.TREE) is not None:
            source = tree
            break
    kept_tree, lost = (None, [])
    if source is not None:
        kept_tree, lost = _readable(repo, odb, source)
    repair.lost_paths = lost
    if kept_tree is None:
        return base
    merged = _union(repo, odb, base_tree, kept_tree) if base_tree else kept_tree
    if base_tree is not None and merged == base_tree:
        return base
    base_segments = _segments(odb, base_tree) if base_tree else set()
    repair.salvaged = len(_segments(odb, merged) - base_segments)
    sig = pygit2.Signature("ell-git repair", "ell-git@localhost", int(time.time()), 0)
    owner = f"Ell-Writer: {refname[len(refs.INV_PREFIX):]}\n" if refname.startswith(refs.INV_PREFIX) else ""
    msg = (f"Repair {refname}: lacked {len(h.missing)} object(s)\n\nEll-Repair: {repair.old}\n{owner}"
           f"Ell-Format: {FORMAT_VERSION}\n")
    return str(repo.create_commit(None, sig, sig, msg, pygit2.Oid(hex=merged), [pygit2.Oid(hex=base)] if base else []))


def parse_tree_of(odb: pygit2.Odb, commit: str | None) -> str | None:
    data = ig.read(odb, commit, ig.COMMIT) if commit else None
    return ig.parse_commit(data)[0] if data is not None else None


def _readable(repo: pygit2.Repository, odb: pygit2.Odb, tree: str) -> tuple[str | None, list[str]]:
    """`tree` without what is missing under it: (tree id or None if nothing is left, paths of the
    segments whose blob is missing)."""
    lost: list[str] = []

    def walk(oid: str, prefix: str) -> str | None:
        data = ig.read(odb, oid, ig.TREE)
        if data is None:
            return None
        tb = repo.TreeBuilder()
        for mode, name, eid in ig.parse_tree(data):
            try:
                text = name.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if mode & 0o170000 == 0o040000:
                sub = walk(eid, f"{prefix}{text}/")
                if sub is not None:
                    tb.insert(text, pygit2.Oid(hex=sub), mode)
            elif odb.exists(eid):
                tb.insert(text, pygit2.Oid(hex=eid), mode)
            elif text.endswith(SEGMENT_SUFFIX):
                lost.append(prefix + text)
        return str(tb.write()) if len(tb) else None

    return walk(tree, ""), lost


def _union(repo: pygit2.Repository, odb: pygit2.Odb, a: str, b: str) -> str:
    """Tree `a` with every entry of `b` added (b wins on a file; directories are merged)."""
    if a == b:
        return a
    a_entries = {name: (mode, eid) for mode, name, eid in ig.parse_tree(ig.read(odb, a, ig.TREE) or b"")}
    tb = repo.TreeBuilder(repo[a])
    for mode, name, eid in ig.parse_tree(ig.read(odb, b, ig.TREE) or b""):
        text = name.decode("utf-8", "replace")
        mine = a_entries.get(name)
        if mine is not None and mine[0] & 0o170000 == 0o040000 and mode & 0o170000 == 0o040000:
            eid = _union(repo, odb, mine[1], eid)
        tb.insert(text, pygit2.Oid(hex=eid), mode)
    return str(tb.write())


def _segments(odb: pygit2.Odb, tree: str | None) -> set[str]:
    out: set[str] = set()
    stack = [tree] if tree else []
    while stack:
        data = ig.read(odb, stack.pop(), ig.TREE) or b""
        for mode, name, eid in ig.parse_tree(data):
            if mode & 0o170000 == 0o040000:
                stack.append(eid)
            elif name.endswith(SEGMENT_SUFFIX.encode()):
                out.add(eid)
    return out


# -- version and evaluation refs: one commit per item -----------------------------------------------


def _salvage_chain(repo: pygit2.Repository, odb: pygit2.Odb, h: ig.History, base: str | None,
                   repair: Repair) -> str | None:
    kept = set(ig.check_history(odb, base).commits) if base else set()
    known = {_trailer(repo[c].message, "Ell-Version") for c in kept} - {None}
    damaged = [c for c in _oldest_first(h) if c not in kept]
    trees = ig.TreeChecker(odb)
    tip = base
    for c in damaged:
        commit = repo[c]
        vid = _trailer(commit.message, "Ell-Version")
        if len(commit.parent_ids) > 1:
            continue  # a merge made by sync: its content is in its parents
        if trees.missing_in(str(commit.tree_id)):
            if vid and vid not in known:
                repair.lost_versions.append(vid)
            continue
        if vid and vid in known:
            continue
        new = repo.create_commit(None, commit.author, commit.committer, commit.message, commit.tree_id,
                                 [pygit2.Oid(hex=tip)] if tip else [])
        tip = str(new)
        repair.salvaged += 1
        if vid:
            known.add(vid)
    return tip


def _oldest_first(h: ig.History) -> list[str]:
    """The walked present commits, parents before children."""
    order: list[str] = []
    done: set[str] = set()
    for start in h.commits:
        stack = [start]
        while stack:
            c = stack[-1]
            if c in done:
                stack.pop()
                continue
            pending = [p for p in h.commits.get(c, []) if p in h.commits and p not in done]
            if pending:
                stack.extend(pending)
                continue
            done.add(c)
            order.append(c)
            stack.pop()
    return order


def _trailer(message: str, key: str) -> str | None:
    for line in reversed(message.splitlines()):
        if line.startswith(key + ": "):
            return line[len(key) + 2 :].strip()
    return None


def _delete(repo: pygit2.Repository, refname: str, old: str) -> None:
    res = subprocess.run(["git", f"--git-dir={repo.path}", "update-ref", "-d", refname, old],
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise CasConflict(res.stderr.strip() or f"could not delete {refname}")
