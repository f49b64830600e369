"""The force pushes `ell forget` leaves to do on each remote, until they are done.

A remote keeps the old history of every ref `forget` rewrote. `record` works out, per remote, the
one ``git push --force-with-lease=<ref>:<what the remote has> ... <new id>:<ref>`` that replaces it
(refused by git if someone pushed meanwhile) and keeps it in ``.git/ell/forget.json``; `settle`
drops what a remote's ref listing shows done. `ell push`/`pull`/`sync` refuse to talk to a remote
with pushes left (see `guard`): a pull would merge the old history back.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

import pygit2

from . import refs
from .repo import ell_dir

__all__ = ["record", "command", "load_pending", "settle", "abandon"]

_STATE = "forget.json"
_TRACKING = refs.REMOTES_PREFIX


def _remote_ref(ref: str) -> tuple[Optional[str], str]:
    """(remote, its ref name) for a tracking ref; (None, ref) for a local one."""
    if not ref.startswith(_TRACKING):
        return None, ref
    remote, rest = ref[len(_TRACKING):].split("/", 1)
    return remote, ("refs/" + rest if rest.startswith("notes/") else "refs/ell/" + rest)


def record(repo: pygit2.Repository, moved: dict[str, tuple[str, Optional[str]]]) -> dict[str, str]:
    """Per remote, the force pushes that replace what it has of the rewritten refs (recorded in
    ``.git/ell/forget.json`` until `settle` sees them done). What a remote has is asked of it
    (``git ls-remote``); offline, its tracking refs say what it had at the last fetch."""
    from pathlib import Path

    from .gitcmd import ls_remote

    state = _load(repo)
    for remote in sorted(repo.remotes.names()):
        listing = ls_remote(Path(repo.workdir or repo.path), remote, 60)
        for ref, (_, new) in moved.items():
            owner, target = _remote_ref(ref)
            if owner is not None and (owner != remote or target in moved):
                continue  # another remote's copy, or the local ref's own push carries it
            theirs = listing.get(target) if listing is not None else _tracked(repo, moved, remote, target)
            if theirs is None:
                continue  # the remote does not have it
            if new is not None and (theirs == new or _contains(repo, new, theirs)):
                continue  # what the remote has was not rewritten: a plain push will do
            _add(state, remote, target, theirs, new)
    _save(repo, state)
    return {remote: command(remote, entries) for remote, entries in sorted(state.items()) if entries}


def _tracked(repo: pygit2.Repository, moved: dict[str, tuple[str, Optional[str]]], remote: str,
             ref: str) -> Optional[str]:
    tracking = _tracking_of(remote, ref)
    if tracking in moved:
        return moved[tracking][0]
    t = repo.references.get(tracking)
    return str(t.target) if t is not None else None


def _contains(repo: pygit2.Repository, new: str, old: str) -> bool:
    try:
        return repo.descendant_of(pygit2.Oid(hex=new), pygit2.Oid(hex=old))
    except (KeyError, ValueError, pygit2.GitError):
        return False  # the remote's tip is not even here: it must be replaced


def _tracking_of(remote: str, ref: str) -> str:
    if ref.startswith("refs/notes/"):
        return f"{_TRACKING}{remote}/notes/{ref[len('refs/notes/'):]}"
    return f"{_TRACKING}{remote}/{ref[len('refs/ell/'):]}"


def _add(state: dict[str, list[dict[str, Optional[str]]]], remote: str, ref: str, old: Optional[str],
         new: Optional[str]) -> None:
    entries = state.setdefault(remote, [])
    for e in entries:
        if e["ref"] == ref:
            e["new"] = new  # forgetting again before pushing: the remote still has the first `old`
            return
    entries.append({"ref": ref, "old": old, "new": new})


def command(remote: str, entries: list[dict[str, Optional[str]]]) -> str:
    leases = " ".join(f"--force-with-lease={e['ref']}:{e['old']}" for e in entries)
    specs = " ".join(f"{e['new'] or ''}:{e['ref']}" for e in entries)
    return f"git push {leases} {remote} {specs}"


def load_pending(repo: pygit2.Repository, remote: str) -> list[dict[str, Optional[str]]]:
    return _load(repo).get(remote, [])


def settle(repo: pygit2.Repository, remote: str, listing: Optional[dict[str, str]]) -> Optional[str]:
    """Drop the pushes `listing` (the remote's refs now) shows done; the command still to run, if any."""
    state = _load(repo)
    entries = state.get(remote, [])
    if listing is not None:
        entries = [e for e in entries if listing.get(str(e["ref"])) != e["new"]]
        if entries:
            state[remote] = entries
        else:
            state.pop(remote, None)
        _save(repo, state)
    return command(remote, entries) if entries else None


def abandon(repo: pygit2.Repository, remote: str) -> bool:
    """Stop waiting for the pushes to `remote` (say, it was deleted, or the history there is lost)."""
    state = _load(repo)
    found = state.pop(remote, None) is not None
    _save(repo, state)
    return found


def _load(repo: pygit2.Repository) -> dict[str, list[dict[str, Optional[str]]]]:
    try:
        with open(os.path.join(ell_dir(repo), _STATE), encoding="utf-8") as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(repo: pygit2.Repository, state: dict[str, Any]) -> None:
    path = os.path.join(ell_dir(repo), _STATE)
    if not state:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2, sort_keys=True)
    os.replace(tmp, path)
