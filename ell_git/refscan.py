"""A cheap fingerprint of the ell refs, so that a read which finds nothing changed does no per-ref work.

Git moves a loose ref by renaming a lock file over it, which changes the mtime of its directory;
packing rewrites ``packed-refs``. So the stat of ``packed-refs`` and of every directory under
``refs/ell`` and ``refs/notes`` changes whenever an ell ref (or note) moves: O(directories), not
O(refs). Like git's "racy index", a stat within `RACY_S` of now is not trusted (a second change in the
same timestamp tick would look the same), and repositories we cannot stat this way (reftable) always
get the full listing.
"""

from __future__ import annotations

import os
import time

import pygit2

#: A directory or file modified this recently may change again without its mtime changing.
RACY_S = 2.0
_ROOTS = ("refs/ell", "refs/notes")


def common_dir(repo: pygit2.Repository) -> str:
    """The directory that holds refs (a linked worktree keeps them in the main repository's)."""
    path = repo.path
    try:
        with open(os.path.join(path, "commondir"), encoding="utf-8") as f:
            return os.path.normpath(os.path.join(path, f.read().strip()))
    except OSError:
        return path


class RefWatch:
    """Fingerprints of one repository's ell refs. A directory is listed again only when its own mtime
    changed (adding or removing an entry changes it), so an unchanged repository costs one stat per
    directory, however many refs it holds."""

    def __init__(self, gitdir: str) -> None:
        self.gitdir = gitdir
        self._subdirs: dict[str, tuple[tuple[int, int], list[str]]] = {}

    def fingerprint(self) -> tuple[object, ...] | None:
        """A value that changes whenever any ell ref or note moves, or None when it cannot be trusted
        (a reftable repository, or something modified in the last `RACY_S` seconds)."""
        gitdir = self.gitdir
        if os.path.exists(os.path.join(gitdir, "reftable")):
            return None
        out: list[object] = []
        try:
            st = os.stat(os.path.join(gitdir, "packed-refs"))
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
            newest = st.st_mtime_ns
        except FileNotFoundError:
            out.append(None)
            newest = 0
        for root in _ROOTS:
            stack = [os.path.join(gitdir, root)]
            while stack:
                path = stack.pop()
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    out.append((path, None))
                    continue
                key = (st.st_mtime_ns, st.st_ino)
                out.append((path, key))
                newest = max(newest, st.st_mtime_ns)
                known = self._subdirs.get(path)
                if known is None or known[0] != key:
                    try:
                        subdirs = sorted(e.path for e in os.scandir(path) if e.is_dir(follow_symlinks=False))
                    except (FileNotFoundError, NotADirectoryError):
                        return None  # removed while we looked: changing right now
                    known = self._subdirs[path] = (key, subdirs)
                stack.extend(known[1])
        if time.time_ns() - newest < RACY_S * 1e9:
            return None
        return tuple(out)


def fingerprint(gitdir: str) -> tuple[object, ...] | None:
    """`RefWatch.fingerprint` without memory (lists every directory)."""
    return RefWatch(gitdir).fingerprint()
