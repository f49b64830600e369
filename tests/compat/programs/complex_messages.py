"""@ell.complex returning a list of ell.system/ell.user messages; the result is an ell.Message."""
# expect: role=assistant text=Echo: Tell me about Paris
import ell
from ell.types import Message


@ell.complex(model="gpt-4o", temperature=0.1)
def travel_agent(city: str) -> list:
    return [
        ell.system("You are a travel agent. Answer in one sentence."),
        ell.user(f"Tell me about {city}"),
    ]


if __name__ == "__main__":
    response = travel_agent("Paris")
    assert isinstance(response, Message)
    assert isinstance(response, ell.Message)
    print(f"role={response.role} text={response.text}")
    print("text_only:", response.text_only)
    print("first block:", response.content[0].text)
    print("tool calls:", response.tool_calls)
    assert response.content[0].text == response.text_only
