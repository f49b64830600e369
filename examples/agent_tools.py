"""A tool-using agent loop: the model asks for tools until it can answer."""

import os

from pydantic import Field

import ell

ell.init(store=os.environ.get("ELL_STORE", "."), verbose=True)


@ell.tool()
def get_weather(city: str = Field(description="The city, e.g. 'Paris'")) -> str:
    """Return the current weather in a city."""
    return f"It is 21°C and sunny in {city}."


@ell.tool()
def convert_temperature(celsius: float) -> str:
    """Convert a temperature from Celsius to Fahrenheit."""
    return f"{celsius * 9 / 5 + 32:.1f}°F"


@ell.complex(model="gpt-4o-mini", tools=[get_weather, convert_temperature], temperature=0)
def assistant(history: list[ell.Message]) -> list[ell.Message]:
    return [ell.system("You answer weather questions. Use the tools.")] + history


def run(question: str, max_steps: int = 5) -> str:
    history = [ell.user(question)]
    for _ in range(max_steps):
        reply = assistant(history)
        history.append(reply)
        if not reply.tool_calls:
            return reply.text
        history.append(reply.call_tools_and_collect_as_message(parallel=True))
    return history[-1].text_only


if __name__ == "__main__":
    print(run("What's the weather in Paris, in Fahrenheit?"))
