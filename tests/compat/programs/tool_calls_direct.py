"""Inspecting response.tool_calls, calling a ToolCall directly and building ToolCall/ToolResult by hand."""
# expect: direct call result: 5
from pydantic import Field

import ell
from ell.types import ContentBlock, Message, ToolCall, ToolResult


@ell.tool()
def add(a: int = Field(description="First addend"), b: int = Field(description="Second addend")) -> int:
    """Add two integers."""
    return a + b


@ell.complex(model="gpt-4o-mini", tools=[add])
def calculator(question: str):
    """You are a calculator. Always use the add tool."""
    return question


if __name__ == "__main__":
    response = calculator("What is 2 + 3?")
    assert response.tool_calls, "the model should call a tool"
    tc = response.tool_calls[0]
    print("tool:", tc.tool.__name__, "id present:", bool(tc.tool_call_id))
    print("params type:", type(tc.params).__name__, sorted(tc.params.model_dump()))
    value = tc()  # ToolCall.__call__ runs the tool with the model's arguments
    print("tool returned an int:", isinstance(value, int))

    manual = ToolCall(tool=add, params={"a": 2, "b": 3}, tool_call_id="call_manual")
    print("direct call result:", manual())
    block = manual.call_and_collect_as_content_block()
    assert isinstance(block, ContentBlock) and block.tool_result is not None
    print("collected:", block.tool_result.tool_call_id, block.tool_result.text_only)

    result = ToolResult(tool_call_id="call_manual", result=[ContentBlock(text="5")])
    msg = Message(role="user", content=[result])
    print("tool_results:", len(msg.tool_results), msg.text_only)
    print("schema keys:", sorted(add.get_params_model().model_json_schema()["properties"]))
