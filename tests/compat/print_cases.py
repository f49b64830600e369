"""Prints repr()/str() of messages, content blocks, tool calls and results, images and lstr.

Runs unchanged under our `ell` and under ell-ai 0.0.17 (tests/compat/test_printing.py compares the two
outputs line by line). Only ell-ai's public API is used here. No `from __future__ import annotations`:
ell-ai's `@ell.tool()` needs real annotations to build its params model.
"""

import os

import ell
from PIL import Image
from pydantic import BaseModel, Field

from ell.types import ContentBlock, ImageContent, Message, ToolCall, ToolResult
from ell.types._lstr import _lstr


class Person(BaseModel):
    name: str = Field(description="the name")
    age: int


@ell.tool()
def add(a: int, b: int = 2) -> int:
    """Adds."""
    return a + b


@ell.tool()
def describe(who: Person) -> str:
    """Describes."""
    return f"{who['name']} is {who['age']}"


def show(label: str, value: object) -> None:
    print(f"{label} repr: {value!r}")
    print(f"{label} str: {value}")


url = "https://example.com/cat.png"
pil = Image.new("RGB", (4, 3))
call = ToolCall(tool=add, params={"a": 1, "b": 5}, tool_call_id="call_1")
nested = ToolCall(tool=describe, params={"who": {"name": "Ann", "age": 3}}, tool_call_id="call_2")
no_id = ToolCall(tool=add, params={"a": 1})
result = ToolResult(tool_call_id="call_1", result=[ContentBlock(text="6")])
two_results = ToolResult(tool_call_id="call_9", result=[ContentBlock(text="a"), ContentBlock(text="b")])
traced = _lstr("from a model", origin_trace="inv-1")

cases: list[tuple[str, object]] = [
    ("text block", ContentBlock(text="hi")),
    ("quoted text block", ContentBlock(text="it's \"so\"\nfine")),
    ("empty text block", ContentBlock(text="")),
    ("lstr text block", ContentBlock(text=traced)),
    ("url image", ImageContent(url=url)),
    ("url image with detail", ImageContent(url=url, detail="low")),
    ("url image block", ContentBlock(image=ImageContent(url=url))),
    ("url string image block", ContentBlock(image=url)),
    ("pil image", ImageContent(image=pil)),
    ("pil image block", ContentBlock(image=pil)),
    ("tool call", call),
    ("nested tool call", nested),
    ("tool call without id", no_id),
    ("tool call block", ContentBlock(tool_call=call)),
    ("tool result", result),
    ("two-block tool result", two_results),
    ("tool result block", ContentBlock(tool_result=result)),
    ("parsed model", Person(name="Ann", age=3)),
    ("parsed block", ContentBlock(parsed=Person(name="Ann", age=3))),
    ("system", ell.system("You are kind.")),
    ("user", ell.user("hi")),
    ("assistant", ell.assistant("hello")),
    ("user lstr", ell.user(traced)),
    ("several blocks", Message(role="user", content=["look:", ImageContent(url=url), "ok?"])),
    ("pil message", ell.user(["see", pil])),
    ("tool call message", Message(role="assistant", content=["calling", call, nested])),
    ("tool result message", Message(role="user", content=[result, two_results])),
    ("parsed message", ell.assistant(Person(name="Ann", age=3))),
    ("keyword message", Message(role="user", text="kw")),
    ("message list", [ell.system("sys"), ell.user("hi"), ell.assistant("yo")]),
    ("content list", ell.user(["a", "b"]).content),
    ("lstr", traced),
    ("plain lstr", _lstr("x")),
    ("lstr join", _lstr(", ").join([traced, "b"])),
]
for label, value in cases:
    show(label, value)

# What programs print from a model's answer: .text shows non-text content by its repr.
answer = Message(role="assistant", content=["calling", call, ImageContent(url=url), Person(name="Ann", age=3)])
print("answer text:", answer.text)
print("answer text_only:", answer.text_only)
print("answer tool_calls:", answer.tool_calls)
print("answer parsed:", answer.parsed)
print("answer images:", answer.images)
print("f-string:", f"{ell.user('hi')} / {call} / {result}")

# Running the tools: results as programs print them.
calls = Message(role="assistant", content=[call, ToolCall(tool=add, params={"a": 10}, tool_call_id="call_3")])
collected = calls.call_tools_and_collect_as_message()
show("collected", collected)
show("collected results", collected.tool_results)
print("collected text:", collected.text)
print("collected text_only:", collected.text_only)
show("called block", call.call_and_collect_as_content_block())
print("direct call:", call())

# What LMPs return, when a model server is given (the test passes the ell.testing one).
if os.environ.get("OPENAI_BASE_URL"):

    @ell.complex(model="gpt-4o-mini", tools=[add])
    def calculator(history: list) -> list:
        return [ell.system("Use the add tool.")] + history

    @ell.complex(model="gpt-4o-2024-08-06", response_format=Person)
    def make_person(name: str):
        return f"Make up a person called {name}."

    @ell.simple(model="gpt-4o-mini")
    def echo(text: str):
        return text

    history = [ell.user("What is 1 + 2?")]
    asked = calculator(history)
    show("model tool call", asked)
    print("model tool call text:", asked.text)
    ran = asked.call_tools_and_collect_as_message()
    show("model tool results", ran)
    answered = calculator(history + [asked, ran])
    show("model answer", answered)
    show("model history", history + [asked, ran, answered])
    show("model parsed", make_person("Ann"))
    show("simple output", echo("hello"))
