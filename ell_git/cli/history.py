"""Reading history from the terminal: `ell log`, `ell show`, `ell diff`, `ell invocations`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

import click

from .output import emit_json, friendly_errors, json_option, open_reader, repo_option, share_note, short, when

if TYPE_CHECKING:
    from ..views import VersionDiff


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
            if as_json:  # each LMP carries its cost (priced now): `cost`, and cost_usd / unpriced_calls at the top
                sampled = reader.sampling()  # recording policies: counts of recorded calls, not of all calls
                return emit_json([{**_with_cost(i.to_json(), i.cost), "recorded_under": sampled.get(i.name, [])}
                                  for i in items])
            if not items:
                click.echo("no LMPs recorded yet")
            running = reader.running()
            rows = []
            for i in items:
                now = running.get(i.name)
                rows.append([(i.name, {"bold": True}), (f"v{i.vn}", {}), (short(i.latest_version), {"fg": "yellow"}),
                             (f"{i.invocation_count} calls", {}), (i.cost.label if i.cost else "–", {}),
                             (f"last used {when(i.last_used)}", {}),
                             (f"running v{now.vn} since {when(now.since)}" if now else "", {"fg": "magenta"}),
                             (i.subject, {})])
            _echo_table(rows)
            _say_share(reader)
            return None
        versions = reader.versions(lmp)
        if not versions:
            reader.version(lmp)  # raises the clear "no LMP named ..." error
        costs = reader.costs_by_version(lmp)
        now = reader.running([lmp]).get(lmp)
        if as_json:
            sampled = reader.sampling(lmp).get(lmp, [])
            return emit_json([{**_with_cost(v.to_json(), costs.get(v.version_id)),
                               "running_since": now.since if now and now.version_id == v.version_id else None,
                               "recorded_under": sampled}
                              for v in reversed(versions)])
        if now:  # a revert makes no commit (the version exists): say it as the newest event
            click.echo(click.style(f"→ back to v{now.vn} since {when(now.since)}: the newest calls run v{now.vn}, "
                                   f"not v{versions[-1].vn}", fg="magenta"))
        rows = []
        for v in reversed(versions):
            dirty = " (dirty)" if v.dirty else ""
            cost = costs.get(v.version_id)
            rows.append([(f"v{v.vn}", {"fg": "green"}), (short(v.version_id), {"fg": "yellow"}), (when(v.time), {}),
                         (cost.label if cost else "–", {}),
                         ("running now" if now and now.version_id == v.version_id else "", {"fg": "magenta"}),
                         (v.subject, {}), (f"code {v.code_commit[:10]}{dirty}" if v.code_commit else "", {"dim": True})])
        _echo_table(rows)
        _say_share(reader)
    return None


def _echo_table(rows: list[list[tuple[str, dict]]]) -> None:
    """Rows of (text, click.style options) cells, each column padded to its widest cell; columns
    empty in every row are left out, and the last one is not padded."""
    keep = [c for c in range(len(rows[0]) if rows else 0) if any(row[c][0] for row in rows)]
    widths = {c: max(len(row[c][0]) for row in rows) for c in keep}
    for row in rows:
        cells = [click.style(row[c][0].ljust(widths[c] if c != keep[-1] else 0), **row[c][1]) for c in keep]
        click.echo("  ".join(cells).rstrip())


def _with_cost(item: dict, cost: object) -> dict:
    """`cost_usd` (None: no priced call) and `unpriced_calls` beside an LMP's or version's JSON."""
    return {**item, "cost_usd": getattr(cost, "cost_usd", None), "unpriced_calls": getattr(cost, "unpriced_calls", 0)}


def _say_share(reader: object) -> None:
    note = share_note(reader)
    if note:
        click.echo(click.style(f"note: {note}", dim=True))
    _say_sampled(reader)


def _say_sampled(reader: object) -> None:
    """Calls recorded under a recording policy (ell.init(record=...)): their counts are not all calls."""
    sampled = reader.sampling()  # type: ignore[attr-defined]
    for policies in sorted({tuple(p) for p in sampled.values()}):
        names = ", ".join(n for n, p in sorted(sampled.items()) if tuple(p) == policies)
        click.echo(click.style(f"note: calls of {names} were recorded under ell.init(record=...) "
                               f"({'; '.join(policies)}): counts are of recorded calls, not of all calls", dim=True))


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
    from .. import masking
    from ..secrets import policy_for

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
@click.argument("a", required=False)
@click.argument("b", required=False, default="latest")
@click.option("--closure", is_flag=True, help="Diff the normalised closure instead of the source.")
@repo_option
@json_option
@friendly_errors
def diff(lmp: str, a: str | None, b: str, closure: bool, repo: str, as_json: bool) -> None:
    """What changed in LMP between versions A and B (vN, version id or prefix; B defaults to latest,
    A to the version before B: `ell diff LMP` shows what the latest version changed)."""
    with open_reader(repo) as reader:
        if a is None:
            newer = reader.version(lmp, b)  # also the clear error for an unknown LMP or version
            older = [v for v in reader.versions(lmp) if v.vn < newer.vn]
            a = older[-1].version_id if older else newer.version_id
        d = reader.diff(lmp, a, b)
        if as_json:
            return emit_json(d.to_json())
        _echo_diff(d, closure, "")
    return None


def _echo_diff(d: VersionDiff, closure: bool, indent: str) -> None:
    """One diff, then each changed dependency's own diff indented under it (its versions named),
    so a version made only by a dependency shows what changed."""
    # A change outside the function's own source (a helper, a global) is only in the closure: show it.
    outside = not closure and not d.source_diff and bool(d.closure_diff)
    text = d.closure_diff if closure or outside else d.source_diff
    lines = text.splitlines()
    adds = sum(1 for l in lines if l.startswith("+") and not l.startswith("+++"))
    dels = sum(1 for l in lines if l.startswith("-") and not l.startswith("---"))
    versions = f"v{d.a.vn} → v{d.b.vn}" if d.change == "changed" else f"{d.change} (v{d.b.vn})"
    head = f"{d.name}: {versions}  (+{adds} -{dels})"
    click.echo(indent + click.style(head if not indent else f"used {head}", bold=True))
    for change in d.summary:
        click.echo(f"{indent}  • {change}")
    if outside:
        click.echo(click.style(f"{indent}  (the source is unchanged: the diff of the closure follows)", dim=True))
    if text:
        click.echo("\n".join(indent + line for line in _colour_diff(text).splitlines()))
    for dep in d.dependencies:
        _echo_diff(dep, closure, indent + "    ")


@click.command()
@click.argument("lmp", required=False)
@click.option("--version", "version", help="Only this version (id, prefix).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("-q", "--search", "q", help="Text to look for in arguments and outputs.")
@click.option("--min-cost", type=float, default=None, metavar="USD", help="Only priced calls costing at least this.")
@click.option("--trace", "trace", metavar="TRACE_ID", help="Only the calls of this OpenTelemetry trace (32 hex).")
@repo_option
@json_option
@friendly_errors
def invocations(lmp: str | None, version: str | None, limit: int, offset: int, q: str | None, repo: str,
                as_json: bool, min_cost: float | None = None, trace: str | None = None) -> None:
    """Recorded calls, newest first (of LMP, or of every LMP)."""
    with open_reader(repo) as reader:
        if lmp is not None and not reader.versions(lmp):
            reader.version(lmp)  # clear error for an unknown LMP
        from ..costs import money

        page = reader.invocations(lmp=lmp, version=version, q=q, limit=limit, offset=offset, min_cost=min_cost,
                                  trace=trace)
        traced = _with_traces(reader, page.to_json())
        if as_json:
            return emit_json(traced)
        trace_of = {item["id"]: item["trace_id"] for item in traced["items"]}
        vns: dict[str, dict[str, int]] = {}  # LMP -> version id -> its number
        rows = []
        for r in page.items:
            if r.lmp not in vns:
                vns[r.lmp] = {v.version_id: v.vn for v in reader.versions(r.lmp)}
            vn = vns[r.lmp].get(r.version_id)
            tokens = f"{r.total_tokens} tok" if r.total_tokens is not None else "- tok"
            cost = money(r.cost_usd) if r.cost_usd is not None or not r.model else "– (unpriced)"
            status = ("error", {"fg": "red"}) if r.error else ("cached" if r.cached else "", {})
            rows.append([(r.id, {"fg": "yellow"}), (when(r.started_at), {}), (r.lmp, {}),
                         (f"v{vn}" if vn else short(r.version_id), {"fg": "green"}),
                         (f"{r.latency_ms:.0f} ms", {}), (tokens, {}), (cost, {}), status,
                         (f"trace {trace_of[r.id][:12]}" if trace_of.get(r.id) else "", {"dim": True}),
                         (repr(r.output_preview[:60]), {"fg": "red"} if r.error else {})])
        _echo_table(rows)
        click.echo(click.style(f"{len(page.items)} of {page.total}", dim=True))
    return None


def _with_traces(reader: object, page: dict) -> dict:
    """`trace_id` / `span_id` (OpenTelemetry, with ell.init(otel=True); else None) beside each call."""
    ids = reader.trace_ids([item["id"] for item in page.get("items", ())])  # type: ignore[attr-defined]
    for item in page.get("items", ()):
        found = ids.get(item["id"]) or {}
        item["trace_id"], item["span_id"] = found.get("trace_id"), found.get("span_id")
    return page


COMMANDS = (log, show, diff, invocations)
