"""What `bench/run.py` is built of: the row catalogue and table, the machine, the peer's virtualenv,
and long-lived workload processes. Runs in our environment only.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Optional

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
WORKLOADS = BENCH / "workloads"
PEER_VENV = BENCH / ".venv-peer"
PEER_REQUIREMENT = "ell-ai[sqlite]==0.0.17"


# -- rows ------------------------------------------------------------------------------------
def le(x: float) -> tuple[str, Callable[[float], bool]]:
    return f"≤ {x:g}", lambda v: v <= x


def ge(x: float) -> tuple[str, Callable[[float], bool]]:
    return f"≥ {x:,g}", lambda v: v >= x


def eq(x: float) -> tuple[str, Callable[[float], bool]]:
    return f"= {x:g}", lambda v: v == x


@dataclass
class Spec:
    workload: str
    variant: str
    unit: str
    goal: Optional[tuple[str, Callable[[float], bool]]] = None
    peer: bool = False  # needs the peer's virtualenv


@dataclass
class Table:
    """Every row of the catalogue, filled in as workloads run; a row nobody filled says why."""

    specs: list[Spec]
    values: dict[tuple[str, str], tuple[Any, str]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # workload -> why its rows are empty

    def set(self, workload: str, variant: str, value: Any, note: str = "") -> None:
        key = (workload, variant)
        if not any((s.workload, s.variant) == key for s in self.specs):
            raise KeyError(f"no row {key} in the catalogue")
        self.values[key] = (value, note)

    def rows(self, peer_reason: Optional[str]) -> list[dict[str, Any]]:
        out = []
        for s in self.specs:
            value, note = self.values.get((s.workload, s.variant), (None, ""))
            if value is None and not note:
                if s.peer and peer_reason:
                    note = f"peer unavailable: {peer_reason}"
                else:
                    note = self.missing.get(s.workload, "not measured")
            met = None
            if s.goal is not None and isinstance(value, (int, float)):
                met = bool(s.goal[1](value))
            out.append({"workload": s.workload, "variant": s.variant, "value": value, "unit": s.unit,
                        "goal": s.goal[0] if s.goal else None, "met": met, "note": note})
        return out


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        a = abs(value)
        if a >= 1000:
            return f"{value:,.0f}"
        if a >= 100:
            return f"{value:.0f}"
        if a >= 10:
            return f"{value:.1f}"
        if a >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value)


def markdown(rows: list[dict[str, Any]], machine: dict[str, Any], header: str) -> str:
    lines = [header, ""]
    lines += [f"- {k}: {v}" for k, v in machine.items()]
    lines += ["", "| workload | variant | value | unit | goal | met | note |", "|---|---|--:|---|---|---|---|"]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "–"}[r["met"]]
        note = str(r["note"]).replace("|", "\\|")
        lines.append(f"| {r['workload']} | {r['variant']} | {fmt(r['value'])} | {r['unit']} | {r['goal'] or '–'} "
                     f"| {met} | {note} |")
    return "\n".join(lines) + "\n"


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    """The range of per-round figures, for the note (how much to trust a median)."""
    if len(xs) < 2:
        return f"{len(xs)} round"
    return f"{len(xs)} rounds {fmt(min(xs))}…{fmt(max(xs))}"


# -- the machine -----------------------------------------------------------------------------
def machine(peer: Optional[dict[str, str]]) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["CPU"] = next(l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name"))
    except (OSError, StopIteration):
        info["CPU"] = platform.processor() or platform.machine()
    info["cores"] = os.cpu_count()
    try:
        kib = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
        info["RAM"] = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    info["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["Python"] = platform.python_version()
    import openai
    import pygit2

    info["pygit2 / libgit2"] = f"{pygit2.__version__} / {pygit2.LIBGIT2_VERSION}"
    info["openai"] = openai.__version__
    try:
        info["git"] = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    info["peer"] = (f"ell-ai {peer['ell']}, openai {peer['openai']} ({peer['python']})" if peer else "unavailable")
    return info


# -- the peer's virtualenv ---------------------------------------------------------------------
def check_peer(python: str) -> dict[str, str]:
    code = "import ell, openai, sqlmodel, json; print(json.dumps({'ell': ell.__version__, 'openai': openai.__version__}))"
    # Not from our checkout: `python -c` puts the working directory first on sys.path, and ours is `ell` too.
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "import failed")
    info = json.loads(r.stdout.strip().splitlines()[-1])
    if info["ell"] != "0.0.17":
        raise RuntimeError(f"{python} has ell {info['ell']}, not ell-ai 0.0.17")
    return {**info, "python": python}


def peer_env(explicit: Optional[str], log: Callable[[str], None]) -> tuple[Optional[dict[str, str]], str]:
    """(peer info, "") or (None, why not). Creates bench/.venv-peer once and reuses it."""
    if explicit:
        try:
            return check_peer(explicit), ""
        except Exception as exc:
            return None, f"{explicit}: {exc}"
    python = PEER_VENV / "bin" / "python"
    if python.exists():
        try:
            return check_peer(str(python)), ""
        except Exception as exc:
            log(f"the peer venv at {PEER_VENV} is broken ({exc}); recreating it")
            shutil.rmtree(PEER_VENV, ignore_errors=True)
    log(f"creating the peer's virtualenv {PEER_VENV} (pip install {PEER_REQUIREMENT}; once)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True, capture_output=True, timeout=300)
        r = subprocess.run([str(python), "-m", "pip", "install", "-q", PEER_REQUIREMENT],
                           capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["pip failed"]
            raise RuntimeError(tail[0])
        return check_peer(str(python)), ""
    except Exception as exc:
        shutil.rmtree(PEER_VENV, ignore_errors=True)  # a half-made venv would be "reused" next time
        return None, f"could not create {PEER_VENV.name} ({exc})"


# -- processes -------------------------------------------------------------------------------
class Worker:
    """A workload process that answers one JSON line per command line (see percall.py --serve)."""

    def __init__(self, argv: list[str], stderr: IO[str], cwd: Path, timeout: float = 300) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                     text=True, cwd=cwd)
        self.timeout = timeout

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(5)
            raise RuntimeError(f"{' '.join(self.argv[1:3])} exited ({self.proc.returncode}) before answering")
        return json.loads(line)

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def run_json(argv: list[str], *, cwd: Path, stderr: IO[str], timeout: float) -> dict[str, Any]:
    """Run a workload script to its end and parse the last JSON line it printed."""
    r = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[1:3]))} failed with exit code {r.returncode} (see the log)")
    out = r.stdout.strip()
    try:
        return json.loads(out)  # one document (possibly indented)
    except json.JSONDecodeError:
        return json.loads(out.splitlines()[-1])  # or log lines, then one JSON line


def du(path: Path) -> int:
    """Apparent bytes of the files under `path`."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


class Clock:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.t0
