"""Determinism case: LMPs whose closures hold everything whose order could leak into a hash."""
import ell
import helpers
from helpers import shared, Tone
from typing import Optional
from pydantic import BaseModel, Field

STOP = {"the", "a", "an", "of", "to"}          # a mutable set: snapshotted, not hashed
KEYS = frozenset({"k1", "k2", "k3", "k4"})
GREEK = "αβγ — “quoted” ✓"
clean = lambda s: s.strip().lower()


class Answer(BaseModel):
    """Structured reply."""
    text: str = Field(description="the answer")
    score: float = 0.5


MaybeAnswer = Optional[Answer]       # a typing alias naming a user class


def make(style):
    def styled(text):
        return f"[{style}] {text}"
    return styled


fancy = make("fancy")


@ell.tool()
def lookup(term: str) -> str:
    """Look a term up."""
    return shared(term) + helpers.describe(Tone.LOUD)


@ell.simple(model="gpt-4o-mini", temperature=0.2)
def leaf(text: str):
    """Leaf."""
    return shared(clean(text)) + GREEK


@ell.simple(model="gpt-4o-mini")
def left(text: str):
    return leaf(text) + fancy(text) + str(sorted(KEYS))


@ell.simple(model="gpt-4o-mini")
def right(text: str):
    return leaf(text) + str(len(STOP))


@ell.complex(model="gpt-4o", tools=[lookup], response_format=Answer)
def top(text: str, previous: MaybeAnswer = None):
    """Top of the diamond."""
    return left(text) + right(text)


@ell.simple(model="m")
def ping(n: int):
    return pong(n - 1) if n else shared("done")


@ell.simple(model="m")
def pong(n: int):
    return ping(n - 1) if n else "done"


if __name__ == "__main__":  # run as a script: names map __main__ to "prompts"
    import json
    from ell.versioning import compute_version
    out = {}
    for name in ("top", "left", "right", "leaf", "lookup", "ping", "pong"):
        info = compute_version(globals()[name])
        out[name] = [info.name, info.version_id, list(info.uses)]
    print(json.dumps(out, sort_keys=True))
