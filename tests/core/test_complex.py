"""@ell.complex, @ell.tool, structured outputs, images and nesting, through the real SDK."""

from __future__ import annotations

import base64
import io

import pytest
from pydantic import BaseModel, Field

import ell
from ell.testing import Reply, ToolCall


@ell.tool()
def get_weather(city: str = Field(description="City name"), unit: str = "celsius") -> str:
    """Current weather for a city."""
    return f"21 {unit} in {city}"


def test_tool_schema_from_hints_and_fields():
    schema = get_weather.__ell_params_model__.model_json_schema()
    assert schema["properties"]["city"]["description"] == "City name"
    assert schema["properties"]["unit"]["default"] == "celsius"
    assert schema["required"] == ["city"]


def test_tool_without_annotation_is_a_clear_error():
    with pytest.raises(ValueError, match="'city' has no type annotation"):

        @ell.tool()
        def bad(city):
            return city


def test_tool_round_trip(model_server, memory_store):
    @ell.complex(model="m", tools=[get_weather])
    def agent(history: list[ell.Message]):
        return [ell.system("Use tools.")] + history

    first = agent([ell.user("Weather in Paris?")])
    assert first.role == "assistant"
    (call,) = first.tool_calls
    assert call.name == "get_weather" and "city" in call.arguments()
    sent_tools = model_server.requests[-1]["tools"]
    assert sent_tools[0]["function"]["name"] == "get_weather"
    assert sent_tools[0]["function"]["description"] == "Current weather for a city."

    results = first.call_tools_and_collect_as_message()
    assert results.role == "user" and results.tool_results[0].tool_call_id == call.tool_call_id
    args = call.arguments()
    assert results.text_only == f"21 {args['unit']} in {args['city']}"

    final = agent([ell.user("Weather in Paris?"), first, results])
    assert results.text_only in final.text
    sent = model_server.requests[-1]["messages"]
    assert sent[2]["role"] == "assistant" and sent[2]["tool_calls"][0]["id"] == call.tool_call_id
    assert sent[3] == {"role": "tool", "tool_call_id": call.tool_call_id, "content": results.text_only}

    tool_inv = [i for i in memory_store.invocations if i.lmp_name.endswith("get_weather")]
    assert len(tool_inv) == 1
    assert tool_inv[0].origin_ids == (memory_store.invocations[0].id,)


def test_parallel_tool_calls_keep_order(model_server, memory_store):
    model_server.queue(Reply(tool_calls=[ToolCall("get_weather", {"city": "A"}), ToolCall("get_weather", {"city": "B"}),
                                         ToolCall("get_weather", {"city": "C"})]))

    @ell.complex(model="m", tools=[get_weather])
    def agent():
        return "go"

    msg = agent()
    out = msg.call_tools_and_collect_as_message(parallel=True)
    assert [r.text_only for r in out.tool_results] == ["21 celsius in A", "21 celsius in B", "21 celsius in C"]
    assert [r.tool_call_id for r in out.tool_results] == [c.tool_call_id for c in msg.tool_calls]


def test_parallel_tool_calls_record_the_same_parent_as_sequential(model_server, memory_store):
    from ell.lmp.function import function

    @ell.complex(model="m", tools=[get_weather])
    def agent():
        return "go"

    @function()
    def turn(parallel: bool) -> str:  # the tools' parent: the call that runs them
        return agent().call_tools_and_collect_as_message(parallel=parallel).text_only

    calls = [ToolCall("get_weather", {"city": c}) for c in "ABC"]
    trace = {}
    for parallel in (False, True):
        model_server.queue(Reply(tool_calls=calls))
        start = len(memory_store.invocations)
        turn(parallel)
        invs = memory_store.invocations[start:]
        (turn_inv,) = [i for i in invs if i.lmp_name.endswith("turn")]
        parents = {i.lmp_name.rsplit(".", 1)[-1]: [] for i in invs}
        for i in invs:
            parents[i.lmp_name.rsplit(".", 1)[-1]].append("turn" if i.parent_id == turn_inv.id else i.parent_id)
        trace[parallel] = parents
    assert trace[False] == {"turn": [None], "agent": ["turn"], "get_weather": ["turn"] * 3}
    assert trace[True] == trace[False]


def test_invalid_tool_json_from_model(model_server, memory_store):
    model_server.queue(Reply(tool_calls=[ToolCall("get_weather", "{not json")]))

    @ell.complex(model="m", tools=[get_weather])
    def agent():
        return "go"

    msg = agent()
    (call,) = msg.tool_calls
    assert "invalid JSON" in call.error
    with pytest.raises(ValueError, match="invalid JSON"):
        call()
    assert "Error:" in msg.call_tools_and_collect_as_message().text_only


class Address(BaseModel):
    city: str
    zip: str


class Person(BaseModel):
    name: str
    age: int
    tags: list[str]
    address: Address


def test_structured_output(model_server, memory_store):
    @ell.complex(model="m", response_format=Person)
    def extract(text: str):
        """Extract a person."""
        return text

    msg = extract("Ada, 36")
    assert isinstance(msg.parsed, Person) and isinstance(msg.parsed.address, Address)
    assert model_server.requests[-1]["response_format"]["type"] == "json_schema"
    assert memory_store.invocations[-1].outputs[0].parsed == msg.parsed


def test_refusal_is_a_clear_error(model_server, memory_store):
    model_server.queue(Reply(refusal="I can't help with that."))

    @ell.complex(model="m", response_format=Person)
    def extract(text: str):
        return text

    with pytest.raises(ell.ModelRefusalError, match="can't help"):
        extract("x")


def test_images_are_sent_as_content_blocks(model_server, memory_store):
    from PIL import Image

    img = Image.new("RGB", (4, 4), (255, 0, 0))

    @ell.simple(model="m")
    def describe(image):
        return [ell.user(["What is this?", image, ell.ImageContent(url="https://example.com/cat.png")])]

    out = describe(img)
    assert "2 image" in out
    parts = model_server.requests[-1]["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "What is this?"}
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (4, 4)
    assert parts[2]["image_url"]["url"] == "https://example.com/cat.png"


def test_nested_lmps_record_parent_and_lstr_origins(model_server, memory_store):
    @ell.simple(model="m")
    def inner(x: str):
        return x

    @ell.simple(model="m")
    def outer(x: str):
        return "outer " + inner(x)

    first = inner("a")
    outer(first)
    invs = memory_store.invocations
    first_inv, nested_inner, outer_inv = invs
    assert nested_inner.parent_id == outer_inv.id
    assert outer_inv.origin_ids == (first_inv.id,)
    assert first_inv.parent_id is None


def test_post_callback_and_complex_n(model_server, memory_store):
    model_server.queue(["a", "b"])

    @ell.complex(model="m", n=2, post_callback=lambda r: [m.text for m in r])
    def f():
        return "x"

    assert f() == ["a", "b"]


def test_message_helpers():
    m = ell.Message("user", ["a", ell.ContentBlock(text="b")])
    assert m.text_only == "a\nb" and m.images == [] and m.tool_calls == []
    with pytest.raises(ValueError, match="one kind"):
        ell.ContentBlock(text="a", image=ell.ImageContent(url="https://x/y.png"))
    with pytest.raises(ValueError, match="cannot put"):
        ell.Message("user", [object()])
    assert ell.system("s").role == "system" and ell.assistant("a").role == "assistant"
    from ell.types import ToolCall, ToolResult

    assert ToolResult(tool_call_id="1", result=[ell.ContentBlock(text="r")]).text_only == "r"
    assert ToolCall is ell.types.ToolCall
