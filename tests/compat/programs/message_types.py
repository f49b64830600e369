"""ell.types.Message and ContentBlock: constructors, coercion and properties, used as an LMP prompt."""
# expect: prompt from messages: Echo: last question
from pydantic import BaseModel

import ell
from ell.types import ContentBlock, Message, ToolResult
from ell.types.message import to_content_blocks


class Point(BaseModel):
    x: int
    y: int


@ell.complex(model="gpt-4o-mini")
def replay(messages):
    return messages


if __name__ == "__main__":
    m1 = Message(role="user", content="hello")
    m2 = Message(role="user", content=[ContentBlock(text="a"), "b"])
    m3 = Message("assistant", text="keyword block")
    m4 = ell.user(["one", "two"])
    print("m1:", m1.role, m1.text, m1.text_only, m1.content[0].text)
    print("m2 text_only:", repr(m2.text_only), "blocks:", len(m2.content))
    print("m3:", m3.role, m3.text)
    print("m4 text:", repr(m4.text))

    parsed = Message(role="assistant", content=[ContentBlock(parsed=Point(x=1, y=2))])
    print("parsed:", parsed.parsed, parsed.content[0].type)
    coerced = Message(role="assistant", content=Point(x=3, y=4))
    print("coerced parsed:", coerced.parsed.x, coerced.parsed.y)

    tr = ToolResult(tool_call_id="call_1", result=[ContentBlock(text="42")])
    results = Message(role="user", content=[tr])
    print("tool results:", len(results.tool_results), results.tool_results[0].text, results.text_only)
    print("no images:", m1.images, "no tool calls:", m1.tool_calls)
    print("blocks:", [b.type for b in to_content_blocks(["t", ContentBlock(text="u")])])
    print("block content:", ContentBlock(text="zz").content, ContentBlock(text="zz").type)
    dumped = [m.model_dump() for m in (m1, m2, m3)]
    print("dumped:", dumped[0])
    restored = [Message.model_validate(d) for d in dumped]
    print("round trip:", [r.text_only for r in restored] == [m.text_only for m in (m1, m2, m3)])
    print("json round trip:", Message.model_validate_json(m2.model_dump_json()).text_only == m2.text_only)
    try:
        ContentBlock(text="a", parsed=Point(x=1, y=1))
    except ValueError:
        print("two kinds in one block rejected")

    answer = replay([ell.system("You replay."), m1, ell.assistant("hi"), Message(role="user", content="last question")])
    print("prompt from messages:", answer.text)
