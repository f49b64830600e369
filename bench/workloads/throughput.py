"""Durable throughput of the git store's writer (ell-git only).

    python throughput.py N [REPEAT]

Each repeat builds N realistic records (as `ell.simple` does: live `ell.Message` objects), then
times `record_invocation` of all of them followed by `flush()` on a fresh repository, with the
store's default settings: invocations per second committed (`bench/store_bench.py`'s
`bench_throughput`, which also reports bytes per invocation before and after `git gc`).
Prints {"runs": [...]}.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from store_bench import bench_throughput  # noqa: E402


def main() -> None:
    n = int(sys.argv[1])
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    print(json.dumps({"n": n, "runs": [bench_throughput(n) for _ in range(repeat)]}), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
