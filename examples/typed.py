"""Typed LMPs: the decorators keep each function's parameters and give the answer's type, so this
file passes `mypy --strict` (tests/core/test_typing.py checks it) and editors complete calls."""

from __future__ import annotations

import asyncio
import os

import ell

ell.init(store=os.environ.get("ELL_STORE", "."))


@ell.simple(model="gpt-4o-mini", temperature=0.2)
def hello(name: str, excited: bool = False) -> str:
    """You are a helpful assistant."""
    return f"Say hello to {name}{'!' if excited else '.'}"


@ell.lm(model="gpt-4o-mini")
def shout(text: str) -> str:
    return f"Repeat in capitals: {text}"


@ell.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@ell.complex(model="gpt-4o-mini", tools=[add])
def calculator(question: str) -> list[ell.Message]:
    return [ell.system("Use the tools to compute."), ell.user(question)]


@ell.simple(model="gpt-4o-mini")
async def haiku(topic: str) -> str:
    return f"A haiku about {topic}."


class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    @ell.simple(model="gpt-4o-mini")
    def greet(self, name: str) -> str:
        return f"{self.greeting}, {name}: say it nicely."


def main() -> None:
    text: str = hello("world", excited=True)  # an lstr, which is a str
    print(text, "| from", sorted(hello("again").origin_trace))
    print(shout(text))
    reply: ell.Message = calculator("What is 2 + 3?")
    total: int = add(2, 3)  # a tool called directly returns what the function returns
    print(reply.text_only or "(tool calls)", total)
    print(asyncio.run(haiku("git")))
    print(Greeter("Hi").greet("Ada"))


if __name__ == "__main__":
    main()
