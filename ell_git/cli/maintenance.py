"""`ell gc`: pack the repository, optionally forgetting this clone's old invocations; `ell doctor`:
check everything ell keeps, in depth, and repair it."""

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
    from ..gc import gc as run_gc

    report = run_gc(repo, before.date() if before else None)
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(report.summary)


@click.command()
@click.option("--repair", is_flag=True, help="Repair what can be: damaged refs, journals left by dead processes, "
                                             "bad records of this clone, a damaged read cache.")
@repo_option
@json_option
@friendly_errors
def doctor(repair: bool, repo: str, as_json: bool) -> None:
    """Check every ell ref in depth (all objects present), every record against the format, the
    journals and the read cache; exit status 1 while something is wrong."""
    from ..doctor import diagnose

    report = diagnose(repo, repair=repair)
    if as_json:
        emit_json(report.to_json())
    else:
        for line in report.lines():
            click.echo(line)
    if not report.ok:
        raise SystemExit(1)


COMMANDS = (gc, doctor)
