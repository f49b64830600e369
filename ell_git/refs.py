"""Ref names for ell's data and compare-and-swap ref updates.

Every ref the store writes lives under ``refs/ell/``:

* ``refs/ell/lmp/<escaped name>``: one commit per distinct version of a tracked function;
* ``refs/ell/inv/<writer-id>``: the invocations written by one clone;
* ``refs/ell/remotes/<remote>/...``: the same, fetched from a remote by ``ell sync``.

LMP names are escaped into one ref component (see `escape`), so ``lmp/`` never holds a directory
and ``refs/ell/lmp/a`` and ``refs/ell/lmp/a.b`` can both exist.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import time
import warnings
from typing import Callable

import pygit2

from .errors import CasConflict, DamagedRef

ROOT = "refs/ell/"
LMP_PREFIX = "refs/ell/lmp/"
INV_PREFIX = "refs/ell/inv/"
REMOTES_PREFIX = "refs/ell/remotes/"

# Bytes kept as they are; every other byte of the UTF-8 name becomes %XX (upper-case hex).
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")
# Long names: a component must fit a file name (255 bytes) with room for ".lock".
_MAX_COMPONENT = 200
_HEX = re.compile(r"%([0-9A-F]{2})")


def escape(name: str) -> str:
    """A ref component that stands for `name`; `unescape` gives the name back.

    Rules: bytes outside ``[A-Za-z0-9_.-]`` (including ``%``, ``/``, spaces, ``~^:?*[\\``, ``@``,
    control characters and every non-ASCII byte) become ``%XX``; a ``.`` that would start the
    component, follow another ``.``, end it, or start a trailing ``.lock`` becomes ``%2E``.
    Names longer than 200 escaped bytes keep a readable prefix and end in ``%%<sha1 of name>``
    (one-way: readers take such a name from the version's ``meta.json``).
    """
    if not name:
        raise ValueError("an LMP name cannot be empty")
    raw = name.encode("utf-8", "surrogatepass")
    out: list[str] = []
    for i, b in enumerate(raw):
        if b == 0x2E and (i == 0 or i == len(raw) - 1 or raw[i - 1] == 0x2E):
            out.append("%2E")
        elif b in _SAFE:
            out.append(chr(b))
        else:
            out.append("%%%02X" % b)
    s = "".join(out)
    if s.endswith(".lock"):
        s = s[:-5] + "%2Elock"
    if len(s) > _MAX_COMPONENT:
        digest = hashlib.sha1(raw).hexdigest()
        head = s[: _MAX_COMPONENT - 42]
        cut = head.rfind("%", len(head) - 2)  # never split a %XX escape
        if cut != -1:
            head = head[:cut]
        s = f"{head.rstrip('.')}%%{digest}"
    return s


def unescape(component: str) -> str | None:
    """The name `component` stands for, or None for a hashed long name (see `escape`)."""
    if "%%" in component:
        return None
    out = bytearray()
    i = 0
    try:
        while i < len(component):
            if component[i] == "%":
                if not _HEX.match(component, i):
                    return None
                out.append(int(component[i + 1 : i + 3], 16))
                i += 3
            else:
                out.extend(component[i].encode("utf-8"))
                i += 1
        return out.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def lmp_ref(name: str) -> str:
    return LMP_PREFIX + escape(name)


def inv_ref(writer_id: str) -> str:
    return INV_PREFIX + writer_id


def is_inv_ref(refname: str) -> bool:
    """Local ``refs/ell/inv/*`` and fetched ``refs/ell/remotes/<remote>/inv/*``."""
    if refname.startswith(INV_PREFIX):
        return True
    if refname.startswith(REMOTES_PREFIX):
        parts = refname[len(REMOTES_PREFIX) :].split("/")
        return len(parts) >= 3 and parts[1] == "inv"
    return False


def lmp_name_of(refname: str) -> str | None:
    """The escaped component of a local or fetched LMP ref, unescaped (None if not an LMP ref)."""
    if refname.startswith(LMP_PREFIX):
        comp = refname[len(LMP_PREFIX) :]
    elif refname.startswith(REMOTES_PREFIX):
        parts = refname[len(REMOTES_PREFIX) :].split("/")
        if len(parts) != 3 or parts[1] != "lmp":
            return None
        comp = parts[2]
    else:
        return None
    return unescape(comp)


NOTES_PREFIX = "refs/notes/ell"


def ell_refs(repo: pygit2.Repository, *, notes: bool = False) -> dict[str, str]:
    """Every ref under ``refs/ell/`` (and ``refs/notes/ell*`` if `notes`) mapped to the hex id it
    points at (symbolic refs skipped)."""
    prefixes = (ROOT, NOTES_PREFIX) if notes else (ROOT,)
    out: dict[str, str] = {}
    for ref in repo.references.iterator():
        name = ref.name
        if name.startswith(prefixes) and ref.type == pygit2.enums.ReferenceType.DIRECT:
            out[name] = str(ref.target)
    return out


def read_tip(repo: pygit2.Repository, refname: str) -> tuple[pygit2.Reference | None, pygit2.Oid | None]:
    try:
        ref = repo.references.get(refname)
    except pygit2.GitError as exc:
        if "corrupted" not in str(exc):
            raise
        raise DamagedRef(f"{refname} is damaged ({exc}); nothing is written to it until it is repaired") from None
    if ref is None:
        return None, None
    return ref, ref.resolve().target


def check_tip(repo: pygit2.Repository, refname: str, tip: pygit2.Oid | None) -> None:
    """Raise `DamagedRef` if `tip` is missing: building on it would hide whatever history the ref
    had, so it is left for a human to repair."""
    if tip is not None and tip not in repo:
        raise DamagedRef(f"{refname} points to {tip}, which is not in the repository (run `git fsck`); "
                         "nothing is written to it until it is repaired")


def swap(repo: pygit2.Repository, refname: str, ref: pygit2.Reference | None, new: pygit2.Oid) -> None:
    """Point `refname` at `new` only if it still is what `ref` read (absent if `ref` is None)."""
    try:
        if ref is None:
            _create(repo, refname, new)
        else:
            ref.set_target(new)  # libgit2 checks the old value under the ref's lock
    except (pygit2.AlreadyExistsError, pygit2.GitError, OSError) as exc:
        # GitError: the old value did not match; OSError: another process holds the ref's lock
        # (libgit2's GIT_ELOCKED). Both mean "someone else is moving it": read again, retry.
        _clear_stale_lock(repo, refname)
        raise CasConflict(str(exc)) from exc


def _create(repo: pygit2.Repository, refname: str, new: pygit2.Oid) -> None:
    """Create `refname` only if no one else has: libgit2's ``create(force=False)`` is not atomic
    between processes (two can both "win" and one commit is lost), git's ``update-ref`` with an
    all-zero old value is. This runs once per ref, so the subprocess does not matter."""
    oid = str(new)
    cmd = ["git", f"--git-dir={repo.path}", "update-ref", refname, oid, "0" * len(oid)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):  # no git binary: libgit2's (racy) create
        repo.references.create(refname, new, force=False)
        return
    if res.returncode != 0:
        raise CasConflict(res.stderr.strip() or f"could not create {refname}")


def update(
    repo: pygit2.Repository,
    refname: str,
    build: Callable[[pygit2.Oid | None], pygit2.Oid | None],
    *,
    attempts: int = 200,
    max_sleep: float = 0.2,
) -> pygit2.Oid | None:
    """Compare-and-swap loop: `build(tip)` makes the new commit on `tip` (or returns None to
    write nothing); on a race it is called again on the new tip, after backoff with jitter."""
    delay = 0.001
    for _ in range(attempts):
        ref, tip = read_tip(repo, refname)
        check_tip(repo, refname, tip)
        new = build(tip)
        if new is None or new == tip:
            return tip
        try:
            swap(repo, refname, ref, new)
            return new
        except CasConflict:
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, max_sleep)
    raise CasConflict(f"gave up moving {refname} after {attempts} attempts" + _lock_hint(repo, refname))


# A lock file older than this was left by a killed process: libgit2 and git hold one for micro- to
# milliseconds. (It was 30 s: after a crash inside that window, every writer of the clone, and so
# the restarted process, stalled that long. Removing a live lock by mistake is safe for our writers:
# the holder's rename fails and its compare-and-swap loop reads the ref again.)
STALE_LOCK_SECONDS = 5.0


def _lock_path(repo: pygit2.Repository, refname: str) -> str:
    from .repo import common_dir

    return os.path.join(common_dir(repo), *refname.split("/")) + ".lock"


def _lock_hint(repo: pygit2.Repository, refname: str) -> str:
    lock = _lock_path(repo, refname)
    if not os.path.exists(lock):
        return ""
    return (f": {lock} exists (another process is writing, or one died while writing; it is removed "
            f"once it is {STALE_LOCK_SECONDS:g} s old)")


def _clear_stale_lock(repo: pygit2.Repository, refname: str) -> None:
    lock = _lock_path(repo, refname)
    try:
        age = time.time() - os.stat(lock).st_mtime
        if age > STALE_LOCK_SECONDS:
            os.unlink(lock)
    except OSError:
        return
    if age > STALE_LOCK_SECONDS:
        warnings.warn(f"ell: removed {lock}, left {age:.0f} s ago by a process that died while moving {refname}",
                      RuntimeWarning, stacklevel=2)
