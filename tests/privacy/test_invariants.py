"""Two promises that make recording, the push check and `ell forget` agree, on generated records:

- what recording writes is what the push check accepts: a redacted record, serialised as a store
  writes it, has nothing left for the detectors (so a clone never refuses its own records);
- the fast check on the call path never says "clean" about a record that holds a secret.
"""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ell.redaction import needs_redaction, redact_invocation, redact_text, redact_value
from ell.serialize import dumps
from ell.records import InvocationRecord
from ell.types import Message

NAMES = ["name", "api_key", "token", "session_id", "max_tokens", "Authorization", "headers", "password", "note",
         "author", "credentials", "X-Api-Key", "tokens", "cache_key", "DB_PASSWORD", "prompt"]
VALUES = ["hello world", "sk-proj-4fG7hJ2kL9mN3pQ8rS1tU6vW0xY5zA2bC7dE", "AKIAIOSFODNN7EXAMPLE", "chat-42",
          "9f86d081884c7d659a2feaa0c55ad015", "Bearer 9f86d081884c7d659a2feaa0", "${DB_PASSWORD}", "",
          "postgres://app:s3cr3t-pw@db:5432/x", "The key idea is tokens.", "hunter2", "Basic dXNlcjpwYXNz"]
scalars = st.one_of(st.sampled_from(VALUES), st.integers(-5, 5), st.booleans(), st.none(), st.floats(0, 1))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)),
                      max_leaves=8)
texts = st.lists(st.sampled_from(VALUES), min_size=1, max_size=3).map(" ".join)


@st.composite
def records(draw) -> InvocationRecord:  # type: ignore[no-untyped-def]
    return InvocationRecord(
        id="inv-1", version_id="lmp-1", lmp_name="app.f",
        args=draw(st.dictionaries(st.sampled_from(NAMES), values, max_size=4)),
        messages=[Message.of_text("system", "You are helpful."), Message.of_text("user", draw(texts))],
        outputs=[Message.of_text("assistant", draw(texts))],
        api_params=draw(st.dictionaries(st.sampled_from(NAMES), values, max_size=2)),
        bound_globals=draw(st.dictionaries(st.sampled_from(NAMES), values, max_size=2)),
        error=draw(st.one_of(st.none(), texts)),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_redacted_records_leave_nothing_for_the_push_check(record: InvocationRecord) -> None:
    redacted = redact_invocation(record)
    line = orjson.loads(dumps(vars(redacted)))
    for key in ("args", "bound_globals", "api_params", "messages", "outputs"):
        assert redact_value(line[key]) == line[key], key
    if line["error"]:
        assert redact_text(line["error"]) == line["error"]
    assert not needs_redaction(redacted)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_the_fast_check_never_misses(record: InvocationRecord) -> None:
    if not needs_redaction(record):
        assert redact_invocation(record) is record
        line = orjson.loads(dumps(vars(record)))
        for key in ("args", "bound_globals", "api_params", "messages", "outputs"):
            assert redact_value(line[key]) == line[key], key
