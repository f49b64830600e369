"""The `ell` command: history (log/show/diff/invocations), the web UI, sync, hooks, gc, forget, demo.

Each command family lives in its own module; this one assembles the click group. `ell` core knows
only the store protocol, so every command imports `ell_git` / `webui` lazily.
"""

from __future__ import annotations

import warnings

import click

from ..__version__ import __version__
from . import demo, evals, forget, history, maintenance, remote, web


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ell")
def cli() -> None:
    """ell-git: prompts are programs, and every version of a prompt program is a git commit."""


for command in (*history.COMMANDS, *remote.COMMANDS, *maintenance.COMMANDS, *forget.COMMANDS, *evals.COMMANDS,
                web.web, demo.demo):
    cli.add_command(command)


def main() -> None:
    # ell's warnings ("ell: 2 records ... could not be read ...: run `ell doctor`") are sentences for
    # the user: one line each, without Python's file:line and source excerpt.
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
    cli(prog_name="ell")


__all__ = ["cli", "main"]
