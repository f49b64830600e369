"""Reading history from the terminal: `ell log`, `ell show`, `ell diff`, `ell invocations`."""

from __future__ import annotations

from types import SimpleNamespace

import click

from .output import emit_json, friendly_errors, json_option, open_reader, repo_option, share_note, short, when


@click.command()
@click.argument("lmp", required=False)
@repo_option
@json_option
@friendly_errors
def log(lmp: str | None, repo: str, as_json: bool) -> None:
    """Versions of LMP, newest first (like `git log --oneline`); every LMP when none is given."""
    with open_reader(repo) as reader:
        if lmp is None:
            items = reader.lmps()
            if as_json:
                return emit_json([i.to_json() for i in items])
            if not items:
                click.echo("no LMPs recorded yet")
            for i in items:
                click.echo(f"{click.style(i.name, bold=True)}  v{i.vn}  {click.style(short(i.latest_version), fg='yellow')}"
                           f"  {i.invocation_count} calls  last used {when(i.last_used)}  {i.subject}")
            _say_share(reader)
            return None
        versions = reader.versions(lmp)
        if not versions:
            reader.version(lmp)  # raises the clear "no LMP named ..." error
        if as_json:
            return emit_json([v.to_json() for v in reversed(versions)])
        for v in reversed(versions):
            dirty = " (dirty)" if v.dirty else ""
            code = f"  code {v.code_commit[:10]}{dirty}" if v.code_commit else ""
            click.echo(f"{click.style(f'v{v.vn}', fg='green')} {click.style(short(v.version_id), fg='yellow')}"
                       f"  {when(v.time)}  {v.subject}{click.style(code, dim=True)}")
        _say_share(reader)
    return None


def _say_share(reader: object) -> None:
    note = share_note(reader)
    if note:
        click.echo(click.style(f"note: {note}", dim=True))


def _split_ref(spec: str) -> tuple[str, str]:
    name, _, ref = spec.partition("@")
    return name, ref or "latest"


@click.command()
@click.argument("spec", metavar="LMP[@vN|@ID]")
@repo_option
@json_option
@friendly_errors
def show(spec: str, repo: str, as_json: bool) -> None:
    """One version's source, closure and metadata (latest unless @vN or @version-id is given)."""
    from ell_git import masking
    from ell_git.secrets import policy_for

    name, ref = _split_ref(spec)
    with open_reader(repo) as reader:
        policy_for(reader.repo)  # this repository's `git config ell.allow` / `ell.redact` apply
        shown = masking.version(reader.version(name, ref).to_json())
        if as_json:
            return emit_json(shown)
        v = SimpleNamespace(**shown)
        click.echo(click.style(f"{v.name} v{v.vn}  {v.version_id}  commit {v.commit[:10]}", bold=True))
        click.echo(v.message.rstrip() + "\n")
        click.echo(click.style("# source", fg="cyan"))
        click.echo(v.source.rstrip() + "\n")
        click.echo(click.style("# closure (what the version id hashes)", fg="cyan"))
        click.echo(v.closure.rstrip() + "\n")
        click.echo(click.style("# meta", fg="cyan"))
        emit_json(v.meta)
        if v.masked:
            click.echo(click.style(f"note: secrets recorded before redaction are masked here ({', '.join(v.masked)}); "
                                   "`ell forget --secrets` replaces them in history", dim=True))
    return None


def _colour_diff(text: str) -> str:
    out = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            out.append(click.style(line, bold=True))
        elif line.startswith("+"):
            out.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            out.append(click.style(line, fg="red"))
        elif line.startswith("@@"):
            out.append(click.style(line, fg="cyan"))
        else:
            out.append(line)
    return "\n".join(out)


@click.command()
@click.argument("lmp")
@click.argument("a")
@click.argument("b", required=False, default="latest")
@click.option("--closure", is_flag=True, help="Diff the normalised closure instead of the source.")
@repo_option
@json_option
@friendly_errors
def diff(lmp: str, a: str, b: str, closure: bool, repo: str, as_json: bool) -> None:
    """What changed in LMP between versions A and B (vN, version id or prefix; B defaults to latest)."""
    with open_reader(repo) as reader:
        d = reader.diff(lmp, a, b)
        if as_json:
            return emit_json(d.to_json())
        text = d.closure_diff if closure else d.source_diff
        lines = text.splitlines()
        adds = sum(1 for l in lines if l.startswith("+") and not l.startswith("+++"))
        dels = sum(1 for l in lines if l.startswith("-") and not l.startswith("---"))
        click.echo(click.style(f"{d.name}: v{d.a.vn} → v{d.b.vn}  (+{adds} -{dels})", bold=True))
        for change in d.summary:
            click.echo(f"  • {change}")
        if text:
            click.echo(_colour_diff(text))
    return None


@click.command()
@click.argument("lmp", required=False)
@click.option("--version", "version", help="Only this version (id, prefix).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("-q", "--search", "q", help="Text to look for in arguments and outputs.")
@repo_option
@json_option
@friendly_errors
def invocations(lmp: str | None, version: str | None, limit: int, offset: int, q: str | None, repo: str,
                as_json: bool) -> None:
    """Recorded calls, newest first (of LMP, or of every LMP)."""
    with open_reader(repo) as reader:
        if lmp is not None and not reader.versions(lmp):
            reader.version(lmp)  # clear error for an unknown LMP
        page = reader.invocations(lmp=lmp, version=version, q=q, limit=limit, offset=offset)
        if as_json:
            return emit_json(page.to_json())
        for r in page.items:
            tokens = f"{r.total_tokens} tok" if r.total_tokens is not None else "- tok"
            status = click.style(" error", fg="red") if r.error else (" cached" if r.cached else "")
            click.echo(f"{click.style(r.id, fg='yellow')}  {when(r.started_at)}  {r.lmp}  {r.latency_ms:.0f} ms  "
                       f"{tokens}{status}  {r.output_preview[:60]!r}")
        click.echo(click.style(f"{len(page.items)} of {page.total}", dim=True))
    return None


COMMANDS = (log, show, diff, invocations)
