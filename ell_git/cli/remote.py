"""Sharing history through git remotes: `ell pull`, `ell push`, `ell sync`, `ell hooks`."""

from __future__ import annotations

import click

from .output import emit_json, friendly_errors, json_option, repo_option


_ALLOW = click.option("--allow-secrets", is_flag=True,
                      help="Push even if what would be sent holds secrets (recorded before redaction or by hand).")


def _sync_command(action: str, doc: str, pushes: bool) -> click.Command:
    @click.command(name=action, help=doc)
    @click.argument("remote", default="origin")
    @repo_option
    @json_option
    @friendly_errors
    def command(remote: str, repo: str, as_json: bool, allow_secrets: bool = False) -> None:
        from .. import sync

        options = {"allow_secrets": allow_secrets} if pushes else {}
        report = getattr(sync, action)(repo, remote, **options)
        if as_json:
            emit_json(report.to_dict())
        else:
            click.echo(report.summary)

    return _ALLOW(command) if pushes else command


pull = _sync_command("pull", "Fetch REMOTE's ell history and merge it (default remote: origin).", False)
push = _sync_command("push", "Push this clone's ell history (refs/ell/*, refs/notes/ell*; what `git config "
                             "ell.share` shares) to REMOTE. Refused if it holds secrets.", True)
sync = _sync_command("sync", "Pull then push: both sides end with the union of their history.", True)


@click.group()
def hooks() -> None:
    """Git hooks that share ell history on every push and pull."""


@hooks.command("install")
@repo_option
@friendly_errors
def hooks_install(repo: str) -> None:
    """Add pre-push/post-merge/post-checkout hooks (existing hooks are kept)."""
    from ..hooks import install_hooks

    for line in install_hooks(repo) or ["hooks already installed"]:
        click.echo(line)


@hooks.command("uninstall")
@repo_option
@friendly_errors
def hooks_uninstall(repo: str) -> None:
    """Remove exactly what `ell hooks install` added."""
    from ..hooks import uninstall_hooks

    for line in uninstall_hooks(repo) or ["no ell hooks installed"]:
        click.echo(line)


COMMANDS = (pull, push, sync, hooks)


@hooks.command("run", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("hook")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def hooks_run(hook: str, args: tuple[str, ...]) -> None:
    """Entry point of the installed hook scripts (never fails the user's git command)."""
    from ..hooks import run_hook

    raise SystemExit(run_hook(hook, list(args)))
