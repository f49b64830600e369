"""Versioning cost of a generated module of N LMPs with helpers; runs under ell-git and ell-ai 0.0.17.

    python closure.py N WORKDIR [--no-chain]

Writes `bench/versioning_bench.py`'s generated module (a fresh name and text, so nothing is
cached), imports it, and times, over every LMP, what each framework runs to version it:
ours `ell.versioning.compute_version` (source, ast index, libcst normalisation, hash); the peer's
`__ell_force_closure__` (what its `_track` runs per LMP: `lexically_closured_source`: dill
sources, ast walks, black formatting, hash). Framework imports happen before timing. Prints
{"impl", "lmps", "cold_ms", "per_lmp_ms", "cached_us"}.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the module generator

from versioning_bench import generate  # noqa: E402


def main() -> None:
    n, workdir, chain = int(sys.argv[1]), Path(sys.argv[2]), "--no-chain" not in sys.argv
    import ell

    try:
        from ell.versioning import compute_version

        impl = "ours"

        def version(lmp):
            return compute_version(lmp)
    except ImportError:  # ell-ai 0.0.17
        import ell.util.closure  # noqa: F401  (dill, black: imported before timing)

        impl = "peer"

        def version(lmp):
            return lmp.__ell_func__.__ell_force_closure__()

    tag = f"{os.getpid()}_{time.time_ns()}"
    name = f"bench_lmps_{tag}"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / f"{name}.py").write_text(generate(n, tag, chain=chain))
    sys.path.insert(0, str(workdir))
    module = importlib.import_module(name)
    lmps = [getattr(module, f"prompt_{i}") for i in range(n)]
    t0 = time.perf_counter()
    for lmp in lmps:
        version(lmp)
    cold = time.perf_counter() - t0
    cached = None
    if impl == "ours":  # the peer recomputes on every force: it has no cached path to time
        t0 = time.perf_counter()
        for lmp in lmps:
            version(lmp)
        cached = (time.perf_counter() - t0) / n * 1e6
    print(json.dumps({"impl": impl, "ell": getattr(ell, "__version__", None), "lmps": n, "chain": chain, "cold_ms": cold * 1000,
                      "per_lmp_ms": cold * 1000 / n, "cached_us": cached}))
    os._exit(0)


if __name__ == "__main__":
    main()
