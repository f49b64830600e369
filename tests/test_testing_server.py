"""ell.testing: the fake OpenAI server, exercised through the real openai SDK over HTTP."""

from __future__ import annotations

import asyncio
import enum
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

import httpx
import jsonschema
import openai
import pytest
from pydantic import BaseModel

from ell.testing import ModelServer, Reply, ToolCall, fake_instance, serve

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[1]
USER = [{"role": "user", "content": "hello there model"}]

WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"$ref": "#/$defs/Unit"},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "when": {"type": "string", "format": "date"},
        "hours": {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 5}, "minItems": 2, "uniqueItems": True},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "place": {"$ref": "#/$defs/Place"},
    },
    "required": ["city", "unit", "days", "when", "hours", "note", "place"],
    "additionalProperties": False,
    "$defs": {
        "Unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "Place": {
            "type": "object",
            "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90}, "exact": {"type": "boolean"}},
            "required": ["lat", "exact"],
            "additionalProperties": False,
        },
    },
}
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER_PARAMS}},
    {"type": "function", "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}}},
]


@pytest.fixture
def client(model_server: ModelServer):
    with model_server.client(max_retries=0, timeout=10) as c:
        yield c


def chat(client: openai.OpenAI, **kwargs):
    kwargs.setdefault("model", "gpt-4o-mini")
    kwargs.setdefault("messages", USER)
    return client.chat.completions.create(**kwargs)


# -- plain replies --------------------------------------------------------------


def test_default_reply_is_echo_with_openai_shape(client, model_server):
    completion = chat(client, messages=[{"role": "system", "content": "be nice"}, *USER])

    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini"
    assert completion.created > 0
    (choice,) = completion.choices
    assert (choice.index, choice.finish_reason) == (0, "stop")
    assert choice.message.role == "assistant"
    assert choice.message.content == "Echo: hello there model"
    assert choice.message.tool_calls is None
    # words + 1 per message: (2+1) + (3+1) prompt; "Echo: hello there model" = 4 words.
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (7, 4)
    assert completion.usage.total_tokens == 11
    assert model_server.requests[-1]["messages"][0] == {"role": "system", "content": "be nice"}


def test_echo_is_truncated_and_deterministic(client):
    long = "word " * 100
    first = chat(client, messages=[{"role": "user", "content": long}]).choices[0].message.content
    again = chat(client, messages=[{"role": "user", "content": long}]).choices[0].message.content
    assert first == again
    assert first.startswith("Echo: word word") and len(first) <= 200 and first.endswith("...")


def test_async_client_plain_reply(model_server):
    async def main() -> tuple[str, str]:
        async with model_server.async_client(max_retries=0, timeout=10) as aclient:
            model_server.queue("async hello")
            one = await aclient.chat.completions.create(model="gpt-4o", messages=USER)
            two = await aclient.chat.completions.create(model="gpt-4o", messages=USER)
            return one.choices[0].message.content, two.choices[0].message.content

    assert asyncio.run(main()) == ("async hello", "Echo: hello there model")


def test_n_choices_are_distinct_and_indexed(client):
    completion = chat(client, n=3)
    assert [c.index for c in completion.choices] == [0, 1, 2]
    texts = [c.message.content for c in completion.choices]
    assert texts == ["Echo: hello there model (0)", "Echo: hello there model (1)", "Echo: hello there model (2)"]


def test_max_tokens_cuts_text_with_length_finish(client):
    choice = chat(client, max_tokens=2).choices[0]
    assert (choice.message.content, choice.finish_reason) == ("Echo: hello", "length")


# -- streaming ------------------------------------------------------------------


def test_stream_deltas_concatenate_and_usage_chunk_comes_last(client, model_server):
    model_server.queue("the quick brown fox jumps")
    chunks = list(chat(client, stream=True, stream_options={"include_usage": True}))

    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = [c.choices[0].delta.content for c in chunks[:-1] if c.choices[0].delta.content]
    assert len(content) >= 3  # really split into several pieces
    assert "".join(content) == "the quick brown fox jumps"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 5
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + 5


def test_stream_without_usage_option_and_n_choices(client):
    chunks = list(chat(client, stream=True, n=2))
    assert all(c.usage is None and len(c.choices) == 1 for c in chunks)
    texts = {0: "", 1: ""}
    for c in chunks:
        texts[c.choices[0].index] += c.choices[0].delta.content or ""
    assert texts == {0: "Echo: hello there model (0)", 1: "Echo: hello there model (1)"}


def test_async_stream(model_server):
    async def main() -> tuple[str, int]:
        async with model_server.async_client(max_retries=0, timeout=10) as aclient:
            stream = await aclient.chat.completions.create(
                model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}
            )
            text, usage = "", 0
            async for chunk in stream:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                if chunk.usage:
                    usage = chunk.usage.total_tokens
            return text, usage

    assert asyncio.run(main()) == ("Echo: hello there model", 4 + 4)


# -- tools ----------------------------------------------------------------------


def test_default_tool_call_arguments_are_valid_for_the_schema(client, model_server):
    choice = chat(client, tools=TOOLS).choices[0]

    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    args = json.loads(call.function.arguments)
    jsonschema.validate(args, WEATHER_PARAMS)
    assert args["unit"] in ("celsius", "fahrenheit")
    assert model_server.last_request["tools"][0]["function"]["name"] == "get_weather"


def test_tool_choice_picks_named_tool_or_none(client):
    named = chat(client, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "noop"}})
    assert named.choices[0].message.tool_calls[0].function.name == "noop"
    assert json.loads(named.choices[0].message.tool_calls[0].function.arguments) == {}

    none = chat(client, tools=TOOLS, tool_choice="none").choices[0]
    assert none.message.tool_calls is None and none.message.content == "Echo: hello there model"

    with pytest.raises(openai.BadRequestError, match="tool_choice"):
        chat(client, tools=TOOLS, tool_choice={"type": "function", "function": {"name": "missing"}})


def test_streamed_tool_calls_assemble_into_valid_arguments(client, model_server):
    model_server.queue(Reply(tool_calls=[ToolCall(), ToolCall("noop", {"x": 1}, id="call_fixed")]))
    chunks = list(chat(client, tools=TOOLS, stream=True))

    calls: dict[int, dict] = {}
    fragments = 0
    for chunk in chunks:
        for tc in chunk.choices[0].delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
            if tc.id:
                slot["id"], slot["name"] = tc.id, tc.function.name
            if tc.function and tc.function.arguments:
                slot["arguments"] += tc.function.arguments
                fragments += 1
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    assert sorted(calls) == [0, 1] and fragments > 4
    assert calls[0]["name"] == "get_weather" and calls[0]["id"].startswith("call_")
    jsonschema.validate(json.loads(calls[0]["arguments"]), WEATHER_PARAMS)
    assert calls[1] == {"id": "call_fixed", "name": "noop", "arguments": '{"x":1}'}


def test_tool_results_round_trip(client):
    first = chat(client, tools=TOOLS).choices[0].message
    call = first.tool_calls[0]
    messages = [
        *USER,
        first.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
    ]
    second = chat(client, tools=TOOLS, messages=messages).choices[0]
    assert second.finish_reason == "stop"
    assert second.message.tool_calls is None
    assert second.message.content == "Tool results: sunny, 21C"


def test_pydantic_function_tool_parses(client):
    class Lookup(BaseModel):
        query: str
        limit: int

    completion = client.chat.completions.parse(
        model="gpt-4o", messages=USER, tools=[openai.pydantic_function_tool(Lookup)]
    )
    parsed = completion.choices[0].message.tool_calls[0].function.parsed_arguments
    assert isinstance(parsed, Lookup) and parsed.query == "example query"


def test_invalid_json_tool_arguments_are_sent_verbatim(client, model_server):
    model_server.queue(Reply(tool_calls=[ToolCall(arguments='{"city": "Par')]))
    call = chat(client, tools=TOOLS).choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"  # name=None -> the default tool
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)


# -- structured outputs -------------------------------------------------------


class Mood(str, enum.Enum):
    happy = "happy"
    sad = "sad"


class Address(BaseModel):
    city: str
    zip_code: Optional[str] = None


class Person(BaseModel):
    name: str
    age: int
    mood: Mood
    tags: list[str]
    address: Address
    nickname: Optional[str] = None
    friends: list[Person] = []


def test_structured_output_parses_nested_pydantic_model(client, model_server):
    completion = client.chat.completions.parse(model="gpt-4o", messages=USER, response_format=Person, n=2)
    first, second = (c.message.parsed for c in completion.choices)
    assert isinstance(first, Person) and isinstance(first.address, Address)
    assert first.mood is Mood.happy and second.mood is Mood.sad  # choices differ
    assert first.tags and first.nickname is not None and first.friends
    schema = model_server.last_request["response_format"]["json_schema"]["schema"]
    jsonschema.validate(json.loads(completion.choices[0].message.content), schema)

    beta = client.beta.chat.completions.parse(model="gpt-4o", messages=USER, response_format=Address)
    assert beta.choices[0].message.parsed == Address(city="example city", zip_code="example zip_code")


def test_scripted_dict_or_model_is_json_content(client, model_server):
    model_server.queue({"city": "Paris", "zip_code": None}, Address(city="Rome", zip_code="00100"))
    for expected in (Address(city="Paris"), Address(city="Rome", zip_code="00100")):
        parsed = client.chat.completions.parse(model="gpt-4o", messages=USER, response_format=Address)
        assert parsed.choices[0].message.parsed == expected


def test_json_object_response_format(client):
    content = chat(client, response_format={"type": "json_object"}).choices[0].message.content
    assert json.loads(content) == {"echo": "hello there model"}


@pytest.mark.parametrize(
    "schema",
    [
        {"definitions": {"N": {"type": "integer", "multipleOf": 5, "minimum": 3}}, "type": "array", "items": {"$ref": "#/definitions/N"}, "minItems": 3},
        {"allOf": [{"type": "object", "properties": {"a": {"const": 7}}, "required": ["a"]}, {"properties": {"b": {"type": "string", "format": "date-time"}}, "required": ["b"]}]},
        {"oneOf": [{"type": "null"}, {"type": "string", "maxLength": 3}]},
        {"type": ["number", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        {"type": "array", "prefixItems": [{"type": "boolean"}, {"enum": ["x", 2]}], "items": False},
        {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 2},
    ],
)
def test_fake_instance_satisfies_schema(schema):
    for salt in range(3):
        jsonschema.validate(fake_instance(schema, salt=salt), schema)


# -- images ---------------------------------------------------------------------


def test_images_are_counted(client):
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    content = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": png}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}},
    ]
    one = chat(client, messages=[{"role": "user", "content": content[:2]}]).choices[0].message.content
    two = chat(client, messages=[{"role": "user", "content": content}]).choices[0].message.content
    assert one == "I see 1 image. Echo: what is this"
    assert two == "I see 2 images. Echo: what is this"


# -- scripting ------------------------------------------------------------------


def test_queue_is_fifo_then_script_then_default(client, model_server):
    model_server.queue("first", Reply(text="second"), ["a", Reply(text="b")])
    model_server.script(lambda request: None if "default" in request["messages"][-1]["content"] else "scripted")
    assert model_server.pending == 3

    assert chat(client).choices[0].message.content == "first"
    assert chat(client).choices[0].message.content == "second"
    assert [c.message.content for c in chat(client, n=2).choices] == ["a", "b"]
    assert chat(client).choices[0].message.content == "scripted"
    assert chat(client, messages=[{"role": "user", "content": "default"}]).choices[0].message.content == "Echo: default"
    assert model_server.pending == 0 and len(model_server.requests) == 5

    model_server.reset()
    assert model_server.requests == [] and chat(client).choices[0].message.content == "Echo: hello there model"


def test_callable_in_queue_sees_the_request_and_usage_override(client, model_server):
    model_server.queue(lambda req: Reply(text=req["model"], usage={"prompt_tokens": 100}, finish_reason="length"))
    completion = chat(client, model="my-model")
    assert completion.choices[0].message.content == "my-model"
    assert completion.choices[0].finish_reason == "length"
    assert (completion.usage.prompt_tokens, completion.usage.total_tokens) == (100, 101)


def test_concurrent_requests_consume_each_queued_reply_once(model_server):
    model_server.queue(*[f"reply {i}" for i in range(24)])
    seen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with model_server.client(max_retries=0, timeout=10) as c:
            for _ in range(4):
                text = chat(c).choices[0].message.content
                with lock:
                    seen.append(text)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"reply {i}" for i in range(24))


def test_script_exception_becomes_500_and_is_recorded(client, model_server):
    model_server.script(lambda request: 1 / 0)
    with pytest.raises(openai.InternalServerError, match="ZeroDivisionError"):
        chat(client)
    assert isinstance(model_server.errors[0], ZeroDivisionError)
    model_server.reset()  # acknowledged: keeps the fixture from failing the test


# -- errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exc", "code"),
    [
        (400, openai.BadRequestError, None),
        (401, openai.AuthenticationError, "invalid_api_key"),
        (429, openai.RateLimitError, "rate_limit_exceeded"),
        (500, openai.InternalServerError, None),
    ],
)
def test_scripted_http_errors_raise_matching_sdk_exceptions(client, model_server, status, exc, code):
    model_server.queue(Reply(error=status, error_message=f"boom {status}"))
    with pytest.raises(exc) as info:
        chat(client, stream=status == 429)  # errors come before any stream starts
    assert info.value.status_code == status
    assert info.value.body["message"] == f"boom {status}"
    assert info.value.code == code
    assert chat(client).choices[0].message.content.startswith("Echo:")  # next request is fine


def test_sdk_retries_are_fast_on_429(model_server):
    model_server.queue(Reply(error=429), Reply(error=500), "finally")
    with model_server.client(max_retries=2, timeout=10) as c:
        start = time.monotonic()
        assert chat(c).choices[0].message.content == "finally"
    assert time.monotonic() - start < 2  # retry-after-ms keeps SDK backoff short


def test_api_key_is_enforced_when_configured():
    with serve(api_key="sk-right") as server:
        assert server.env() == {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-right"}
        with server.client(max_retries=0) as good:
            assert chat(good).choices[0].message.content.startswith("Echo:")
        with server.client(max_retries=0, api_key="sk-wrong") as bad:
            with pytest.raises(openai.AuthenticationError, match="sk-wrong"):
                chat(bad)


def test_invalid_requests_get_400(client):
    with pytest.raises(openai.BadRequestError, match="messages"):
        chat(client, messages=[])
    with pytest.raises(openai.BadRequestError, match="'n'"):
        chat(client, n=0)


def test_refusal_surfaces_in_parse_and_stream(client, model_server):
    model_server.queue(Reply(refusal="I can't help with that."), Reply(refusal="No way, sorry."))
    message = client.chat.completions.parse(model="gpt-4o", messages=USER, response_format=Person).choices[0].message
    assert message.refusal == "I can't help with that."
    assert message.content is None and message.parsed is None

    chunks = list(chat(client, stream=True))
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks) == "No way, sorry."
    assert all(not c.choices[0].delta.content for c in chunks)


def test_broken_stream_raises_in_the_sdk(client, model_server):
    model_server.queue(Reply(text="one two three four five", break_stream_after=3))
    received = []
    # The SDK's own error since openai 1.9x; older releases let the transport's error through.
    with pytest.raises((openai.APIConnectionError, httpx.RemoteProtocolError)):
        for chunk in chat(client, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "one", " two"]  # role chunk + two content pieces, then the cut
    assert chat(client).choices[0].message.content.startswith("Echo:")  # server still healthy


def test_delay_and_client_timeout(model_server):
    model_server.queue(Reply(delay=2.0), Reply(text="slow but fine", delay=0.3))
    with model_server.client(max_retries=0, timeout=0.5) as c:
        with pytest.raises(openai.APITimeoutError):
            chat(c)
        start = time.monotonic()
        assert chat(c).choices[0].message.content == "slow but fine"
        assert time.monotonic() - start >= 0.3


# -- HTTP surface -------------------------------------------------------------------


def _http(url: str, data: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_unknown_path_is_404_in_openai_error_format(model_server):
    status, body = _http(model_server.url + "/v1/nope")
    assert status == 404
    assert set(body["error"]) >= {"message", "type", "code"}
    assert "/v1/nope" in body["error"]["message"] and body["error"]["type"] == "invalid_request_error"


def test_models_and_paths_without_v1_prefix(client, model_server):
    assert [m.id for m in client.models.list().data][:2] == ["gpt-4o", "gpt-4o-mini"]
    assert client.models.retrieve("gpt-4o").owned_by == "ell-testing"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
    payload = json.dumps({"model": "m", "messages": USER}).encode()
    status, body = _http(model_server.url + "/chat/completions", payload)
    assert status == 200 and body["choices"][0]["message"]["content"] == "Echo: hello there model"


def test_chunked_request_body_and_keep_alive(model_server):
    conn = http.client.HTTPConnection("127.0.0.1", model_server.port, timeout=5)
    try:
        payload = json.dumps({"model": "m", "messages": USER}).encode()
        conn.request("POST", "/v1/chat/completions", body=iter([payload[:10], payload[10:]]), encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        first = json.loads(conn.getresponse().read())
        conn.request("GET", "/v1/models")  # same connection: framing stayed in sync
        second = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert first["choices"][0]["message"]["content"] == "Echo: hello there model"
    assert second["object"] == "list"


def test_stop_is_quick_with_open_and_pending_connections():
    server = serve()
    port = server.port
    chat(server.client(max_retries=0))  # leaves an idle keep-alive connection open
    server.queue(Reply(delay=30))
    c = server.client(max_retries=0, timeout=30)
    errors: list[BaseException] = []
    t = threading.Thread(target=lambda: errors.append(pytest.raises(openai.APIConnectionError, chat, c)))
    t.start()
    while not server.requests:
        time.sleep(0.01)
    start = time.monotonic()
    server.stop()
    t.join(5)
    assert time.monotonic() - start < 1.5
    assert not t.is_alive() and errors
    assert not [th for th in threading.enumerate() if th.name.endswith(f"-{port}")]
    server.stop()  # idempotent


def test_model_env_fixture_points_sdk_at_the_server(model_env, model_server, model_client):
    assert os.environ["OPENAI_BASE_URL"] == model_server.base_url == model_env["OPENAI_BASE_URL"]
    with openai.OpenAI(max_retries=0) as from_env:  # reads the environment
        assert chat(from_env).choices[0].message.content == "Echo: hello there model"
    assert chat(model_client).choices[0].message.content == "Echo: hello there model"


def test_cli_serves_in_a_subprocess():
    proc = subprocess.Popen(
        [sys.executable, "-m", "ell.testing", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with openai.OpenAI(base_url=base_url, api_key="sk-test", max_retries=0, timeout=5) as c:
            assert chat(c).choices[0].message.content == "Echo: hello there model"
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
