"""Where the store-on cost goes: one process, variants alternated round by round (ell-git only).

    python percall_ab.py [CALLS] [ROUNDS] [--writer-off]

Variants, on the in-process mock transport: `raw` (the openai SDK alone), `nostore` (ell, no store),
`lines` (ell with a store that only builds and serialises each record, as the git store does on the
caller's thread, and keeps the line), `git` (the git store). `git − lines` is what handing lines to
the writer costs the caller (a writer thread cost 15–20 µs; the writer process ~1–9 µs);
`--writer-off` stops this process's writer threads (the writer process still runs). `git-noredact`
is the git store with redaction off (`ell.init(redact=False)`): `git − git-noredact` is what
checking each record for secrets costs the caller.
Between-process differences (memory layout) are as large as the effects, hence one process.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
warnings.simplefilter("ignore")

from mock import mock_client  # noqa: E402

import ell  # noqa: E402
import ell.redaction  # noqa: E402
import ell_git.writer  # noqa: E402
from ell.store import MemoryStore  # noqa: E402
from ell_git import GitStore  # noqa: E402


class LinesStore(MemoryStore):
    """The git store's caller-side work (record → canonical line), with no writer behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, bytes | None, str]] = []

    def record_invocation(self, invocation) -> None:  # type: ignore[no-untyped-def]
        self.lines.append((invocation.version_id, invocation.plain_line(), invocation.lmp_name))
        if len(self.lines) > 1000:
            self.lines = []


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    calls, rounds = (int(args[0]) if args else 3000), (int(args[1]) if len(args) > 1 else 7)
    writer_off = "--writer-off" in sys.argv
    if writer_off:
        ell_git.writer.Writer._run = ell_git.writer.Writer._run_versions = lambda self: None
    client = mock_client()

    def raw(i: int) -> str:
        r = client.chat.completions.create(model="gpt-4o-mini", temperature=0.2, messages=[
            {"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": f"Say hello to {i}."}])
        return r.choices[0].message.content

    git = GitStore(tempfile.mkdtemp(prefix="ell-ab-"), autocommit=False)
    stores = {"raw": None, "nostore": None, "lines": LinesStore(), "git": git, "git-noredact": git}
    ell.init(store=git, autocommit=False)
    git.wait_for_writer()  # steady state: lines go to the writer thread until the writer process runs

    @ell.simple(model="gpt-4o-mini", temperature=0.2, client=client)
    def hello(name: str):
        """You are a helpful assistant."""
        return f"Say hello to {name}."

    times: dict[str, list[float]] = {v: [] for v in stores}
    for r in range(rounds + 1):  # round 0 warms up
        for variant, store in stores.items():
            ell.config.store = store
            ell.redaction.configure(enabled=variant != "git-noredact")
            fn = raw if variant == "raw" else hello
            gc.collect()
            t0 = time.perf_counter()
            for i in range(calls if r else 200):
                fn(i)
            if r:
                times[variant].append((time.perf_counter() - t0) / calls * 1e6)
            if variant.startswith("git") and not writer_off:
                git.flush()  # untimed: the next variant does not pay for this one's backlog
    base = statistics.median(times["raw"])
    for variant, ts in times.items():
        m = statistics.median(ts)
        print(f"{variant:8s} {m:7.1f} µs/call  ({m - base:+6.1f} vs raw; rounds {min(ts):.0f}…{max(ts):.0f})")
    os._exit(0)  # the writer-off store cannot close


if __name__ == "__main__":
    main()
