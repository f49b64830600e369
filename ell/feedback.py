"""`ell.feedback`: a human's judgement of one invocation, kept by the store next to its version.

    answer = summarize(text)
    ell.feedback(answer, score=-1, comment="misses the main point", labels={"topic": "history"})

The invocation is found from what the LMP returned (an `lstr` or `Message` knows the call that made
it) or from its id. The git store appends the entry to a git note on the version's commit, so the
version id never changes and feedback from several clones merges by union (see ``ell_git/notes.py``).
"""

from __future__ import annotations

import math
import re
import secrets
import time
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Union

from .records import FeedbackRecord

if TYPE_CHECKING:
    from .types import Message
    from .types.lstr import lstr

_INV_ID = re.compile(r"^inv-[0-9a-f]{8,64}\Z")
#: Comments are for people; a bound keeps one click from writing megabytes into a note.
MAX_COMMENT = 10_000
SOURCES = ("code", "web", "blind")


def invocation_id_of(target: Union[str, lstr, Message, Any]) -> str:
    """The id of the invocation `target` came from: an id string, an LMP's lstr, or its Message."""
    from .types import Message  # here, not above: `import ell` imports this module and stays cheap
    from .types.lstr import lstr

    if isinstance(target, lstr):
        trace = sorted(target.__origin_trace__)
        if len(trace) != 1:
            raise ValueError(f"this text comes from {len(trace) or 'no'} invocations, not exactly one: "
                             "pass the LMP's return value itself, or the invocation id")
        return trace[0]
    if isinstance(target, Message):
        if not target._origin:
            raise ValueError("this Message was not returned by an LMP call: pass an invocation id instead")
        return target._origin
    if isinstance(target, str):
        if not _INV_ID.match(target):
            raise ValueError(f"{target[:40]!r} is not an invocation id (they look like inv-0123abcd…)")
        return target
    raise TypeError(f"feedback is given on an LMP's return value (lstr or Message) or an invocation id, "
                    f"not {type(target).__name__}")


def normalize_score(score: Any) -> Optional[float]:
    """+1/-1 thumbs, True/False, or any finite number; None for a comment or labels alone."""
    if score is None:
        return None
    if isinstance(score, bool):
        return 1.0 if score else -1.0
    try:
        value = float(score)
    except (TypeError, ValueError):
        raise TypeError(f"score must be +1, -1 or a number, got {type(score).__name__}") from None
    if not math.isfinite(value):
        raise ValueError(f"score must be a finite number, got {value}")
    return value


def normalize_labels(labels: Union[Mapping[str, Any], Iterable[str], None]) -> dict[str, Any]:
    """A dict of label -> JSON value; a list of tags becomes {tag: True}."""
    if labels is None:
        return {}
    if isinstance(labels, Mapping):
        from .serialize import to_jsonable

        return {str(k): to_jsonable(v) for k, v in labels.items()}
    if isinstance(labels, str):
        return {labels: True}
    return {str(tag): True for tag in labels}


def make_record(target: Any, score: Any = None, comment: Optional[str] = None, labels: Any = None,
                source: str = "code") -> FeedbackRecord:
    """A checked `FeedbackRecord` (what `feedback` and `ell web` hand to a store)."""
    value = normalize_score(score)
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_COMMENT:
        raise ValueError(f"a comment holds at most {MAX_COMMENT} characters, got {len(text)}")
    tags = normalize_labels(labels)
    if value is None and text is None and not tags:
        raise ValueError("feedback needs a score, a comment or labels")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    from .redaction import redact_feedback

    text, tags = redact_feedback(text, tags)  # what people type can hold secrets too
    return FeedbackRecord(id="fb-" + secrets.token_hex(8), invocation_id=invocation_id_of(target), score=value,
                          comment=text, labels=tags, source=source, created_at=time.time())


def feedback(target: Any, score: Any = None, comment: Optional[str] = None,
             labels: Union[Mapping[str, Any], Iterable[str], None] = None) -> FeedbackRecord:
    """Record feedback on one invocation: `score` +1 / -1 (thumbs) or any number, a `comment`,
    `labels` (a dict, or a list of tags). Returns the stored record. Raises LookupError if the store
    has no such invocation."""
    from .configurator import config

    record = make_record(target, score, comment, labels)
    store = config.store
    if store is None:
        raise RuntimeError("no store to keep feedback in: call ell.init(store='path/to/repo') first")
    hook = getattr(store, "record_feedback", None)
    if hook is None:
        raise TypeError(f"{type(store).__name__} does not keep feedback: use the git store "
                        "(ell.init(store=path)) or ell.MemoryStore, or add a record_feedback method")
    return hook(record)


__all__ = ["feedback", "invocation_id_of", "make_record"]
