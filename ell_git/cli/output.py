"""Shared CLI plumbing: the --repo/--json options, opening the reader, printing, errors."""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any, Callable

import click

from ..errors import EllGitError, InvalidShareSetting

repo_option = click.option(
    "--repo", "repo", default=".", show_default=True, type=click.Path(file_okay=False, path_type=str),
    help="A path inside the repository to act on.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of text.")


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Expected failures (unknown LMP, not a repository, sync refused, newer format...) become one clear line."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (EllGitError, FileNotFoundError, NotADirectoryError, PermissionError) as exc:
            raise click.ClickException(str(exc)) from None
        except Exception as exc:
            import pygit2  # here, not at the top: `ell --help` need not load libgit2

            if isinstance(exc, pygit2.GitError):  # libgit2's own one line (an unreadable repository...)
                raise click.ClickException(str(exc)) from None
            raise

    return wrapper


def open_reader(repo: str) -> Any:
    import pygit2

    from ..reader import Reader

    if pygit2.discover_repository(os.path.abspath(repo)) is None:
        raise click.ClickException(f"not a git repository (or any parent): {os.path.abspath(repo)}; "
                                   "run `ell.init(store=...)` in your program first, or pass --repo PATH")

    class ReaderThatSaysWhatItSkipped(Reader):
        def __exit__(self, *exc: Any) -> None:
            # Each bad record is warned about once, when first indexed; this line comes every time.
            try:
                summary = self.problems().summary if exc[0] is None else ""
            except Exception:
                summary = ""
            if summary:
                click.echo(f"warning: {summary}", err=True)
            super().__exit__(*exc)

    return ReaderThatSaysWhatItSkipped(repo)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def when(ts: float | None) -> str:
    if not ts:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def short(version_id: str) -> str:
    return version_id[:12]


def share_note(reader: Any) -> str | None:
    """What this clone does not share (``git config ell.share``), for `ell log`; None if it shares all."""
    from ..share import describe, shared_parts

    try:
        return describe(shared_parts(reader.repo))
    except InvalidShareSetting as exc:  # say so: it is what push will say too
        return str(exc)
