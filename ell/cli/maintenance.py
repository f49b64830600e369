"""`ell gc`: pack the repository, optionally forgetting this clone's old invocations."""

from __future__ import annotations

import datetime as dt

import click

from .output import emit_json, friendly_errors, json_option, repo_option


@click.command()
@click.option("--forget-invocations-before", "before", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Drop this clone's invocations recorded before DATE (YYYY-MM-DD, UTC). Versions are kept.")
@repo_option
@json_option
@friendly_errors
def gc(before: dt.datetime | None, repo: str, as_json: bool) -> None:
    """Pack ell's objects and report the repository's size."""
    from ell_git.gc import gc as run_gc

    report = run_gc(repo, before.date() if before else None)
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(report.summary)


COMMANDS = (gc,)
