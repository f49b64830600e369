"""What to redact: on or off, the user's own names and rules, what is allowed, the environment.

`configure` is what ``ell.init(redact=..., redact_names=..., redact_rules=..., allow=...)`` calls;
`current()` is the policy every redaction uses. The same detectors serve recording (in the program),
the push check, ``ell forget`` and the web UI, which read repository-wide additions from git config
(``ell.allow``, ``ell.redact``) through `ell_git`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional, Union

from . import names
from .environment import EnvSecrets, KnownSecrets

__all__ = ["Policy", "Rule", "configure", "counts", "current", "placeholder", "PLACEHOLDER_PREFIX", "is_placeholder"]

#: A user rule: a regular expression (a string or compiled; with a group, only group 1 is hidden),
#: a ``(label, pattern)`` pair, or a callable returning the secret substrings of a text (each a
#: string, or a ``(substring, label)`` pair).
Rule = Union[str, "re.Pattern[str]", tuple[str, Union[str, "re.Pattern[str]"]],
             Callable[[str], Iterable[Union[str, tuple[str, str]]]]]

PLACEHOLDER_PREFIX = "<redacted:"
_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_.:@-]")


#: How many values this process has hidden, by label (never the values): `ell.redaction.counts()`.
_counts: dict[str, int] = {}


def placeholder(label: str) -> str:
    """``<redacted:LABEL>``: stable (it never depends on the value) and names what was hidden."""
    clean = _LABEL_CHARS.sub("_", str(label))[:64] or "secret"
    _counts[clean] = _counts.get(clean, 0) + 1
    return f"{PLACEHOLDER_PREFIX}{clean}>"


def counts() -> dict[str, int]:
    """Values hidden so far in this process, by label (what the precision measurement reads)."""
    return dict(_counts)


_ONLY_PLACEHOLDER = re.compile(r"<redacted:[A-Za-z0-9_.:@-]{1,64}>\Z")


def is_placeholder(value: str) -> bool:
    return value.startswith(PLACEHOLDER_PREFIX) and _ONLY_PLACEHOLDER.match(value) is not None


@dataclass
class Policy:
    """One redaction configuration. Build it with `configure`."""

    enabled: bool = True
    extra_names: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    allow: tuple[str, ...] = ()
    patterns: tuple[tuple[str, "re.Pattern[str]"], ...] = field(default=(), init=False)
    callables: tuple[Callable[[str], Iterable[Union[str, tuple[str, str]]]], ...] = field(default=(), init=False)
    allowed_values: frozenset[str] = field(default=frozenset(), init=False)
    env: EnvSecrets = field(default_factory=EnvSecrets, init=False)
    known: KnownSecrets = field(default_factory=KnownSecrets, init=False)

    def __post_init__(self) -> None:
        patterns, callables = [], []
        for i, rule in enumerate(self.rules):
            if callable(rule) and not isinstance(rule, (str, re.Pattern)):
                callables.append(rule)
            elif isinstance(rule, tuple) and len(rule) == 2:
                patterns.append((str(rule[0]), _compile(rule[1])))
            elif isinstance(rule, (str, re.Pattern)):
                patterns.append(("custom", _compile(rule)))
            else:
                raise TypeError(f"redact_rules[{i}] must be a regex, a (label, regex) pair or a callable, "
                                f"got {type(rule).__name__}")
        self.patterns, self.callables = tuple(patterns), tuple(callables)
        self.allowed_values = frozenset(a for a in self.allow if isinstance(a, str))
        self.env.allowed_values = self.allowed_values

    @property
    def has_user_rules(self) -> bool:
        return bool(self.patterns or self.callables)


def _compile(pattern: Union[str, "re.Pattern[str]"]) -> "re.Pattern[str]":
    if isinstance(pattern, re.Pattern):
        return pattern
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"redact rule {pattern!r} is not a valid regular expression: {exc}") from None


_current = Policy()


def configure(enabled: bool = True, extra_names: Iterable[str] = (), rules: Iterable[Rule] = (),
              allow: Iterable[str] = ()) -> Policy:
    """Make this the policy of the process (names and allowed names are global to `names`)."""
    global _current
    extra, allowed = tuple(str(n) for n in extra_names), tuple(str(a) for a in allow)
    if isinstance(rules, (str, re.Pattern)) or callable(rules):
        rules = (rules,)  # type: ignore[assignment]
    policy = Policy(enabled=bool(enabled), extra_names=extra, rules=tuple(rules), allow=allowed)  # type: ignore[arg-type]
    policy.known = _current.known  # what this process has hidden stays hidden under a new policy
    names.configure(extra, allowed)
    _current = policy
    return policy


def current() -> Policy:
    return _current


def merged(base: Policy, extra_allow: Iterable[str] = (), extra_rules: Iterable[Rule] = ()) -> Policy:
    """`base` plus repository-wide additions (git config ``ell.allow`` / ``ell.redact``), made the
    process's policy. Additions already there are not repeated."""
    rules = list(base.rules)
    rules += [r for r in extra_rules if r not in rules]
    allow = list(dict.fromkeys((*base.allow, *extra_allow)))
    if len(rules) == len(base.rules) and len(allow) == len(base.allow) and base is _current:
        return base
    return configure(base.enabled, base.extra_names, rules, allow)


def active(policy: Optional[Policy] = None) -> Policy:
    return _current if policy is None else policy
