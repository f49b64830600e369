"""Finding or creating the repository, and the little local state the store keeps in it.

The store writes only ``refs/ell/*``, objects, the ``ell.*`` section of the repository's own config
and files under ``<git dir>/ell/``. It never touches the work tree, the index, HEAD or branches.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pygit2

from .errors import UnsupportedRepository

#: Identity used when neither the environment nor the repository configures one.
FALLBACK_NAME = "ell"
FALLBACK_EMAIL = "ell@localhost"


def open_repository(path: str | os.PathLike[str], *, create: bool = True) -> pygit2.Repository:
    """The repository enclosing `path` (so history lives beside the code), else a new one there."""
    p = Path(path).expanduser().absolute()
    # Look upward from the nearest existing ancestor: `ell.init("repo/prompts")` where prompts/
    # does not exist yet still belongs to `repo`.
    start = p
    while not start.exists() and start.parent != start:
        start = start.parent
    if pygit2.discover_repository(str(start)) is not None:
        return _open_found(start)
    if not create:
        raise FileNotFoundError(f"no git repository at or above {p}: run `git init {p}` or ell.init(store='{p}')")
    p.mkdir(parents=True, exist_ok=True)
    for attempt in range(50):
        try:
            return pygit2.init_repository(str(p), bare=False)
        except pygit2.GitError:
            # Another process is initialising it right now (config.lock): use theirs.
            time.sleep(0.01 * (attempt + 1))
            found = pygit2.discover_repository(str(p))
            if found is not None and os.path.exists(os.path.join(found, "HEAD")):
                return _open_found(p)
    raise RuntimeError(f"could not create a git repository at {p}: run `git init {p}` and retry")


def _open_found(start: Path) -> pygit2.Repository:
    """Open the repository enclosing `start` *from* `start`, not from its git directory: only so does
    libgit2 follow a `.git` file (`git init --separate-git-dir`, worktrees) back to the right work tree."""
    try:
        return pygit2.Repository(str(start))
    except pygit2.GitError as exc:
        if "object format" in str(exc):  # e.g. `git init --object-format=sha256`: libgit2 reads only SHA-1
            raise UnsupportedRepository(
                f"the repository at {pygit2.discover_repository(str(start))} uses an object format ell-git "
                f"cannot read yet ({exc}): use a SHA-1 repository (the default of `git init`) for ell's history"
            ) from None
        raise


def common_dir(repo: pygit2.Repository) -> str:
    """The git directory shared by all worktrees (where refs, objects and config live)."""
    gitdir = repo.path
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as f:
            rel = f.read().strip()
        return os.path.normpath(os.path.join(gitdir, rel))
    except OSError:
        return os.path.normpath(gitdir)


def ell_dir(repo: pygit2.Repository) -> str:
    """``<git dir>/ell``: journal, read cache and local state (created on demand)."""
    d = os.path.join(common_dir(repo), "ell")
    os.makedirs(d, exist_ok=True)
    return d


def writer_id(repo: pygit2.Repository) -> str:
    """This clone's invocation-ref id, from config ``ell.writerid`` (created once, race-free).

    Concurrent first runs agree through an ``O_EXCL`` file under ``.git/ell/``; the value is then
    copied into the repository's own config so `git config ell.writerid` shows it.
    """
    cfg_path = os.path.join(common_dir(repo), "config")
    try:
        value = pygit2.Config(cfg_path)["ell.writerid"]
        if value:
            return str(value)
    except (KeyError, pygit2.GitError, OSError):
        pass
    claim = os.path.join(ell_dir(repo), "writerid")
    wid = secrets.token_hex(6)
    try:
        fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(wid + "\n")
    except FileExistsError:
        wid = _read_claim(claim)
    for _ in range(50):  # another process may hold config.lock for a moment
        try:
            pygit2.Config(cfg_path)["ell.writerid"] = wid
            break
        except pygit2.GitError:
            time.sleep(0.01)
    return wid


def _read_claim(claim: str) -> str:
    for _ in range(500):  # the winner writes it right after creating it
        with open(claim, encoding="utf-8") as f:
            value = f.read().strip()
        if value:
            return value
        time.sleep(0.002)
    raise RuntimeError(f"{claim} stays empty: delete it and run again")


def signature(repo: pygit2.Repository, when: float | None = None, *, committer: bool = False) -> pygit2.Signature:
    """Author/committer: git's environment variables, then the repository's ``user.*``, then ell."""
    kind = "COMMITTER" if committer else "AUTHOR"
    name = os.environ.get(f"GIT_{kind}_NAME")
    email = os.environ.get(f"GIT_{kind}_EMAIL")
    if not (name and email):
        user_name, user_email = _configured_user(repo)
        name, email = name or user_name, email or user_email
    t = time.time() if when is None else when
    offset = _utc_offset_minutes(t)
    return pygit2.Signature(name, email, int(t), offset)


#: How long `user.name` / `user.email` read from git config are reused (seconds).
USER_CONFIG_TTL = 30.0
_users: dict[str, tuple[float, str, str]] = {}


def _configured_user(repo: pygit2.Repository) -> tuple[str, str]:
    """The repository's ``user.name`` / ``user.email`` (ell's own when unset), reread at most every
    USER_CONFIG_TTL seconds: reading git config costs a dozen file checks, each releasing the GIL,
    and the writer signs a commit every half second."""
    now = time.monotonic()
    cached = _users.get(repo.path)
    if cached is not None and now - cached[0] < USER_CONFIG_TTL:
        return cached[1], cached[2]
    cfg = repo.config
    try:
        name = str(cfg["user.name"])
    except (KeyError, pygit2.GitError):
        name = FALLBACK_NAME
    try:
        email = str(cfg["user.email"])
    except (KeyError, pygit2.GitError):
        email = FALLBACK_EMAIL
    _users[repo.path] = (now, name, email)
    return name, email


def _utc_offset_minutes(t: float) -> int:
    lt = time.localtime(t)
    return (lt.tm_gmtoff or 0) // 60


def code_commit(repo: pygit2.Repository) -> str:
    """The user's HEAD and whether tracked files differ from it, e.g. ``"abc123… (dirty)"``.

    Untracked files are ignored (cheaper, and they are rarely the code that ran). The status call
    reads the index without writing it.
    """
    try:
        if repo.head_is_unborn:
            return "none"
        head = str(repo.head.target)
    except pygit2.GitError:
        return "none"
    if repo.is_bare:
        return head
    try:
        dirty = any(
            flags not in (pygit2.enums.FileStatus.CURRENT, pygit2.enums.FileStatus.IGNORED)
            for flags in repo.status(untracked_files="no").values()
        )
    except pygit2.GitError:
        return head
    return f"{head} (dirty)" if dirty else head
