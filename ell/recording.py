"""Recording policies: which calls the store keeps (`ell.init(record=...)`, env ``ELL_RECORD``).

Versions are always recorded; the policy decides which *calls* reach the store (git). OpenTelemetry,
when on, gets every call whatever the policy (its own sampler applies). Forms:

- ``"all"`` (default): every call, as in development;
- a fraction such as ``0.05`` (or ``"0.05"``): that share of call *trees*, decided at the outermost
  call so a kept call keeps its children and a dropped one drops them;
- ``"errors"``: only calls that raised;
- ``"errors+0.05"``: every error, and 5% of the other call trees;
- ``"none"``: no calls (versions only).

A call kept under any policy but "all" records it (``"recording": "sample 0.05"``), so readers say
that counts are sampled.
"""

from __future__ import annotations

import os
import random
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Optional, Union

#: What `ell.init(record=...)` accepts.
RecordSpec = Union[str, float, int, None]


@dataclass(frozen=True)
class Policy:
    fraction: float  # share of call trees kept (1.0: all)
    errors: bool  # errors always kept
    label: Optional[str]  # what a kept record says (None under "all")


ALL = Policy(1.0, True, None)
_policy: Policy = ALL
#: The sampling decision of the outermost call in this context (children inherit it).
_tree_kept: ContextVar[bool] = ContextVar("ell_recording_tree_kept", default=True)
_random = random.Random()


def parse(spec: RecordSpec) -> Policy:
    """A Policy from its user-facing form; ValueError with the accepted forms otherwise."""
    if spec is None:
        spec = os.environ.get("ELL_RECORD", "all") or "all"
    if isinstance(spec, bool):
        return ALL if spec else Policy(0.0, False, "none")
    errors = False
    text = spec.strip().lower() if isinstance(spec, str) else spec
    if isinstance(text, str):
        if text == "all":
            return ALL
        if text == "none":
            return Policy(0.0, False, "none")
        if text == "errors":
            return Policy(0.0, True, "errors")
        if text.startswith("errors+"):
            errors, text = True, text[len("errors+"):]
        try:
            text = float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
        except ValueError:
            text = -1.0
    fraction = float(text)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"record={spec!r}: use 'all', 'errors', 'none', a fraction such as 0.05 (or '5%'), "
                         "or 'errors+0.05' (every error and 5% of the rest)")
    if fraction >= 1.0:
        return ALL
    label = f"sample {fraction:g}"
    return Policy(fraction, errors, f"errors+{label}" if errors else label)


def configure(spec: RecordSpec = None) -> Policy:
    """Set the process's policy (None: ``ELL_RECORD`` or "all"); returns it."""
    global _policy
    _policy = parse(spec)
    return _policy


def current() -> Policy:
    return _policy


def begin(parent: Optional[str]) -> bool:
    """On a call's start: whether its tree is sampled in. Outermost calls draw; nested ones inherit."""
    p = _policy
    if p is ALL:
        return True
    if p.fraction <= 0.0:
        return False
    if parent is not None:
        return _tree_kept.get()
    kept = _random.random() < p.fraction
    _tree_kept.set(kept)  # left set: the next outermost call in this context draws again
    return kept


def keeps(tree_kept: bool, error: object) -> bool:
    """On a call's end: whether the store gets it."""
    p = _policy
    return p is ALL or tree_kept or (p.errors and error is not None)


def label() -> Optional[str]:
    return _policy.label
