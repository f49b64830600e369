"""LMPs calling LMPs: each call records its parent, and outputs passed on record their origin."""

import os

import ell

ell.init(store=os.environ.get("ELL_STORE", "."), verbose=True)

STYLE = "limerick"


@ell.simple(model="gpt-4o-mini", temperature=1.0)
def brainstorm(topic: str):
    """You invent short, vivid ideas."""
    return f"Give one surprising idea about {topic}."


@ell.simple(model="gpt-4o-mini", temperature=0.3)
def poem(topic: str):
    """You are a poet."""
    idea = brainstorm(topic)  # a nested call: its invocation's parent is this one
    return f"Write a {STYLE} about this idea: {idea}"


@ell.simple(model="gpt-4o-mini")
def critique(text: str):
    """You are a kind editor."""
    return f"Critique this poem in one line: {text}"


if __name__ == "__main__":
    p = poem("the sea")
    print(p)
    print(critique(p))  # p is an lstr: this invocation records poem's as its origin
