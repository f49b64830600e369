"""`ell forget`: erase invocations (and secrets recorded before redaction) from this clone's ell history."""

from __future__ import annotations

import datetime as dt

import click

from .output import emit_json, friendly_errors, json_option, repo_option

_WHEN = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"])


@click.command()
@click.option("--invocation", "ids", multiple=True, metavar="ID", help="An invocation id (repeatable).")
@click.option("--lmp", help="Only invocations of this LMP.")
@click.option("--version", help="Only invocations of this version (id, prefix, or vN with --lmp).")
@click.option("--before", type=_WHEN, metavar="WHEN", help="Only invocations started before this time (UTC, YYYY-MM-DD[THH:MM]).")
@click.option("--after", type=_WHEN, metavar="WHEN", help="Only invocations started at or after this time (UTC).")
@click.option("--match", help="Only invocations whose arguments, messages, outputs or error contain this text "
                              "(case-insensitive).")
@click.option("--secrets", is_flag=True, help="Replace every secret found in versions, invocations, evaluations "
                                              "and notes by its placeholder.")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--prune", is_flag=True, help="Then delete the old objects from this clone now (`git gc --prune=now`, "
                                            "which also prunes any other unreachable object).")
@click.option("--abandon", metavar="REMOTE", help="Stop waiting for the force pushes to REMOTE that an earlier "
                                                  "`ell forget` printed.")
@repo_option
@json_option
@friendly_errors
def forget(ids: tuple[str, ...], lmp: str | None, version: str | None, before: dt.datetime | None,
           after: dt.datetime | None, match: str | None, secrets: bool, dry_run: bool, prune: bool,
           abandon: str | None, repo: str, as_json: bool) -> None:
    """Erase invocations from this clone's ell history: by id, LMP, version, time range or text
    (criteria combine), with the feedback given on them; --secrets replaces secrets recorded before
    redaction. Only refs/ell/* and refs/notes/ell* are rewritten; the force pushes that do the same
    on each remote are printed (and `ell push`/`pull`/`sync` wait for them)."""
    from ..leases import abandon as abandon_remote
    from ..forget import forget as run_forget
    from ..repo import open_repository

    if abandon:
        found = abandon_remote(open_repository(repo, create=False), abandon)
        click.echo(f"no longer waiting for force pushes to {abandon}" if found else f"nothing pending for {abandon}")
        return
    report = run_forget(repo, ids=ids, lmp=lmp, version=version, before=before, after=after, match=match,
                        secrets=secrets, dry_run=dry_run, prune=prune)
    if as_json:
        emit_json(report.to_json())
        return
    for line in report.lines():
        click.echo(line)


COMMANDS = (forget,)
