"""Redacting the records `ell` hands to a store: invocations, evaluation runs, feedback.

An invocation is redacted on the caller's path, before the store serialises it, so nothing secret
reaches the journal, a git object or a memory store. That path has a budget of microseconds, so it
is two-stage. `needs_redaction` walks the record's live objects once without copying anything:
names (argument names, dict keys, pydantic fields; their verdicts are cached) decide on the spot,
and every string is gathered for one pass of the text detectors over their concatenation. Only a
record that may hold a secret (rare) takes `redact_invocation`'s careful path: the fields concerned
become JSON data (what the store would write anyway) with placeholders in them.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Optional

from ..types.lstr import lstr
from ..types.message import Message
from . import names
from . import policy as _policy
from .policy import Policy, current
from .formats import maybe
from .text import find_in_text, maybe_in_text, redact_text
from .values import DESCRIPTIVE_KEYS, hides, redact_value

__all__ = ["redact_invocation", "needs_redaction", "redact_args", "redact_evaluation_run", "redact_feedback",
           "redact_dataset"]

_INVOCATION_VALUES = ("args", "bound_globals", "api_params", "messages", "outputs")
_MAX_DEPTH = 32
_MAX_ITEMS = 2_000  # a container this big is checked as the store will write it (the careful path)


class _Found(Exception):
    """Raised inside the walk as soon as a value must be hidden by its name."""


def needs_redaction(inv: Any, policy: Optional[Policy] = None) -> bool:
    """Whether an `InvocationRecord` may hold a secret (False is certain; True is checked by
    `redact_invocation`). Written for speed: the common shapes (str/number arguments and
    parameters, text messages) are handled inline, anything else by `_gather`."""
    p = _policy._current if policy is None else policy
    if not p.enabled:
        return False
    strings: list[str] = []
    append = strings.append
    try:
        for mapping in (inv.args, inv.bound_globals, inv.api_params):
            if not mapping:
                continue
            for k, v in mapping.items():
                t = type(v)
                if t is int or t is float or t is bool or v is None:
                    continue
                level = _levels.get(k, _UNKNOWN) if type(k) is str else None
                if level is _UNKNOWN:
                    level = names.strength(k)
                if t is str or t is lstr:
                    if level is not None and hides(level, v, k, p):
                        return True
                    append(v)
                else:
                    _gather(v, k if level is not None else None, level, strings, p, 1)
        for messages in (inv.messages, inv.outputs):
            for m in messages:
                if type(m) is Message:
                    for block in m.content:
                        text = block.text
                        if text is not None:
                            append(text)  # short ones too: a length check costs more than they do
                        elif block.image is None:
                            _gather(_fields(block), None, None, strings, p, 1)
                else:
                    _gather(m, None, None, strings, p, 1)
    except _Found:
        return True
    error = inv.error
    if error:
        append(error)
    if not strings:
        return False
    joined = strings[0] if len(strings) == 1 else "\x00".join(strings)
    if p.patterns or p.callables or maybe(joined):
        return bool(find_in_text(joined, p))
    for value, _ in p.env.values():
        if value in joined:
            return True
    for value, _ in p.known.values():
        if value in joined:
            return True
    return False


_UNKNOWN = object()
_levels = names.cache  # name -> strength, filled by `names.strength`


def _gather(value: Any, label: Optional[str], level: Optional[int], out: list[str], p: Policy, depth: int) -> None:
    """Collect the strings of a live value; raise `_Found` when a name hides one."""
    t = type(value)
    if t is str or isinstance(value, str):
        if level is not None and hides(level, value, label, p):
            raise _Found
        if len(value) >= 8 or p.has_user_rules:
            out.append(value)
        return
    if value is None or t is int or t is float or t is bool:
        return
    if depth > _MAX_DEPTH:
        raise _Found  # too deep to be sure cheaply: the careful path decides
    if t is dict:
        if len(value) > _MAX_ITEMS:
            raise _Found
        for k, v in value.items():
            own = names.strength(k) if type(k) is str else None
            if own is not None and (level is None or own >= level):
                _gather(v, k, own, out, p, depth + 1)
            elif k in DESCRIPTIVE_KEYS:
                _gather(v, None, None, out, p, depth + 1)
            else:
                _gather(v, label, level, out, p, depth + 1)
        return
    if t is list or t is tuple:
        if len(value) > _MAX_ITEMS:
            raise _Found
        for v in value:
            _gather(v, label, level, out, p, depth + 1)
        return
    message_json = getattr(t, "__ell_plain_json__", None)
    if message_json is not None:  # an ell Message: text blocks cheaply, anything else generically
        for block in value.content:
            text = block.text
            if text is not None:
                if len(text) >= 8 or p.has_user_rules:
                    out.append(text)
            elif block.image is None:
                _gather(_fields(block), label, level, out, p, depth + 1)
        return
    if isinstance(value, (bytes, bytearray)):
        if level is not None and hides(level, bytes(value[:20_000]).decode("latin-1"), label, p):
            raise _Found
        try:
            out.append(bytes(value[:1_000_000]).decode("utf-8"))
        except UnicodeDecodeError:
            pass
        return
    if isinstance(value, (set, frozenset)):
        _gather(list(value), label, level, out, p, depth + 1)
        return
    fields = _fields(value)
    if fields is not None:
        _gather(fields, label, level, out, p, depth + 1)
    # Anything else (images, arrays, clients) is written as data URLs, numbers or "<unserializable>".


def _fields(value: Any) -> Optional[dict[str, Any]]:
    """The named fields of a pydantic model, a dataclass or an ell content block/tool call."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
    d = getattr(value, "__dict__", None)
    if d is not None and hasattr(type(value), "model_fields"):  # pydantic v2
        # not functions (a ToolCall's tool), but instances with __call__ (the ToolCall itself) are data
        return {k: v for k, v in d.items() if not (inspect.isroutine(v) or isinstance(v, type))}
    return None


def redact_invocation(inv: Any, policy: Optional[Policy] = None) -> Any:
    """`inv` itself when it holds no secret, else a copy whose fields that held one are JSON data
    with placeholders (the live objects the caller got back are never touched)."""
    p = current() if policy is None else policy
    if not needs_redaction(inv, p):
        return inv
    from ..serialize import to_jsonable

    data = {f: to_jsonable(v) for f in _INVOCATION_VALUES if (v := getattr(inv, f))}
    for value in data.values():  # first learn every value hidden by its name, wherever it is in the
        redact_value(value, None, p)  # record, so that its other occurrences go too, in any field
    changes: dict[str, Any] = {}
    for field, value in data.items():
        new = redact_value(value, None, p)
        if new is not value:
            changes[field] = new
    if inv.error:
        error = redact_text(inv.error, p)
        if error is not inv.error:
            changes["error"] = error
    return dataclasses.replace(inv, **changes) if changes else inv


def _field_needs(value: Any, p: Policy) -> bool:
    strings: list[str] = []
    try:
        _gather(value, None, None, strings, p, 0)
    except _Found:
        return True
    return any(maybe_in_text(s, p) and (p.has_user_rules or find_in_text(s, p)) for s in strings)


def redact_args(args: dict[str, Any], policy: Optional[Policy] = None) -> Any:
    """Call arguments as the store will record them (for the freeze key of an identical call)."""
    p = current() if policy is None else policy
    if not p.enabled or not args or not _field_needs(args, p):
        return args
    from ..serialize import to_jsonable

    return redact_value(to_jsonable(args), None, p)


def redact_dataset(dataset: Any, policy: Optional[Policy] = None) -> Any:
    """An evaluation's JSON-ready datapoints (before their hash becomes the evaluation's id)."""
    return redact_value(dataset, None, policy)


def redact_evaluation_run(run: Any, policy: Optional[Policy] = None) -> Any:
    """An `EvaluationRunRecord` with secrets hidden in its parameters, outputs, labels and errors."""
    p = current() if policy is None else policy
    if not p.enabled:
        return run
    results = []
    changed = False
    for r in run.results:
        new = dataclasses.replace(
            r, output=redact_value(r.output, None, p), labels=redact_value(r.labels, None, p),
            errors=redact_value(r.errors, None, p))
        changed = changed or new.output is not r.output or new.labels is not r.labels or new.errors is not r.errors
        results.append(new if new != r else r)
    api_params, lmp_params = redact_value(run.api_params, None, p), redact_value(run.lmp_params, None, p)
    error = redact_text(run.error, p) if run.error else run.error
    if not changed and api_params is run.api_params and lmp_params is run.lmp_params and error is run.error:
        return run
    return dataclasses.replace(run, results=tuple(results), api_params=api_params, lmp_params=lmp_params, error=error)


def redact_feedback(comment: Optional[str], labels: dict[str, Any],
                    policy: Optional[Policy] = None) -> tuple[Optional[str], dict[str, Any]]:
    """A judgement's comment and labels, as they will be stored."""
    p = current() if policy is None else policy
    if not p.enabled:
        return comment, labels
    return (redact_text(comment, p) if comment else comment), redact_value(labels, None, p)
