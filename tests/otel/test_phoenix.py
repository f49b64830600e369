"""Spans into a real OTLP receiver: Arize Phoenix, started on loopback for the session, read back
through its REST API. Programs run as real processes configured by the standard variables, with
git repositories in tmp_path; the spans must match the git records (trace ids, version commits)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ell_git import Reader
from otel_helpers import run_program

pytestmark = pytest.mark.phoenix

PROGRAM = """
import json, sys
import openai
import ell
from ell.testing import serve, Reply, ToolCall
{setup}

with serve() as server:
    ell.init(store=sys.argv[1] if len(sys.argv) > 1 else ".", default_client=server.client(max_retries=0),
             autocommit=False, otel=True)

    @ell.tool()
    def lookup(sku: str) -> str:
        \"\"\"Find a product.\"\"\"
        return f"product {{sku}}"

    @ell.simple(model="gpt-4o-mini", temperature=0.2)
    def summarise(text: str) -> str:
        \"\"\"You summarise.\"\"\"
        return f"summarise {{text}}"

    @ell.complex(model="gpt-4o-mini", tools=[lookup])
    def assistant(question: str):
        return [ell.system("You help. " + summarise(question)), ell.user(question)]

    server.queue("a summary", Reply(tool_calls=[ToolCall("lookup", {{"sku": "A1"}}, id="call_A1")]))
    with {span}:
        answer = assistant("where is A1?")
        answer.call_tools_and_collect_as_message()
        server.queue(Reply(error=500))
        try:
            summarise("fails")
        except openai.InternalServerError:
            pass
    ell.get_store().flush()
{teardown}
"""

USER_TRACING = """
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # OTEL_EXPORTER_OTLP_ENDPOINT
trace.set_tracer_provider(provider)
"""


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _run(tmp_path: Path, repo: Path, env: dict[str, str], user_tracing: bool) -> None:
    source = PROGRAM.format(
        setup=USER_TRACING if user_tracing else "",
        span='trace.get_tracer("shop").start_as_current_span("POST /checkout")' if user_tracing else "__import__('contextlib').nullcontext()",
        teardown="provider.shutdown()" if user_tracing else "",
    )
    (tmp_path / "run").mkdir(exist_ok=True)
    res = run_program(source.replace('sys.argv[1] if len(sys.argv) > 1 else "."', repr(str(repo))), tmp_path / "run", env)
    assert res.returncode == 0, res.stderr


def _git_records(repo: Path) -> tuple[list[dict], dict[str, str]]:
    with Reader(repo) as reader:
        records = [reader.invocation(r.id).record for r in reader.invocations(limit=100).items]
        commits = {l.name: reader.versions(l.name)[-1].commit for l in reader.lmps()}
    return records, commits


def _check(spans: list[dict], records: list[dict], commits: dict[str, str], user_span: bool) -> None:
    by_inv = {s["attributes"].get("ell.invocation.id"): s for s in spans}
    by_span = {s["context"]["span_id"]: s for s in spans}
    # Every recorded call is a span with the same ids, naming its LMP, version and version commit.
    assert len(records) == 4  # summarise inside assistant's prompt, assistant, the tool, the failed summarise
    for r in records:
        s = by_inv[r["id"]]
        a = s["attributes"]
        assert (s["context"]["trace_id"], s["context"]["span_id"]) == (r["trace_id"], r["span_id"])
        assert a["ell.lmp.name"] == r["lmp_name"] and a["ell.version.id"] == r["version_id"]
        assert a["ell.version.commit"] == commits[r["lmp_name"]]
    chats = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "chat"]
    assert len(chats) == 3 and all(s["name"] == "chat gpt-4o-mini" for s in chats)
    for s in chats:
        a = s["attributes"]
        assert a["gen_ai.provider.name"] == "openai" and a["gen_ai.request.model"] == "gpt-4o-mini"
        assert a["gen_ai.prompt.name"] == a["ell.lmp.name"]
        if "error.type" not in a:
            assert a["gen_ai.response.model"] == "gpt-4o-mini" and a["gen_ai.response.id"].startswith("chatcmpl-")
            assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
            assert a["gen_ai.response.finish_reasons"]
    (failed,) = [s for s in chats if "error.type" in s["attributes"]]
    assert failed["attributes"]["error.type"] == "InternalServerError" and failed["status_code"] == "ERROR"
    # Nesting: summarise ran inside assistant's prompt; the tool and everything else inside the user's span.
    (assistant,) = [s for s in chats if s["attributes"]["ell.lmp.name"].endswith("assistant")]
    inner = [s for s in chats if s["parent_id"] == assistant["context"]["span_id"]]
    assert [s["attributes"]["ell.lmp.name"].rsplit(".", 1)[-1] for s in inner] == ["summarise"]
    (tool,) = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "execute_tool"]
    assert tool["name"] == "execute_tool lookup" and tool["attributes"]["gen_ai.tool.call.id"] == "call_A1"
    if user_span:
        (root,) = [s for s in spans if s["name"] == "POST /checkout"]
        for s in (assistant, tool, failed):
            assert s["parent_id"] == root["context"]["span_id"]
        assert len({s["context"]["trace_id"] for s in spans}) == 1
    else:
        assert assistant["parent_id"] is None and by_span.get(tool["parent_id"]) is None


def test_http_spans_under_the_users_own_tracing(phoenix, tmp_path):
    """The program set up its own TracerProvider (OTLP/HTTP from OTEL_EXPORTER_OTLP_ENDPOINT) and
    serves a request in its own span. Run twice: the versions' commits exist from the first run, so
    every span of the second carries its commit."""
    repo = _repo(tmp_path)
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    _run(tmp_path, repo, env, user_tracing=True)
    first, _ = _git_records(repo)
    _run(tmp_path, repo, env, user_tracing=True)
    records, commits = _git_records(repo)
    records = [r for r in records if r["id"] not in {f["id"] for f in first}]
    trace_ids = {r["trace_id"] for r in records}
    assert len(trace_ids) == 1
    spans = phoenix.spans(trace_ids, count=5)
    _check(spans, records, commits, user_span=True)


def test_grpc_from_the_environment_alone(phoenix, tmp_path):
    """No tracing of the program's own: ell builds the exporter from the standard variables (gRPC
    here); a fresh repository, so the commits are filled in by the exporter once written."""
    repo = _repo(tmp_path)
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{phoenix.grpc_port}",
           "OTEL_SERVICE_NAME": "shop-worker", "OTEL_BSP_SCHEDULE_DELAY": "100"}
    _run(tmp_path, repo, env, user_tracing=False)
    records, commits = _git_records(repo)
    trace_ids = {r["trace_id"] for r in records}
    spans = phoenix.spans(trace_ids, count=4)
    _check(spans, records, commits, user_span=False)
    assert json.dumps(spans)  # what the test read back is plain JSON from Phoenix's API
