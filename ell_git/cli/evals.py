"""Evaluations and training data from the terminal: `ell eval list`, `ell eval show`, `ell export`."""

from __future__ import annotations

import math
import sys
from typing import Any, Optional

import click

from .output import emit_json, friendly_errors, json_option, open_reader, repo_option, short, when


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.3g}"


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for i, row in enumerate([header, *rows]):
        line = "  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip()
        click.echo(click.style(line, bold=True) if i == 0 else line)


def _version(lmp: str, vn: Optional[int], version_id: str) -> str:
    return f"{lmp} {'v' + str(vn) if vn else short(version_id)}"


@click.group(name="eval")
def eval_group() -> None:
    """Evaluations recorded in this repository: runs, and scores per prompt version."""


@eval_group.command(name="list")
@repo_option
@json_option
@friendly_errors
def list_evals(repo: str, as_json: bool) -> None:
    """Every evaluation with its size, labelers, runs and best-scoring version."""
    with open_reader(repo) as reader:
        items = reader.evals.evaluations()
        if as_json:
            return emit_json([i.to_json() for i in items])
        if not items:
            click.echo("no evaluations recorded yet (run one with ell.Evaluation(...).run(lmp))")
        for i in items:
            best = ""
            if i.best:
                best = f"  best {_version(i.best['lmp'], i.best['vn'], i.best['version_id'])} " \
                       f"({i.best['labeler']} {_num(i.best['mean'])})"
            click.echo(f"{click.style(i.name, bold=True)}  {i.datapoints} datapoints  {', '.join(i.labelers)}"
                       f"  {i.runs} runs  last {when(i.last_run)}{best}")
    return None


@eval_group.command(name="show")
@click.argument("name")
@click.option("--run", "run_id", help="Show one run's results per datapoint (a run id or prefix).")
@click.option("--eval-id", help="Which version of the evaluation the table is about (default: the newest run's).")
@repo_option
@json_option
@friendly_errors
def show_eval(name: str, run_id: Optional[str], eval_id: Optional[str], repo: str, as_json: bool) -> None:
    """One evaluation: which version of the prompt scored best (versions × metrics), and its runs."""
    with open_reader(repo) as reader:
        if run_id:
            res = reader.evals.eval_run(run_id)
            if as_json:
                return emit_json(res.to_json())
            run = res.run
            click.echo(click.style(f"{run.id}  {_version(run.lmp, run.vn, run.version_id)}  {when(run.ended_at)}",
                                   bold=True))
            names = list(run.summaries)
            _table(["#", "input", "output", *names, "invocation"],
                   [[f"{r['index']}.{r['sample']}", str(r["input"])[:30], str(r["output"])[:40],
                     *[_num(r["labels"].get(n)) for n in names], r["invocation_id"] or "-"] for r in res.results])
            return None
        detail = reader.evals.evaluation(name, eval_id)
        if as_json:
            return emit_json(detail.to_json())
        definition = next(d for d in detail.definitions if d.id == detail.eval_id)
        click.echo(click.style(f"{name}  {detail.eval_id}  {definition.datapoints} datapoints", bold=True)
                   + f"  ({len(detail.definitions)} version{'s' * (len(detail.definitions) != 1)})")
        for l in definition.labelers:
            click.echo(f"  {l.kind} {l.name}: {l.function} {short(l.version_id)}")
        click.echo("")
        if detail.table:
            _table(["version", "params", "runs", "n", *detail.labelers],
                   [[_version(r.lmp, r.vn, r.version_id), _params(r.api_params), str(len(r.runs)), str(r.count),
                     *[_num(r.means.get(n)) + (" *" if n in r.best else "") for n in detail.labelers]]
                    for r in detail.table])
            click.echo("(* best in its column)\n")
        for run in detail.runs:
            scores = ", ".join(f"{n} {_num(s.get('mean'))}" for n, s in run.summaries.items())
            flag = "" if run.success else click.style(f"  ({run.error})", fg="red")
            click.echo(f"{click.style(run.id, fg='yellow')}  {when(run.ended_at)}  "
                       f"{_version(run.lmp, run.vn, run.version_id)}  {scores}{flag}")
    return None


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "-"


@click.command(name="export")
@click.argument("lmp")
@click.option("--version", "version", help="Only this version (vN, a version id or prefix).")
@click.option("--min-score", type=float, callback=lambda ctx, param, v: _finite(v),
              help="Only invocations whose mean human feedback score is at least this.")
@click.option("--format", "fmt", type=click.Choice(["openai-jsonl", "jsonl"]), default="openai-jsonl",
              show_default=True, help="openai-jsonl: chat fine-tuning examples; jsonl: prompt, completion, feedback.")
@click.option("-o", "--output", default="-", type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write (default: standard output).")
@click.option("--cost", "with_cost", is_flag=True, help="Add each call's usage and cost_usd (null: unpriced model).")
@repo_option
@friendly_errors
def export(lmp: str, version: Optional[str], min_score: Optional[float], fmt: str, output: str, repo: str,
           with_cost: bool = False) -> None:
    """Write LMP's invocations (messages + completion) as a fine-tuning or preference dataset."""
    from ..export import export as write

    with open_reader(repo) as reader:
        if output == "-":
            n = write(reader, lmp, sys.stdout, version=version, min_score=min_score, fmt=fmt, cost=with_cost)
        else:
            with open(output, "w", encoding="utf-8") as f:
                n = write(reader, lmp, f, version=version, min_score=min_score, fmt=fmt, cost=with_cost)
    click.echo(f"wrote {n} example{'s' * (n != 1)} ({fmt}) to {'stdout' if output == '-' else output}", err=True)


def _finite(value: Optional[float]) -> Optional[float]:
    # NaN compares false with every score: it would silently keep nothing, or turn the filter off.
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a score: give a number such as 1 or 0.5")
    return value


COMMANDS = (eval_group, export)
