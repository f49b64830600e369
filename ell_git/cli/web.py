"""`ell web`: serve the read-only UI over a repository."""

from __future__ import annotations

import click


def _host(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # An empty address would bind every interface and print the malformed URL http://:PORT/.
    if not value.strip():
        raise click.BadParameter("an address is needed: 127.0.0.1 (this machine only, the default) or "
                                 "0.0.0.0 (every interface)")
    return value.strip()


@click.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=str))
@click.option("--host", default="127.0.0.1", show_default=True, callback=_host,
              help="Address to bind (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--open", "open_browser", is_flag=True, help="Open the UI in a browser.")
@click.option("--feedback", is_flag=True,
              help="Allow thumbs up/down, comments and blind-comparison votes (written as git notes; loopback only).")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Also answer requests addressed to NAME (repeatable); by default only localhost, 127.0.0.1, "
                   "[::1] and the --host address are answered.")
@click.option("--trace-url", "trace_url", envvar="ELL_TRACE_URL", metavar="TEMPLATE",
              help="Link invocations to your tracing UI (ell.init(otel=True)): {trace_id} and {span_id} are filled "
                   "in, e.g. 'http://localhost:16686/trace/{trace_id}' (Jaeger).")
def web(path: str, host: str, port: int, open_browser: bool, feedback: bool, allowed_hosts: tuple[str, ...],
        trace_url: str | None = None) -> None:
    """Browse the prompt history of the repository at PATH (read-only unless --feedback)."""
    import pygit2

    from webui.server import serve

    if pygit2.discover_repository(path) is None:
        raise click.ClickException(f"not a git repository (or any parent): {path}")
    try:
        serve(path, host=host, port=port, open_browser=open_browser, feedback=feedback, allowed_hosts=allowed_hosts,
              trace_url=trace_url)
    except ValueError as exc:  # --feedback on a non-loopback address, a bad --trace-url
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
