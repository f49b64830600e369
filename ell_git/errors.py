"""The errors ell_git raises on purpose: one base, caught by type (never by class name).

Each message is one line saying the cause and the fix; the CLI, the hooks and the web show it as is.
Imports nothing (a leaf of the import graph): git hooks and `ell_git.sync` load it in milliseconds.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CasConflict", "DamagedRef", "EllGitError", "InvalidShareSetting", "NewerFormatError", "NotFound",
           "NothingToForget", "SecretsFound", "SyncError", "UnsupportedRepository"]


class EllGitError(Exception):
    """Base of the store's expected failures: the CLI and the web show their message as one line."""


class NotFound(EllGitError, KeyError):
    """No such LMP, version, invocation or evaluation (the message says which)."""

    def __str__(self) -> str:  # KeyError's would quote the message
        return str(self.args[0]) if self.args else "not found"


class NewerFormatError(EllGitError, RuntimeError):
    """The repository holds data written by a newer ell-git."""


class UnsupportedRepository(EllGitError, RuntimeError):
    """A repository ell-git cannot use (e.g. SHA-256 objects, which libgit2 does not read yet)."""


class DamagedRef(EllGitError, RuntimeError):
    """The ref points to an object the repository does not have: nothing is built on it."""


class CasConflict(EllGitError):
    """The ref moved between reading its tip and updating it (writers retry; a message once they give up)."""


class SyncError(EllGitError):
    """An expected failure of pull/push/sync (unknown remote, network, auth, rejected push): cause and fix.

    `diverged` is True when a push was refused only because the remote has history this clone lacks,
    which `sync` resolves by pulling first.
    """

    def __init__(self, message: str, *, diverged: bool = False) -> None:
        super().__init__(message)
        self.diverged = diverged


class SecretsFound(EllGitError):
    """A push refused because what it would send holds secrets (`ell_git.secrets.refusal` words it)."""

    def __init__(self, message: str, findings: list[Any]) -> None:  # `ell_git.secrets.Finding`s
        super().__init__(message)
        self.findings = findings


class InvalidShareSetting(EllGitError):
    """``git config ell.share`` names something that is not a part."""


class NothingToForget(EllGitError):
    """`ell forget` was given no criterion, or an id that matches no invocation."""
