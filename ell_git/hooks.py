"""Install, uninstall and run the git hooks that carry `refs/ell/*` along with the user's git commands.

`install_hooks` puts a delimited ell-git block into `pre-push`, `post-merge` and `post-checkout` (creating
the files or inserting into the user's own shell hooks), adds fetch refspecs so plain `git fetch` brings
the ell refs too, and records exactly what it did in `<git-common-dir>/ell/hooks.json`, which is what
`uninstall_hooks` undoes. `python -m ell_git.hooks run <hook> [args]` is what the hook scripts call.
This module imports `ell_git.sync` lazily so a hook that has nothing to do starts fast.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from .errors import EllGitError, SyncError

__all__ = ["HOOK_NAMES", "BEGIN", "END", "render_hook", "install_hooks", "uninstall_hooks", "run_hook", "main"]

HOOK_NAMES = ("pre-push", "post-merge", "post-checkout")
BEGIN = "# >>> ell-git >>>"
END = "# <<< ell-git <<<"
#: The placeholder the reference copies in the repository's hooks/ directory carry instead of a path.
PYTHON_PLACEHOLDER = "@ELL_PYTHON@"
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"}
_BLOCK_RE = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END) + r"\n", re.S)
_STATE_VERSION = 1

_TEMPLATE = """\
{begin}
# Added by `ell hooks install` (ell-git); `ell hooks uninstall` removes exactly this block.
# {why}
# Never fails the git command{refuses}. {reads} ELL_HOOK_ACTIVE stops the hook re-entering itself from ell's own git calls;
# -P keeps a module in the work tree (json.py, ...) from shadowing the standard library. Python only
# starts in repositories where `ell hooks install` ran{cheap}.
if [ -z "${{ELL_HOOK_ACTIVE:-}}" ]; then
  ell_dir="$(git rev-parse --git-common-dir)/ell" || :
  if [ -f "$ell_dir/hooks.json" ]{guard}; then
    ell_py={python}{run}
  fi
  unset ell_dir ell_py{unset}
fi
{end}
"""
_RUN = """
    if [ -x "$ell_py" ] && "$ell_py" -P -m ell_git.hooks run {name} "$@" </dev/null; then
      :
    elif command -v ell >/dev/null 2>&1; then
      ell hooks run {name} "$@" </dev/null || :
    else
      echo "ell-git: {name} hook skipped: ell_git is not importable by $ell_py and \\`ell\\` is not on PATH (reinstall with \\`ell hooks install\\`)" >&2
    fi"""
# pre-push: git lists the refs being pushed on stdin. A copy goes to ell (it checks ell refs pushed
# by hand) and stdin is reopened on that copy for the rest of the hook; exit 3 from ell means
# "refuse this push", the only case in which the block fails the git command.
_RUN_PRE_PUSH = """
    ell_in=/dev/null
    ell_status=0
    if ell_tmp="$(mktemp "${{TMPDIR:-/tmp}}/ell-pre-push.XXXXXX" 2>/dev/null)"; then
      cat >"$ell_tmp"
      exec <"$ell_tmp"
      ell_in="$ell_tmp"
    fi
    if [ -x "$ell_py" ] && {{ "$ell_py" -P -m ell_git.hooks run {name} "$@" <"$ell_in"; ell_status=$?; [ "$ell_status" = 0 ] || [ "$ell_status" = 3 ]; }}; then
      :
    elif command -v ell >/dev/null 2>&1; then
      ell hooks run {name} "$@" <"$ell_in"; ell_status=$?
    else
      echo "ell-git: {name} hook skipped: ell_git is not importable by $ell_py and \\`ell\\` is not on PATH (reinstall with \\`ell hooks install\\`)" >&2
    fi
    [ "$ell_in" = /dev/null ] || rm -f "$ell_in"
    if [ "$ell_status" = 3 ]; then
      exit 1
    fi"""
_WHY = {
    "pre-push": "Pushes this clone's refs/ell/* (prompt versions, invocations) and ell notes to the same remote.",
    "post-merge": "After `git pull`, fetches the remote's refs/ell/* and merges prompt versions.",
    "post-checkout": "On a branch switch, merges the refs/ell/* that `git fetch` already brought (no network).",
}
# A branch switch happens often: skip Python (≈0.5 s) unless fetched refs moved since the last merge.
# The stamp is what `_tracking_listing` printed when run_hook last merged; both sides must match.
_STAMP = "merged-tracking"
_GUARDS = {
    "post-checkout": (
        ", and on a post-checkout only\n# for a branch switch after fetched refs/ell/remotes/* moved",
        """ && [ "${3:-}" = 1 ] &&
     [ "$(git for-each-ref --format='%(objectname) %(refname)' refs/ell/remotes/)" != \
       "$(cat "$ell_dir/merged-tracking" 2>/dev/null)" ]""",
    ),
}


def _tracking_listing(root: Path) -> str:
    return _git(root, "for-each-ref", "--format=%(objectname) %(refname)", "refs/ell/remotes/", check=False)


def render_hook(name: str, python: str = PYTHON_PLACEHOLDER) -> str:
    """The ell-git block for hook `name`, calling `python -m ell_git.hooks` (then `ell` as a fallback)."""
    cheap, guard = _GUARDS.get(name, ("", ""))
    pre_push = name == "pre-push"
    run = (_RUN_PRE_PUSH if pre_push else _RUN).format(name=name)
    refuses = ("; problems are printed as warnings. It refuses only ell refs pushed by hand that hold\n"
               "# secrets or that `git config ell.share` keeps local" if pre_push else ": problems are printed as warnings")
    reads = ("Reads a copy of stdin (the rest of this hook still gets\n# git's ref list)." if pre_push else
             "Reads no stdin (git's input is left to\n# the rest of this hook).")
    return _TEMPLATE.format(begin=BEGIN, end=END, why=_WHY[name], name=name, python=shlex.quote(python),
                            cheap=cheap, guard=guard, run=run, refuses=refuses, reads=reads,
                            unset=" ell_in ell_tmp ell_status" if pre_push else "")


# -- install / uninstall ---------------------------------------------------------------------------


def install_hooks(repo_path: str | os.PathLike[str] = ".", *, python: str | None = None) -> list[str]:
    """Install the hooks and fetch refspecs; returns one human line per change. Idempotent.

    Existing shell hooks get the block inserted right after their shebang line: hook managers often
    end with `exec`/`exit` (pre-commit, git-lfs), so an appended block would never run. Hooks in other
    languages are left alone (reported). No `remote.<name>.push` is added: any push refspec makes a plain
    `git push` stop pushing the current branch, so refs/ell/* travel through the pre-push hook instead.
    """
    from .sync import fetch_refspecs

    root = _toplevel(repo_path)
    hooks_dir = Path(_git(root, "rev-parse", "--path-format=absolute", "--git-path", "hooks"))
    state = _load_state(root) or {"version": _STATE_VERSION, "hooks": {}, "config": []}
    state["hooks_dir"] = str(hooks_dir)
    python = python or sys.executable
    done: list[str] = []
    if not hooks_dir.exists():  # e.g. a fresh core.hooksPath: uninstall removes it again if left empty
        hooks_dir.mkdir(parents=True)
        state["created_dir"] = True
    for name in HOOK_NAMES:
        path = hooks_dir / name
        block = render_hook(name, python)
        if not path.exists():
            _write(path, "#!/bin/sh\n" + block)
            path.chmod(0o755)
            state["hooks"][name] = {"mode": "created"}
            done.append(f"created {path}")
            continue
        text = _read(path)
        if BEGIN in text:
            new = _BLOCK_RE.sub(lambda m: block, text, count=1)  # refresh (e.g. a new interpreter path)
            if new != text:
                _write(path, new)
                done.append(f"updated the ell-git block in {path}")
            if name not in state["hooks"]:  # state lost: a file that is only our block is one we created
                ours = _BLOCK_RE.sub("", new, count=1) == "#!/bin/sh\n"
                state["hooks"][name] = {"mode": "created"} if ours else {"mode": "inserted", "newline": False}
            continue
        if not _is_shell(text):
            done.append(f"skipped {path}: not a shell script; add `{python} -m ell_git.hooks run {name} \"$@\"` "
                        f"to it yourself")
            continue
        first_nl = text.find("\n")
        if text.startswith("#!") and first_nl == -1:
            at, newline, block = len(text), True, "\n" + block  # a shebang-only file with no newline
        else:
            at, newline = (first_nl + 1 if text.startswith("#!") else 0), False
        _write(path, text[:at] + block + text[at:])
        state["hooks"][name] = {"mode": "inserted", "newline": newline}
        done.append(f"added the ell-git block to your existing {path}")
        if not os.access(path, os.X_OK):
            done.append(f"note: {path} is not executable, so git ignores it (`chmod +x` it to enable)")
    for remote in _git(root, "remote").split():
        key = f"remote.{remote}.fetch"
        have = _git(root, "config", "--get-all", key, check=False).splitlines()
        for spec in fetch_refspecs(remote):
            if spec not in have:
                _git(root, "config", "--add", key, spec)
                state["config"].append([key, spec])
                done.append(f"git config --add {key} {spec}")
    _save_state(root, state)
    return done


def uninstall_hooks(repo_path: str | os.PathLike[str] = ".") -> list[str]:
    """Undo `install_hooks`: delete hooks it created, remove blocks it inserted, unset config it added."""
    from .sync import fetch_refspecs

    root = _toplevel(repo_path)
    state = _load_state(root)
    if state is None:  # no record (deleted .git/ell?): recognise our work by its markers and refspecs
        hooks_dir = Path(_git(root, "rev-parse", "--path-format=absolute", "--git-path", "hooks"))
        if not any(BEGIN in _read(hooks_dir / n) for n in HOOK_NAMES):
            return []  # nothing of ours installed: leave the config alone too
        state = {"hooks_dir": str(hooks_dir), "config": [], "hooks": {
            n: {"mode": "created"} for n in HOOK_NAMES
            if _BLOCK_RE.sub("", _read(hooks_dir / n), count=1) == "#!/bin/sh\n"}}
        for name in HOOK_NAMES:
            state["hooks"].setdefault(name, {"mode": "inserted", "newline": False})
        for remote in _git(root, "remote").split():
            state["config"] += [[f"remote.{remote}.fetch", spec] for spec in fetch_refspecs(remote)]
    hooks_dir = Path(state["hooks_dir"])
    done: list[str] = []
    for name, how in state["hooks"].items():
        path = hooks_dir / name
        if not path.exists():
            continue
        text = _read(path)
        if how["mode"] == "inserted" and how.get("newline"):
            rest = re.sub("\n" + _BLOCK_RE.pattern, "", text, count=1, flags=re.S)
        else:
            rest = _BLOCK_RE.sub("", text, count=1)
        if rest == text:
            continue
        if how["mode"] == "created" and rest.strip() in ("", "#!/bin/sh"):
            path.unlink()
            done.append(f"deleted {path}")
        else:
            _write(path, rest)
            done.append(f"removed the ell-git block from {path}")
    for key, value in state["config"]:
        # --fixed-value: refspecs contain '*' and '+', which are regex syntax.
        if _git(root, "config", "--unset-all", "--fixed-value", key, value, check=None) is not None:
            done.append(f"git config --unset {key} {value}")
    if state.get("created_dir") and hooks_dir.is_dir() and not any(hooks_dir.iterdir()):
        hooks_dir.rmdir()
        done.append(f"deleted the empty {hooks_dir}")
    _state_path(root).unlink(missing_ok=True)
    (_state_path(root).parent / _STAMP).unlink(missing_ok=True)
    return done


def _read(path: Path) -> str:
    """A hook's text; surrogateescape so writing it back (minus our block) is byte-identical."""
    try:
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return ""


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogateescape")  # keeps the file's mode and owner


def _is_shell(text: str) -> bool:
    if not text.startswith("#!"):
        return "\x00" not in text  # git runs shebang-less scripts with sh; a binary is no script
    words = text[2:].split("\n", 1)[0].split()
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-")]
    return bool(words) and os.path.basename(words[0]) in _SHELLS


# -- running (called by the hook scripts) ------------------------------------------------------------


def run_hook(name: str, args: Sequence[str], repo_path: str | os.PathLike[str] = ".") -> int:
    """Do the hook's ell work; warn on any failure and return 0 so the user's git command goes on."""
    if os.environ.get("ELL_HOOK_ACTIVE"):
        return 0  # ell's own git commands (they set it) must not re-enter the hook
    try:
        root = _toplevel(repo_path)
        if _load_state(root) is None:
            return 0  # a shared core.hooksPath: this repository never ran `ell hooks install`
        from . import sync

        if name == "pre-push":
            remote = args[0] if args else ""
            from .pushcheck import check_pushed_by_hand, pushed_refs

            pushed = pushed_refs(sys.stdin.read())
            refusal = check_pushed_by_hand(root, remote, pushed)
            if refusal:
                print(refusal, file=sys.stderr)
                return 3
            if any(line.ell for line in pushed):
                return 0  # ell refs pushed by hand (say, `ell forget`'s force pushes): only those go
            if remote not in _git(root, "remote").split() or not _has_ell_refs(root):
                return 0  # a push to a bare URL has no tracking namespace; nothing to share otherwise
            allow = bool(os.environ.get("ELL_ALLOW_SECRETS"))
            try:
                report = sync.push(root, remote, timeout=_timeout(), allow_secrets=allow, command="git push")
            except SyncError as exc:
                if not exc.diverged:
                    raise
                report = sync.sync(root, remote, timeout=_timeout(),  # merge the remote's versions first
                                   allow_secrets=allow, command="git push")
        elif name == "post-merge":
            # Network here only: the user just went to the network anyway (`git pull`).
            remote = _upstream_remote(root)
            if remote is None:
                return 0
            report = sync.pull(root, remote, timeout=_timeout())
        elif name == "post-checkout":
            if len(args) < 3 or args[2] != "1":
                return 0  # a file checkout, not a branch switch
            # Offline: merge what plain `git fetch`es (configured refspecs) brought from every remote.
            listing = _tracking_listing(root)  # taken before merging: a fetch meanwhile leaves it stale
            fetched = {line.split(" ", 1)[1].split("/")[3] for line in listing.splitlines()}
            for remote in sorted(fetched & set(_git(root, "remote").split())):
                _say(sync.pull(root, remote, fetch=False))
            (_state_path(root).parent / _STAMP).write_text(listing)
            return 0
        else:
            print(f"ell-git: unknown hook {name!r}", file=sys.stderr)
            return 0
        _say(report)
    except Exception as exc:  # noqa: BLE001 - a hook must never fail the user's command
        expected = isinstance(exc, (OSError, EllGitError))
        detail = str(exc) if expected else f"{type(exc).__name__}: {exc} (please report this)"
        print(f"ell-git: {name} hook could not share refs/ell: {detail}; your git command is unaffected",
              file=sys.stderr)
    return 0


def _say(report: object) -> None:
    summary = getattr(report, "summary", "")
    if not summary.endswith(": already in sync"):
        print(f"ell-git: {summary}", file=sys.stderr)


def _timeout() -> float:
    try:
        return float(os.environ.get("ELL_HOOK_TIMEOUT", "120"))
    except ValueError:
        return 120.0


def _has_ell_refs(root: Path) -> bool:
    return bool(_git(root, "for-each-ref", "--count=1", "refs/ell/lmp", "refs/ell/eval", "refs/ell/inv",
                     "refs/notes/ell", "refs/notes/ell*"))


def _upstream_remote(root: Path) -> str | None:
    """The current branch's remote if it has one, else `origin` if that exists."""
    remotes = _git(root, "remote").split()
    branch = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    upstream = _git(root, "config", f"branch.{branch}.remote", check=False) if branch else ""
    if upstream in remotes:
        return upstream
    return "origin" if "origin" in remotes else None


# -- small helpers ---------------------------------------------------------------------------------


def _git(root: str | os.PathLike[str], *args: str, check: bool | None = True) -> str:
    """stdout of a local git command. check=False: "" on failure; check=None: None on failure."""
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode != 0:
        if check:
            raise SyncError(f"git {' '.join(args[:2])} failed in {root}: {proc.stderr.strip() or proc.returncode}")
        return "" if check is False else None  # type: ignore[return-value]
    return proc.stdout.strip()


def _toplevel(repo_path: str | os.PathLike[str]) -> Path:
    out = subprocess.run(["git", "-C", str(repo_path), "rev-parse", "--absolute-git-dir"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise SyncError(f"not a git repository: {repo_path}: run `git init` there or pass the repository path")
    top = _git(repo_path, "rev-parse", "--show-toplevel", check=False)
    return Path(top or out.stdout.strip())


def _state_path(root: Path) -> Path:
    common = Path(_git(root, "rev-parse", "--path-format=absolute", "--git-common-dir"))
    return common / "ell" / "hooks.json"


def _load_state(root: Path) -> dict | None:
    try:
        return json.loads(_state_path(root).read_text())
    except (OSError, ValueError):
        return None


def _save_state(root: Path, state: dict) -> None:
    path = _state_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ell_git.hooks run <hook> [args...] | install | uninstall`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 2 and argv[0] == "run":
        return run_hook(argv[1], argv[2:])
    if argv[:1] in (["install"], ["uninstall"]):
        try:
            lines = (install_hooks if argv[0] == "install" else uninstall_hooks)(argv[1] if len(argv) > 1 else ".")
        except Exception as exc:  # noqa: BLE001 - one line, no traceback
            print(f"ell-git: {exc}", file=sys.stderr)
            return 1
        print("\n".join(lines) if lines else "nothing to do")
        return 0
    print("usage: python -m ell_git.hooks run <hook> [args...] | install [repo] | uninstall [repo]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
