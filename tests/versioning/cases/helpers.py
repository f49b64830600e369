"""Determinism case: a user helper module (sets, dicts, an enum, a shared helper)."""
import enum

TAGS = frozenset({"alpha", "beta", "gamma", "delta", "epsilon"})
WEIGHTS = {"b": 2, "a": 1, "c": 3}


class Tone(enum.Enum):
    CALM = "calm"
    LOUD = "loud"


def shared(text):
    """Used by several LMPs."""
    return "<" + text + ">" + ",".join(sorted(TAGS))


def describe(tone=Tone.CALM):
    return f"{tone.value}: {WEIGHTS}"
