"""The bridge as programs see it, each in its own process: configured from the standard environment
variables, nothing imported or exported when off, and a dead collector costing one warning.
A small OTLP/HTTP receiver written here decodes what arrives (the Phoenix tests use a real one)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from otel_helpers import free_port, run_program

PROGRAM = """
import json, statistics, sys, time
import ell
from ell.testing import serve

with serve() as server:
    ell.init(store=ell.MemoryStore(), default_client=server.client(max_retries=0){init})

    @ell.simple(model="gpt-4o-mini")
    def inner(x: str) -> str:
        return f"say {{x}}"

    @ell.simple(model="gpt-4o-mini")
    def outer(x: str) -> str:
        return f"wrap {{inner(x)}}"

    times = []
    for i in range({calls}):
        t0 = time.perf_counter()
        outer("hi")
        times.append(time.perf_counter() - t0)
        if i % 50 == 49:
            time.sleep(0.3)  # the batch processor exports meanwhile
    {finish}
    store = ell.get_store()
    print(json.dumps({{
        "otel_modules": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
        "median_ms": statistics.median(times) * 1000,
        "trace_ids": sorted({{i.trace_id for i in store.invocations if i.trace_id}}),
    }}))
"""


class Receiver:
    """OTLP/HTTP (protobuf) on loopback: keeps the decoded spans and counts requests."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        self.requests = 0
        self.spans: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                req = ExportTraceServiceRequest.FromString(body)
                for rs in req.resource_spans:
                    service = {a.key: a.value.string_value for a in rs.resource.attributes}.get("service.name")
                    for ss in rs.scope_spans:
                        for s in ss.spans:
                            outer.spans.append({"name": s.name, "service": service, "trace_id": s.trace_id.hex(),
                                                "span_id": s.span_id.hex(), "parent": s.parent_span_id.hex(),
                                                "attributes": {a.key: _value(a.value) for a in s.attributes}})
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _run(tmp_path, env, init="", calls=3, finish=""):
    res = run_program(PROGRAM.format(init=init, calls=calls, finish=finish), tmp_path, env)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1]), res.stderr


def test_off_imports_and_exports_nothing(tmp_path, receiver):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    out, _ = _run(tmp_path, env)
    assert out["otel_modules"] == [] and out["trace_ids"] == []
    assert receiver.requests == 0


def test_env_switch_and_standard_variables(tmp_path, receiver):
    env = {"ELL_OTEL": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_SERVICE_NAME": "checkout-api"}
    out, _ = _run(tmp_path, env)  # no otel= given: the environment turns it on; exported at exit
    assert len(out["trace_ids"]) == 3 and "opentelemetry.sdk.trace" in out["otel_modules"]
    # Encoding and sending happen in the exporter process: the program never loads an exporter.
    assert not [m for m in out["otel_modules"] if m.startswith("opentelemetry.exporter")]
    assert len(receiver.spans) == 6 and {s["service"] for s in receiver.spans} == {"checkout-api"}
    assert {s["trace_id"] for s in receiver.spans} == set(out["trace_ids"])
    by_id = {s["span_id"]: s for s in receiver.spans}
    for s in receiver.spans:
        assert s["name"] == "chat gpt-4o-mini" and s["attributes"]["gen_ai.operation.name"] == "chat"
        if s["attributes"]["ell.lmp.name"].endswith("inner"):
            assert by_id[s["parent"]]["attributes"]["ell.lmp.name"].endswith("outer")


def test_a_dead_collector_costs_one_warning_and_no_time(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {"ELL_OTEL": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": dead, "OTEL_BSP_SCHEDULE_DELAY": "50",
           "OTEL_EXPORTER_OTLP_TIMEOUT": "2"}
    out, stderr = _run(tmp_path, env, calls=200)
    assert len(out["trace_ids"]) == 200  # every call ran and was recorded
    assert stderr.count("cannot export spans") == 1, stderr
    assert "Traceback" not in stderr and "Failed to export" not in stderr.replace("(Failed to export", "")
    # Exporting (and its retries) happens off the call path: a call stays a local round trip.
    assert out["median_ms"] < 50, out


def test_the_otel_sampler_applies_and_records_point_only_at_kept_traces(tmp_path, receiver):
    env = {"ELL_OTEL": "1", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_TRACES_SAMPLER": "always_off"}
    out, _ = _run(tmp_path, env)
    assert "opentelemetry.sdk.trace" in out["otel_modules"]  # on, and its sampler said no
    assert out["trace_ids"] == [] and receiver.spans == []


def test_exporting_in_the_program_itself_when_asked(tmp_path, receiver):
    env = {"ELL_OTEL": "1", "ELL_OTEL_EXPORT": "thread", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
    out, _ = _run(tmp_path, env, finish="ell.otel.flush(10)")
    assert "opentelemetry.exporter.otlp.proto.http.trace_exporter" in out["otel_modules"]
    assert len(receiver.spans) == 6 and {s["trace_id"] for s in receiver.spans} == set(out["trace_ids"])


FAULTS = """
import os, signal, sys, time
import ell
from ell.testing import serve


def exporter_pids():
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{{pid}}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{{pid}}/cmdline", "rb") as f:
                cmd = f.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"ell.otel.exporter_child" in cmd:
            found.append(int(pid))
    return found


with serve() as server:
    ell.init(store=ell.MemoryStore(), default_client=server.client(max_retries=0), otel=True)

    @ell.simple(model="gpt-4o-mini")
    def hello(x: str) -> str:
        return f"say {{x}}"

    hello("before")
    assert ell.otel.flush(10)
    {fault}
    for i in range(3):
        hello("after")
    assert ell.otel.flush(10)
    {after}
"""


def test_a_killed_exporter_process_costs_one_warning_and_spans_go_on(tmp_path, receiver):
    fault = """(pid,) = exporter_pids()
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)"""
    source = FAULTS.format(fault=fault, after="print(exporter_pids())")
    res = run_program(source, tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith("[]")  # no new process: the spans are exported in the program now
    assert res.stderr.count("RuntimeWarning") == 1 and "span exporter process stopped" in res.stderr, res.stderr
    assert len(receiver.spans) == 4  # the one flushed before, the three after


def test_forked_workers_export_through_processes_of_their_own(tmp_path, receiver):
    fault = """child = os.fork()
    if child == 0:
        hello("worker")
        ok = ell.otel.flush(10) and len(exporter_pids()) == 1
        os._exit(0 if ok else 3)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0"""
    source = FAULTS.format(fault=fault, after="")
    res = run_program(source, tmp_path, {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr, res.stderr
    assert len(receiver.spans) == 5 and len({s["span_id"] for s in receiver.spans}) == 5
    assert sum(s["attributes"]["gen_ai.operation.name"] == "chat" for s in receiver.spans) == 5
