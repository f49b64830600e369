"""Hello world: one LMP, versioned and recorded in the enclosing git repository."""

import os

import ell

ell.init(store=os.environ.get("ELL_STORE", "."), verbose=True)


@ell.simple(model="gpt-4o-mini", temperature=0.2)
def hello(name: str):
    """You are a helpful assistant."""  # system message
    return f"Say hello to {name}."  # user message


if __name__ == "__main__":
    greeting = hello("world")
    print(greeting)
    print("version:", hello.__ell_hash__)
