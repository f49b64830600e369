"""The bridge in-process: spans through a TracerProvider the program set up (the SDK's in-memory
exporter), records in a real git repository, calls through the openai SDK to ell.testing."""

from __future__ import annotations

import time

import openai
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import ell
import ell.otel
from ell.testing import Reply, ToolCall
from ell_git import Reader


def _init(repo, model_server, spans, **kw):
    ell.init(store=str(repo), default_client=model_server.client(max_retries=0), autocommit=False,
             otel=spans.provider, **kw)


def _by_name(finished, name):
    return [s for s in finished if str(s.attributes.get("ell.lmp.name", "")).endswith(name)]


def test_nested_calls_are_nested_spans_under_the_users_span(git_repo, model_server, spans):
    _init(git_repo, model_server, spans)

    @ell.simple(model="gpt-4o-mini", temperature=0.25, max_tokens=50)
    def inner(x: str) -> str:
        return f"say {x}"

    @ell.simple(model="gpt-4o-mini")
    def outer(x: str) -> str:
        return f"wrap {inner(x)}"

    with spans.provider.get_tracer("user").start_as_current_span("GET /answer") as request:
        outer("hi")
    ell.get_store().flush()
    finished = spans.get_finished_spans()
    (i,), (o,) = _by_name(finished, "inner"), _by_name(finished, "outer")
    assert i.parent.span_id == o.context.span_id and o.parent.span_id == request.get_span_context().span_id
    assert i.context.trace_id == o.context.trace_id == request.get_span_context().trace_id
    assert i.name == "chat gpt-4o-mini" and i.kind == trace.SpanKind.CLIENT
    a = i.attributes
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4o-mini" and a["gen_ai.request.temperature"] == 0.25
    assert a["gen_ai.request.max_tokens"] == 50 and a["server.address"] == "127.0.0.1"
    assert a["gen_ai.response.model"] == "gpt-4o-mini" and a["gen_ai.response.id"].startswith("chatcmpl-")
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",)
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert "gen_ai.input.messages" not in a  # content only when the conventions' switch is on
    # The prompt's identity, and the same ids in git.
    with Reader(git_repo) as reader:
        for span in (i, o):
            name = span.attributes["ell.lmp.name"]
            assert span.attributes["gen_ai.prompt.name"] == name
            assert span.attributes["ell.version.id"] == reader.versions(name)[-1].version_id
            record = reader.invocation(span.attributes["ell.invocation.id"]).record
            assert record["trace_id"] == format(span.context.trace_id, "032x")
            assert record["span_id"] == format(span.context.span_id, "016x")
            assert "recording" not in record  # the default policy records everything and says nothing
        # From a trace id (what a tracing UI shows) back to the recorded calls.
        trace_id = format(i.context.trace_id, "032x")
        assert sorted(reader.invocations_of_trace(trace_id)) == sorted(
            s.attributes["ell.invocation.id"] for s in (i, o))


def test_spans_carry_the_version_commit_once_it_is_written(git_repo, model_server, spans):
    _init(git_repo, model_server, spans)

    @ell.simple(model="gpt-4o-mini")
    def hello(x: str) -> str:
        return f"hello {x}"

    hello("a")
    ell.get_store().flush()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # looked up in the background after the first call
        hello("b")
        if "ell.version.commit" in spans.get_finished_spans()[-1].attributes:
            break
        time.sleep(0.1)
    span = spans.get_finished_spans()[-1]
    with Reader(git_repo) as reader:
        (version,) = reader.versions(span.attributes["ell.lmp.name"])
    assert span.attributes["ell.version.commit"] == version.commit


def test_tool_calls_are_execute_tool_spans(git_repo, model_server, spans):
    _init(git_repo, model_server, spans)

    @ell.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @ell.complex(model="gpt-4o-mini", tools=[add])
    def calc(q: str):
        return [ell.user(q)]

    model_server.queue(Reply(tool_calls=[ToolCall("add", {"a": 1, "b": 2}, id="call_1")]))
    with spans.provider.get_tracer("user").start_as_current_span("agent") as agent:
        calc("1+2?").call_tools_and_collect_as_message()
    (tool,) = [s for s in spans.get_finished_spans() if s.attributes.get("gen_ai.operation.name") == "execute_tool"]
    assert tool.name == "execute_tool add" and tool.parent.span_id == agent.get_span_context().span_id
    assert tool.attributes["gen_ai.tool.name"] == "add" and tool.attributes["gen_ai.tool.call.id"] == "call_1"
    assert tool.attributes["gen_ai.tool.type"] == "function"
    assert tool.attributes["gen_ai.tool.description"] == "Add two numbers."
    (chat,) = _by_name(spans.get_finished_spans(), "calc")
    assert tuple(chat.attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)
    ell.get_store().flush()
    with Reader(git_repo) as reader:
        assert reader.invocation(tool.attributes["ell.invocation.id"]).record["span_id"] == format(
            tool.context.span_id, "016x")


def test_a_failed_call_has_error_type_and_keeps_its_trace_in_git(git_repo, model_server, spans):
    _init(git_repo, model_server, spans)

    @ell.simple(model="gpt-4o-mini")
    def flaky(x: str) -> str:
        return x

    model_server.queue(Reply(error=500))
    with pytest.raises(openai.InternalServerError):
        flaky("boom")
    (span,) = spans.get_finished_spans()
    assert span.attributes["error.type"] == "InternalServerError" and span.status.status_code is StatusCode.ERROR
    ell.get_store().flush()
    with Reader(git_repo) as reader:
        record = reader.invocation(span.attributes["ell.invocation.id"]).record
    assert record["error"] and record["trace_id"] == format(span.context.trace_id, "032x")


def test_content_only_with_the_switch_and_redacted(git_repo, model_server, spans, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    _init(git_repo, model_server, spans)
    key = "sk-proj-" + "Ab3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7s"

    @ell.simple(model="gpt-4o-mini")
    def leak(x: str) -> str:
        """You are terse."""
        return f"my key is {x}"

    leak(key)
    (span,) = spans.get_finished_spans()
    a = span.attributes
    assert "You are terse." in a["gen_ai.system_instructions"]
    assert "my key is" in a["gen_ai.input.messages"] and '"role":"user"' in a["gen_ai.input.messages"]
    assert '"finish_reason":"stop"' in a["gen_ai.output.messages"]
    assert key not in a["gen_ai.input.messages"] + a["gen_ai.output.messages"]
    assert "<redacted:" in a["gen_ai.input.messages"]


def test_off_means_no_spans(git_repo, model_server, spans):
    _init(git_repo, model_server, spans)
    ell.init(store=str(git_repo), default_client=model_server.client(max_retries=0), autocommit=False)  # otel off

    @ell.simple(model="gpt-4o-mini")
    def quiet(x: str) -> str:
        return x

    quiet("a")
    assert spans.get_finished_spans() == ()
    ell.get_store().flush()
    with Reader(git_repo) as reader:
        (row,) = reader.invocations().items
        assert "trace_id" not in reader.invocation(row.id).record
