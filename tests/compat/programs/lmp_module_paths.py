"""ell-ai's module layout: decorators and types imported from their defining modules."""
# expect: module paths ok: Echo: from the module paths
from ell.configurator import config, register_provider
from ell.lmp.complex import complex
from ell.lmp.simple import simple
from ell.lmp.tool import tool
from ell.types import ContentBlock, Message, ToolCall, ToolResult, assistant, system, user
from ell.types.message import ImageContent

import ell


@tool()
def noop(x: int) -> int:
    """Return x."""
    return x


@simple(model="gpt-4o-mini")
def via_simple(text: str):
    return [system("You repeat."), user(text)]


@complex(model="gpt-4o-mini", tools=[noop])
def via_complex(text: str):
    return [system("Use noop."), user(text)]


if __name__ == "__main__":
    print("module paths ok:", via_simple("from the module paths"))
    reply = via_complex("call noop")
    print("complex gave a tool call:", isinstance(reply.tool_calls[0], ToolCall))
    print("same objects:", ell.simple is simple, ell.complex is complex, ell.tool is tool)
    print("provider registry non-empty:", len(config.providers) > 0, callable(register_provider))
    print("types:", ContentBlock.__name__, Message.__name__, ToolResult.__name__, ImageContent.__name__, assistant("x").role)
