"""Hello world in ell-ai 0.0.17 style: ell.init with a store, a docstring system prompt."""
# expect: Echo: Say hello to world!
# store: ./logdir
import ell

ell.init(store="./logdir", autocommit=True, verbose=True)


@ell.simple(model="gpt-4o-mini", temperature=0.5)
def hello(name: str):
    """You are a helpful assistant."""  # system prompt
    return f"Say hello to {name}!"  # user prompt


if __name__ == "__main__":
    greeting = hello("world")
    print(greeting)
    assert isinstance(greeting, str)
