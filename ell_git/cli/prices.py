"""`ell prices`: the team's model prices, stored in the repository (``refs/notes/ell/prices``) and shared
by `ell sync`; they override the list prices shipped with ell-git and apply to past calls at once."""

from __future__ import annotations

import time

import click

from .output import emit_json, friendly_errors, json_option, open_reader, repo_option


@click.group()
def prices() -> None:
    """Model prices (USD per million tokens) used to show what calls cost."""


def _usd(v: float | None) -> str:
    return "–" if v is None else f"{v:g}"


@prices.command("set")
@click.argument("model")
@click.option("--input", "input_", type=float, required=True, help="USD per million input tokens.")
@click.option("--output", "output", type=float, required=True, help="USD per million output tokens.")
@click.option("--cached-input", type=float, default=None, help="USD per million cached input tokens (default: as input).")
@click.option("--from", "since", default=None, metavar="YYYY-MM-DD",
              help="The date the price took effect (UTC); default: it applies to every call.")
@repo_option
@json_option
@friendly_errors
def set_(model: str, input_: float, output: float, cached_input: float | None, since: str | None, repo: str,
         as_json: bool) -> None:
    """Price MODEL for this repository (a private deployment, a fine-tuned model, a negotiated rate)."""
    from .. import prices as p

    with open_reader(repo) as reader:
        try:
            price = p.set_price(reader.repo, model, input_, output, cached_input, since)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        total = reader.cost(None)  # re-priced at once: past calls included
        if as_json:
            return emit_json({"price": price.to_json(), "cost": total.to_json()})
        when = f" from {since}" if since else ""
        click.echo(f"{model}: input ${input_:g}, cached input ${_usd(cached_input)}, output ${output:g} per 1M tokens"
                   f"{when} (shared by `ell sync`)")
        click.echo(f"all calls: {total.label}")
    return None


@prices.command("unset")
@click.argument("model")
@click.option("--from", "since", default=None, metavar="YYYY-MM-DD", help="Only the price from this date.")
@repo_option
@friendly_errors
def unset(model: str, since: str | None, repo: str) -> None:
    """Drop this repository's price of MODEL (the shipped list price, if any, applies again)."""
    from .. import prices as p

    with open_reader(repo) as reader:
        try:
            n = p.unset_price(reader.repo, model, since)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if not n:
            raise click.ClickException(f"this repository has no price for {model!r}"
                                       + (f" from {since}" if since else "") + " (`ell prices list --local` shows them)")
        fallback = p.resolve(model)
        after = f"list price ${fallback.input:g}/${fallback.output:g} applies" if fallback else "it is unpriced now"
        click.echo(f"{model}: {n} price{'s' * (n != 1)} dropped; {after}")
    return None


@prices.command("list")
@click.argument("model", required=False)
@click.option("--local", "local_only", is_flag=True, help="Only this repository's own prices.")
@click.option("--all-dates", is_flag=True, help="Every dated price, not only the one in force now.")
@repo_option
@json_option
@friendly_errors
def list_(model: str | None, local_only: bool, all_dates: bool, repo: str, as_json: bool) -> None:
    """Prices in force now (team prices first, then the shipped list prices); MODEL: how it resolves."""
    from .. import prices as p

    with open_reader(repo) as reader:
        local = p.local_entries(reader.repo)
        now = time.time()
        rows = []
        if model is not None:
            names = [model]
        else:
            names = sorted(set(local) | (set() if local_only else set(p.shipped())))
        for name in names:
            for since, until, price in p.timeline(name, local):
                if local_only and not price.local:
                    continue
                if all_dates or since <= now < until:
                    rows.append({**price.to_json(), "name": name})
        if model is not None and not rows:
            raise click.ClickException(f"{model} has no price: `ell prices set {model} --input USD --output USD` "
                                       "prices it (and its past calls)")
        if as_json:
            return emit_json(rows)
        for r in rows:
            who = "team" if r["local"] else "list"
            shown = r["name"] if r["name"].lower() == r["model"].lower() else f"{r['name']} → {r['model']}"
            click.echo(f"{shown:32} in ${r['input']:g}  cached ${_usd(r['cached_input'])}  out ${r['output']:g}"
                       f"  from {r['from'] or 'always'}  ({who}{': ' + r['source'] if r['source'] and not r['local'] else ''})")
        if not rows:
            click.echo("no prices set in this repository (`ell prices set MODEL --input USD --output USD`)")
    return None


COMMANDS = (prices,)
