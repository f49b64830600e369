"""A longer soak of test_maintenance.py's races: git maintenance in a loop against a recording process.

    python tests/reliability/soak_maintenance.py [--minutes 10] [--command "gc --prune=now" ...]

Runs races (maintenance_race.race, writer process and writer thread in turn, bigger than in the
suite) until the time is up, then prints one JSON object: races run, acknowledged invocations and
versions checked, lost (must be 0), and the user's gc runs that failed while a ref waited for its
repair. Exit status 1 if anything was lost or a check failed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _p in (str(HERE.parents[1]), str(HERE), str(HERE.parents[0] / "store")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from maintenance_race import COMMANDS, race  # noqa: E402
from test_maintenance import RACES  # noqa: E402

#: command -> (maintenance runs, acknowledged invocations) of one race in the suite (the slow
#: commands, gc --aggressive, run fewer times).
SIZES = {c: (r, a) for c, _, r, a in RACES}
from store_helpers import init_user_repo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--command", action="append", choices=sorted(COMMANDS), help="default: all")
    parser.add_argument("--scale", type=float, default=3.0,
                        help="each race is this many times the suite's (maintenance runs and acknowledged invocations)")
    args = parser.parse_args()
    for var in ("AUTHOR", "COMMITTER"):
        os.environ.setdefault(f"GIT_{var}_NAME", "ell soak")
        os.environ.setdefault(f"GIT_{var}_EMAIL", "soak@localhost")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["ell_git.store", "relworkers"])
    commands = args.command or sorted(COMMANDS)
    totals = {"races": 0, "maintenance_runs": 0, "failed_runs": 0, "invocations_checked": 0, "versions_checked": 0,
              "lost": 0, "duplicated": 0, "versions_lost": 0, "errors": []}
    end = time.monotonic() + args.minutes * 60
    n = 0
    while time.monotonic() < end:
        command, thread = commands[n % len(commands)], bool((n // len(commands)) % 2)
        n += 1
        work = Path(tempfile.mkdtemp(prefix="ell-soak-"))
        try:
            repo = init_user_repo(work / "proj", dirty=False)
            runs, acknowledged = SIZES[command]
            out = race(repo, work / "race", ctx, command, races=int(runs * args.scale),
                       min_acknowledged=int(acknowledged * args.scale), writer_process=not thread, deadline=600)
            totals["races"] += 1
            totals["maintenance_runs"] += out.races
            totals["failed_runs"] += len(out.failed_runs)
            totals["invocations_checked"] += out.checked
            totals["versions_checked"] += out.versions
            for key in ("lost", "duplicated", "versions_lost"):
                totals[key] += getattr(out, key)
            print(f"{command} ({'thread' if thread else 'process'}): {out.races} runs, {out.checked} checked, "
                  f"{out.lost} lost, {out.versions} versions, {out.versions_lost} lost, {out.seconds} s", file=sys.stderr, flush=True)
            if out.lost or out.versions_lost or out.duplicated:
                totals["errors"].append(f"{command}: {out} (kept in {work})")
            else:
                shutil.rmtree(work, ignore_errors=True)
        except Exception as exc:  # keep the repository for a look
            totals["errors"].append(f"{command}: {type(exc).__name__}: {exc} (kept in {work})")
    print(json.dumps(totals, indent=2))
    return 1 if totals["errors"] or totals["lost"] or totals["versions_lost"] or totals["duplicated"] else 0


if __name__ == "__main__":
    sys.exit(main())
