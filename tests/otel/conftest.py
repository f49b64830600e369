"""Fixtures for the OpenTelemetry bridge: an SDK provider with an in-memory exporter, a git store in
tmp_path, programs run as real processes, and an Arize Phoenix server as the OTLP receiver."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

import ell
import ell.otel
import ell.recording

sys.path.insert(0, os.path.dirname(__file__))  # otel_helpers, for the test modules too
from otel_helpers import Phoenix, has_phoenix, phoenix_python  # noqa: E402

pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry SDK is not installed: pip install -e '.[otel]'")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402


@pytest.fixture(autouse=True)
def otel_off_after() -> Iterator[None]:
    yield
    ell.otel.configure(False)
    ell.recording.configure("all")


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """The SDK's in-memory exporter behind a provider the program set up itself."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    exporter.provider = provider  # type: ignore[attr-defined]
    return exporter


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    """One Phoenix for the session (it takes 10-60 s to start); skipped, saying why, without it."""
    if not has_phoenix():
        pytest.skip(f"arize-phoenix is not importable by {phoenix_python()} (tests/run.sh installs it in "
                    "tests/.venv-phoenix; or set ELL_PHOENIX_PYTHON)")
    server = Phoenix(tmp_path_factory.mktemp("phoenix"))
    try:
        server.wait_ready(timeout=180)
        yield server
    finally:
        server.stop()
