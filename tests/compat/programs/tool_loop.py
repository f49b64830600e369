"""Tools with pydantic Field descriptions and an agent loop running them in parallel."""
# expect: final answer: Tool results:
# store: ./logdir
from typing import List

from pydantic import Field

import ell
from ell.types import Message

ell.init(store="./logdir", autocommit=True)


@ell.tool()
def get_weather(city: str = Field(description="The city to get the weather for, e.g. 'Berlin'.")):
    """Get the current weather in a city."""
    return f"Sunny and 21C in {city}"


@ell.tool()
def get_time(timezone: str = Field(description="An IANA timezone such as Europe/Berlin.")):
    """Get the current time in a timezone."""
    return "12:00"


@ell.complex(model="gpt-4o", tools=[get_weather, get_time], temperature=0.1)
def assistant(message_history: List[Message]) -> List[Message]:
    return [ell.system("You are a helpful assistant. Use the tools when useful.")] + message_history


if __name__ == "__main__":
    history = [ell.user("What is the weather in Berlin?")]
    for _ in range(4):
        response = assistant(history)
        history.append(response)
        if response.tool_calls:
            print("calling:", [tc.tool.__name__ for tc in response.tool_calls])
            tool_message = response.call_tools_and_collect_as_message(parallel=True, max_workers=2)
            print("tool results:", tool_message.text_only)
            assert tool_message.tool_results, "expected tool results"
            history.append(tool_message)
        else:
            break
    print("final answer:", response.text)
    print("history length:", len(history))
