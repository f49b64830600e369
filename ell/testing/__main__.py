"""``python -m ell.testing``: run the fake OpenAI server in the foreground.

Prints the base URL as the first stdout line (scripts can read it), then
serves default (echo) replies until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Sequence

from .server import ModelServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ell.testing", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("--api-key", default=None, help="only accept this key (default: any key)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    server = ModelServer(args.host, args.port, api_key=args.api_key, verbose=args.verbose)
    # SIGTERM must stop cleanly too (process managers, test teardown).
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    server.start()
    print(server.base_url, flush=True)
    env = " ".join(f"{k}={v}" for k, v in server.env().items())
    print(f"ell.testing: serving; run programs with: {env}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
