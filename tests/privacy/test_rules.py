"""What users tune: their own names and rules, what they allow, turning redaction off, and the
repository-wide settings (`git config ell.allow` / `ell.redact`) that recording and the push check
share. Real LMP calls against the local model server, recorded in a MemoryStore or a git store."""

from __future__ import annotations

import warnings

from privacy_tools import Project, found_in, git

import ell

ALLOWED_KEY = "sk-proj-ThisIsAPublicDemoKey0000000000"


@ell.simple(model="gpt-4o-mini")
def intake(customer: str, ssn: str, session_token: str, note: str):
    """You file support tickets."""
    return f"File a ticket for {customer}: {note}"


def _text(record) -> str:  # type: ignore[no-untyped-def]
    from ell.serialize import dumps

    return dumps(vars(record)).decode()


def test_user_names_rules_and_allow_list(model_server) -> None:
    store = ell.MemoryStore()
    ell.init(store=store, default_client=model_server.client(max_retries=0), redact_names=["ssn"],
             redact_rules=[r"ACME-\d{6}", ("customer-id", r"cust_(\w{8})"),
                           lambda text: [w for w in text.split() if w.startswith("pin:")]],
             allow=["session_token", ALLOWED_KEY])
    out = intake("cust_ab12cd34", ssn="123-45-6789", session_token="9f86d081884c7d659a2feaa0c55ad015",
                 note=f"order ACME-123456, pin:9911, demo key {ALLOWED_KEY}")
    assert "ACME-123456" in out  # the program gets the real text back
    record = store.invocations[-1]
    assert record.args["ssn"] == "<redacted:ssn>"
    assert record.args["customer"] == "cust_<redacted:customer-id>"  # a group hides only itself
    assert record.args["session_token"] == "9f86d081884c7d659a2feaa0c55ad015"  # allowed by name
    text = _text(record)
    assert "ACME-123456" not in text and "<redacted:custom>" in text and "pin:9911" not in text
    assert ALLOWED_KEY in text  # allowed by value, although it has a key's format


def test_redact_false_turns_it_off(model_server) -> None:
    store = ell.MemoryStore()
    ell.init(store=store, default_client=model_server.client(max_retries=0), redact=False)
    intake("ada", ssn="123-45-6789", session_token="9f86d081884c7d659a2feaa0c55ad015", note="hi")
    assert store.invocations[-1].args["session_token"] == "9f86d081884c7d659a2feaa0c55ad015"


def test_a_failing_rule_warns_once_and_the_call_is_still_recorded(model_server) -> None:
    def broken(text: str) -> list[str]:
        raise ValueError("oops")

    store = ell.MemoryStore()
    ell.init(store=store, default_client=model_server.client(max_retries=0), redact_rules=[broken])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        intake("ada", ssn="x", session_token="y", note="n")
        intake("bob", ssn="x", session_token="y", note="n")
    assert len(store.invocations) == 2
    assert sum("redaction rule" in str(w.message) for w in caught) == 1


def test_freeze_serves_identical_calls_that_held_secrets(model_server) -> None:
    store = ell.MemoryStore()
    ell.init(store=store, default_client=model_server.client(max_retries=0))
    first = intake("ada", ssn="123-45-6789", session_token="t", note="hello")
    with store.freeze(intake):
        model_server.reset()
        again = intake("ada", ssn="123-45-6789", session_token="t", note="hello")
        assert model_server.requests == []  # served from the record, whose arguments are redacted
    assert str(again) == str(first)


def test_repository_settings_are_shared_by_recording_and_the_push_check(project: Project) -> None:
    git(project.path, "config", "--add", "ell.allow", "AKIAIOSFODNN7EXAMPLE")  # AWS's documentation key
    git(project.path, "config", "--add", "ell.redact", r"TICKET-\d{5}")
    project.run('''
        import ell
        ell.init(store=".", autocommit=False)

        @ell.simple(model="gpt-4o-mini")
        def docs(question: str):
            """You explain AWS."""
            return f"{question} Example key: AKIAIOSFODNN7EXAMPLE. Ticket TICKET-12345."

        docs("What is an access key?")
    ''')
    assert found_in(project.path, "TICKET-12345") == []
    assert found_in(project.path, "AKIAIOSFODNN7EXAMPLE") == ["AKIAIOSFODNN7EXAMPLE"]
    assert "pushed" in project.ell("push").stdout  # the allowed value does not stop the push either
