"""Is every object a ref needs really on disk? Checks that trust nothing but the object files.

A plain `git gc --prune=now` (or `git prune`, `git repack -ad`) that listed the refs before one of
ours moved deletes the objects the move made reachable: the ref then points to a missing commit,
or its history lacks a tree or a blob, and from then on git itself fails on the whole repository.
So every check here reads through a fresh object database (`fresh_odb`): libgit2's object cache
would answer "present" for an object it read before it was deleted.

`check_history` walks a ref's commits from its tip and, for each, the objects its tree added over
its first parent's, down to commits already known to be intact (`stop_at`). `Checkpoints` keeps,
per ref, the newest commit found intact after a grace (see `durable`), so each check only walks
what is new.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Iterable

import orjson
import pygit2

COMMIT, TREE, BLOB = pygit2.enums.ObjectType.COMMIT, pygit2.enums.ObjectType.TREE, pygit2.enums.ObjectType.BLOB
_GITLINK = 0o160000  # a submodule's commit in a tree: not an object of this repository
_DIR = 0o040000


def objects_dir(repo: pygit2.Repository) -> str:
    from .repo import common_dir

    return os.path.join(common_dir(repo), "objects")


def fresh_odb(repo: pygit2.Repository) -> pygit2.Odb:
    """An object database without cache (~25 µs to open): what is on disk now, alternates included."""
    return pygit2.Odb(objects_dir(repo))


def parse_commit(data: bytes) -> tuple[str, list[str]]:
    """(tree id, parent ids) of a raw commit."""
    tree, parents = "", []
    for line in data.split(b"\n"):
        if not line:
            break
        if line.startswith(b"tree "):
            tree = line[5:].decode()
        elif line.startswith(b"parent "):
            parents.append(line[7:].decode())
    return tree, parents


def parse_tree(data: bytes) -> list[tuple[int, bytes, str]]:
    """(mode, name, id) of every entry of a raw tree."""
    out, pos, end = [], 0, len(data)
    while pos < end:
        sp = data.index(b" ", pos)
        nul = data.index(b"\0", sp)
        out.append((int(data[pos:sp], 8), data[sp + 1 : nul], data[nul + 1 : nul + 21].hex()))
        pos = nul + 21
    return out


def read(odb: pygit2.Odb, oid: str, kind: int) -> bytes | None:
    """The raw object `oid` if it is on disk and of type `kind`, else None."""
    try:
        got, data = odb.read(oid)
    except (KeyError, ValueError, pygit2.GitError):
        return None
    return data if got == kind else None


def commit_time(data: bytes) -> float:
    """The committer time of a raw commit (0 if unreadable)."""
    for line in data.split(b"\n"):
        if line.startswith(b"committer "):
            try:
                return float(line.rsplit(b" ", 2)[-2])
            except (ValueError, IndexError):
                return 0.0
        if not line:
            break
    return 0.0


def parents_of(odb: pygit2.Odb, commit: str) -> list[str]:
    data = read(odb, commit, COMMIT)
    return parse_commit(data)[1] if data is not None else []


@dataclass
class Missing:
    oid: str
    kind: str  # "commit", "tree", "blob", or "non-commit" (a ref or parent pointing to a tree or blob)
    commit: str  # the commit whose history needs it


class TreeChecker:
    """Whether trees are complete (every tree and blob below them present), remembered per tree."""

    def __init__(self, odb: pygit2.Odb) -> None:
        self.odb = odb
        self.complete: set[str] = set()
        self.present_blobs: set[str] = set()

    def missing_in(self, tree: str, base: str | None = None, limit: int = 20) -> list[tuple[str, str]]:
        """(id, kind) of objects missing under `tree`; subtrees that equal `base`'s entries (or were
        found complete before) are not walked again. At most `limit` are listed."""
        missing: list[tuple[str, str]] = []
        stack: list[tuple[str, str | None]] = [(tree, base)]
        todo: list[str] = []  # trees walked now, complete unless something under them is missing
        while stack and len(missing) < limit:
            oid, base_oid = stack.pop()
            if oid in self.complete or oid == base_oid:
                continue
            data = read(self.odb, oid, TREE)
            if data is None:
                missing.append((oid, "tree"))
                continue
            todo.append(oid)
            base_entries = {}
            if base_oid is not None:
                base_data = read(self.odb, base_oid, TREE)
                if base_data is not None:
                    base_entries = {name: eid for _, name, eid in parse_tree(base_data)}
            for mode, name, eid in parse_tree(data):
                if mode == _GITLINK or base_entries.get(name) == eid:
                    continue
                if mode & 0o170000 == _DIR:
                    stack.append((eid, base_entries.get(name)))
                elif eid not in self.present_blobs:
                    if self.odb.exists(eid):
                        self.present_blobs.add(eid)
                    else:
                        missing.append((eid, "blob"))
        if not missing and not stack and base is None:  # with a base, whole only if the base is
            self.complete.update(todo)
        return missing


@dataclass
class History:
    """What `check_history` found from one tip."""

    tip: str
    commits: dict[str, list[str]] = field(default_factory=dict)  # present commit -> parents
    bad: set[str] = field(default_factory=set)  # walked commits that are missing or incomplete
    missing: list[Missing] = field(default_factory=list)
    stopped: set[str] = field(default_factory=set)  # `stop_at` commits the walk reached
    newest_intact: str | None = None  # first-parent line: the newest commit whose whole history is whole

    @property
    def intact(self) -> bool:
        return not self.missing

    def holds(self, oid: str) -> bool:
        """Whether `oid` is in the walked part of the history."""
        return oid in self.commits or oid in self.bad


def check_history(odb: pygit2.Odb, tip: str, *, stop_at: Iterable[str] = (), trees: TreeChecker | None = None,
                  limit: int = 200, older_than: float | None = None) -> History:
    """Walk the history of `tip` (all parents) down to `stop_at` commits (taken as intact), checking
    every commit and what its tree adds over its first parent's. With `older_than` (epoch seconds),
    commits made before it are taken as intact too (and are not checked): a race with `git gc` only
    takes what was written moments before. At most `limit` missing objects are listed (the walk goes
    on: which commits are intact is always exact)."""
    stop = set(stop_at)
    trees = trees or TreeChecker(odb)
    h = History(tip)
    stack, seen = [tip], {tip}
    while stack:
        oid = stack.pop()
        if oid in stop and odb.exists(oid):  # a stop commit is taken as whole, but must be there
            h.stopped.add(oid)
            continue
        data = read(odb, oid, COMMIT)
        if data is not None and older_than is not None and oid != tip and commit_time(data) < older_than:
            stop.add(oid)
            h.stopped.add(oid)
            continue
        if data is None:
            h.bad.add(oid)
            if len(h.missing) < limit:
                h.missing.append(Missing(oid, "commit" if not odb.exists(oid) else "non-commit", tip))
            continue
        tree, parents = parse_commit(data)
        h.commits[oid] = parents
        base = None
        if parents:
            pdata = read(odb, parents[0], COMMIT)
            base = parse_commit(pdata)[0] if pdata is not None else None
        lost = trees.missing_in(tree, base, limit=max(1, limit - len(h.missing)))
        if lost:
            h.bad.add(oid)
            h.missing.extend(Missing(m, kind, oid) for m, kind in lost[: max(0, limit - len(h.missing))])
        for p in parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    h.newest_intact = _newest_intact(h, tip, stop)
    return h


def _newest_intact(h: History, tip: str, stop: set[str]) -> str | None:
    """The newest commit on the first-parent line from `tip` whose history (all parents) is whole."""
    broken: dict[str, bool] = {}

    def is_broken(start: str) -> bool:
        # Iterative post-order over parents (histories can be deep).
        stack = [start]
        while stack:
            c = stack[-1]
            if c in broken:
                stack.pop()
                continue
            if c in stop:
                broken[c] = False
                stack.pop()
                continue
            if c in h.bad or c not in h.commits:
                broken[c] = True
                stack.pop()
                continue
            pending = [p for p in h.commits[c] if p not in broken]
            if pending:
                stack.extend(pending)
                continue
            broken[c] = any(broken[p] for p in h.commits[c])
            stack.pop()
        return broken[start]

    c: str | None = tip
    while c is not None:
        if c in stop or not is_broken(c):
            return c
        parents = h.commits.get(c)
        c = parents[0] if parents else None
    return None


# -- checkpoints: commits known whole, per ref ----------------------------------------------------


class Checkpoints:
    """``<git dir>/ell/intact``: ref -> the newest commit found whole after a grace (see `durable`).

    Only a shortcut for checks (they stop there): a lost update (two processes writing at once)
    or a stale entry just means walking a little more."""

    def __init__(self, ell_dir: str) -> None:
        self.path = os.path.join(ell_dir, "intact")
        self.full_path = os.path.join(ell_dir, "intact-full-check")  # its mtime: the last full check

    def full_check_due(self, every: float) -> bool:
        try:
            return time.time() - os.stat(self.full_path).st_mtime > every
        except OSError:
            return True

    def full_check_done(self) -> None:
        try:
            with open(self.full_path, "w"):
                pass
            os.utime(self.full_path)
        except OSError:
            pass

    def load(self) -> dict[str, str]:
        try:
            with open(self.path, "rb") as f:
                data = orjson.loads(f.read())
        except (OSError, orjson.JSONDecodeError):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}

    def update(self, marks: dict[str, str | None]) -> None:
        """Set (or, with None, forget) the checkpoints of some refs."""
        current = self.load()
        for ref, oid in marks.items():
            if oid is None:
                current.pop(ref, None)
            else:
                current[ref] = oid
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(orjson.dumps(current, option=orjson.OPT_SORT_KEYS))
            os.replace(tmp, self.path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def corrupt_ref_files(repo: pygit2.Repository) -> list[str]:
    """Loose ref files under ``refs/ell/`` and ``refs/notes/ell*`` that hold no object id (libgit2 leaves
    them out of its listings; git fails on them: "bad object")."""
    from .repo import common_dir

    root = common_dir(repo)
    out = []
    for top in ("refs/ell", "refs/notes"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for fname in files:
                if fname.endswith(".lock"):
                    continue
                name = os.path.relpath(os.path.join(dirpath, fname), root).replace(os.sep, "/")
                if top == "refs/notes" and not name.startswith("refs/notes/ell"):
                    continue
                try:
                    repo.references.get(name)
                except pygit2.GitError:
                    out.append(name)
    return sorted(out)


# -- is someone collecting garbage right now? ------------------------------------------------------


def gc_running(git_dir: str) -> str | None:
    """The running `git gc`'s lock (``gc.pid``: "<pid> <host>"), if a live one holds it, else None.
    `git maintenance run --task=gc` and `git gc --auto` take it too; `git prune` and `git repack`
    alone do not (see `durable.GRACE_SECONDS`)."""
    try:
        with open(os.path.join(git_dir, "gc.pid"), encoding="utf-8", errors="replace") as f:
            text = f.read().strip()
    except OSError:
        return None
    pid, _, host = text.partition(" ")
    if host and host != socket.gethostname():
        return text  # another machine's gc on a shared disk: assume it runs
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return None
    except PermissionError:
        pass
    return text
