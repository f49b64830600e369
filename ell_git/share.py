"""What this clone shares with remotes: ``git config ell.share`` (default: everything).

    git config ell.share versions,evals,feedback     # invocations (raw calls) stay on this machine
    git config ell.share none                         # nothing leaves (ell push does nothing)
    git config --unset ell.share                      # everything: versions,invocations,evals,feedback

`ell push`, `ell sync` and the installed pre-push hook push only the refs of the shared parts, and the
hook refuses a plain ``git push`` of an unshared ell ref. Fetching is not affected: a clone that keeps
its invocations local still receives the others' when they share theirs.
"""

from __future__ import annotations

import re
from typing import Iterable

import pygit2

from .errors import InvalidShareSetting

__all__ = ["PARTS", "InvalidShareSetting", "shared_parts", "parse", "push_refspecs", "part_of", "describe"]

PARTS = ("versions", "invocations", "evals", "feedback")
_ALIASES = {
    "all": PARTS, "everything": PARTS, "none": (), "nothing": (), "version": ("versions",), "lmp": ("versions",),
    "lmps": ("versions",), "invocation": ("invocations",), "calls": ("invocations",), "inv": ("invocations",),
    "eval": ("evals",), "evaluations": ("evals",), "scores": ("evals",),
}
# Each part and the refspecs that carry it (never forced: see sync.PUSH_REFSPECS).
_REFSPECS = {
    "versions": ("refs/ell/lmp/*:refs/ell/lmp/*", "refs/notes/ell/prices:refs/notes/ell/prices"),  # prices: team config
    "invocations": ("refs/ell/inv/*:refs/ell/inv/*",),
    "evals": ("refs/ell/eval/*:refs/ell/eval/*", "refs/notes/ell/evals:refs/notes/ell/evals"),
    "feedback": ("refs/notes/ell/feedback:refs/notes/ell/feedback",),
}
#: With everything shared, any other ``refs/notes/ell*`` (a future kind of note) travels too.
_ALL_NOTES = "refs/notes/ell*:refs/notes/ell*"


def parse(value: str | None) -> frozenset[str]:
    """The parts named by an ``ell.share`` value (None or empty: every part)."""
    if value is None or not value.strip():
        return frozenset(PARTS)
    parts: set[str] = set()
    for word in re.split(r"[\s,;]+", value.strip().lower()):
        if not word:
            continue
        if word in PARTS:
            parts.add(word)
        elif word in _ALIASES:
            parts.update(_ALIASES[word])
        else:
            raise InvalidShareSetting(
                f"git config ell.share = {value!r}: {word!r} is not one of {', '.join(PARTS)} (or all, none); "
                f"fix it with `git config ell.share versions,evals,feedback`")
    return frozenset(parts)


def shared_parts(repo: pygit2.Repository) -> frozenset[str]:
    """What ``ell.share`` in this repository's config says to share."""
    try:
        value = repo.config["ell.share"]
    except (KeyError, pygit2.GitError):
        value = None
    return parse(value)


def push_refspecs(parts: Iterable[str]) -> list[str]:
    parts = frozenset(parts)
    specs = [spec for part in PARTS if part in parts for spec in _REFSPECS[part]]
    if parts >= frozenset(PARTS):  # everything: one glob for every notes ref, as before ell.share existed
        specs = [s for s in specs if not s.startswith("refs/notes/")] + [_ALL_NOTES]
    return specs


def part_of(ref: str) -> str | None:
    """The part a (local or remote) ell ref belongs to; None for refs outside ell's namespaces."""
    if ref.startswith("refs/ell/lmp/") or ref == "refs/notes/ell/prices":
        return "versions"
    if ref.startswith("refs/ell/inv/"):
        return "invocations"
    if ref.startswith("refs/ell/eval/") or ref == "refs/notes/ell/evals":
        return "evals"
    if ref == "refs/notes/ell/feedback":
        return "feedback"
    if ref.startswith("refs/notes/ell"):
        return "notes"
    return None


def is_shared(ref: str, parts: Iterable[str]) -> bool:
    part = part_of(ref)
    parts = frozenset(parts)
    if part == "notes":
        return parts >= frozenset(PARTS)
    return part is None or part in parts


def describe(parts: Iterable[str]) -> str | None:
    """One line for `ell log` and the web when some part is not shared, else None."""
    parts = frozenset(parts)
    kept = [p for p in PARTS if p not in parts]
    if not kept:
        return None
    setting = ",".join(p for p in PARTS if p in parts) or "none"
    return (f"This clone does not share its {_join(kept)} (git config ell.share = {setting}): "
            f"`ell push`, `ell sync` and the git hooks keep them on this machine")


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
