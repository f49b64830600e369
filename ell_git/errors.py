"""The errors ell_git raises on purpose: one base, caught by type (never by class name)."""

from __future__ import annotations


class EllGitError(Exception):
    """Base of the store's expected failures: the CLI and the web show their message as one line."""


class UnsupportedRepository(EllGitError, RuntimeError):
    """A repository ell-git cannot use (e.g. SHA-256 objects, which libgit2 does not read yet)."""
