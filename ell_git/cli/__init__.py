"""The `ell` command: history (log/show/diff/invocations), the web UI, sync, hooks, gc, forget, demo.

Each command family lives in its own module; this one assembles the click group. Commands import the
store's modules when they run, so `ell --help` stays quick; only `web` and `demo` import `webui`.
"""

from __future__ import annotations

import warnings

import click

from ell.__version__ import __version__
from . import demo, evals, forget, history, maintenance, prices, remote, web


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ell")
@click.option("--repo", "repo", default=None, type=click.Path(file_okay=False, path_type=str),
              help="A path inside the repository to act on (also accepted after the command).")
@click.pass_context
def cli(ctx: click.Context, repo: str | None) -> None:
    """ell-git: prompts are programs, and every version of a prompt program is a git commit."""
    if repo is not None:  # `ell --repo X log` means `ell log --repo X`; a --repo after the command wins
        ctx.default_map = _repo_defaults(ctx.command, repo)


def _repo_defaults(command: click.Command, repo: str) -> dict[str, object]:
    """A click default_map giving every (sub)command that has a --repo option this repository."""
    if isinstance(command, click.Group):
        return {name: _repo_defaults(sub, repo) for name, sub in command.commands.items()}
    return {"repo": repo} if any(p.name == "repo" for p in command.params) else {}


for command in (*history.COMMANDS, *remote.COMMANDS, *maintenance.COMMANDS, *forget.COMMANDS, *evals.COMMANDS,
                *prices.COMMANDS, web.web, demo.demo):
    cli.add_command(command)


def main() -> None:
    # ell's warnings ("ell: 2 records ... could not be read ...: run `ell doctor`") are sentences for
    # the user: one line each, without Python's file:line and source excerpt.
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
    cli(prog_name="ell")


__all__ = ["cli", "main"]
