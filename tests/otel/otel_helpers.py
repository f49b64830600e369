"""Helpers for the OpenTelemetry tests: free ports, programs run as real processes, a Phoenix server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson

ROOT = str(Path(__file__).resolve().parents[2])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_program(source: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `source` as a real program (its own interpreter: OpenTelemetry is set up once per process)."""
    path = cwd / "prog.py"
    path.write_text(source)
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ELL_"))}
    full["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, full.get("PYTHONPATH")) if p)
    full.update(env)
    return subprocess.run([sys.executable, str(path)], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=timeout)


def phoenix_python() -> str:
    """The interpreter that has Phoenix: its own virtualenv (tests/run.sh makes it), else this one."""
    return os.environ.get("ELL_PHOENIX_PYTHON") or sys.executable


def has_phoenix() -> bool:
    probe = [phoenix_python(), "-c", "import phoenix.server.main"]
    return subprocess.run(probe, capture_output=True, cwd="/", timeout=120).returncode == 0


class Phoenix:
    """An Arize Phoenix server (OTLP over HTTP and gRPC, and a REST API to read spans back)."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.grpc_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PHOENIX_WORKING_DIR=str(workdir), PHOENIX_PORT=str(self.port),
                   PHOENIX_GRPC_PORT=str(self.grpc_port), PHOENIX_HOST="127.0.0.1",
                   PHOENIX_TELEMETRY_ENABLED="false")
        self.log = open(workdir / "phoenix.log", "wb")
        self.proc = subprocess.Popen([phoenix_python(), "-m", "phoenix.server.main", "serve"], cwd=workdir, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"phoenix exited with {self.proc.returncode}: see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"phoenix did not answer on {self.url} within {timeout:.0f} s")

    def spans(self, trace_ids: set[str], count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """The spans of `trace_ids`, once at least `count` of them arrived (ingestion is asynchronous)."""
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found, cursor = [], None
            while True:
                url = self.url + "/v1/projects/default/spans?limit=1000" + (f"&cursor={cursor}" if cursor else "")
                with urllib.request.urlopen(url, timeout=10) as r:
                    page = orjson.loads(r.read())
                found += [s for s in page["data"] if s["context"]["trace_id"] in trace_ids]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            if len(found) >= count:
                return found
            time.sleep(0.5)
        raise AssertionError(f"phoenix has {len(found)} of {count} spans of traces {sorted(trace_ids)}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()
