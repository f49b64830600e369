"""@ell.simple and @ell.lm through the real openai SDK against ell.testing."""

from __future__ import annotations

import pytest

import ell
from ell.testing import Reply


def test_docstring_is_system_and_return_is_user(model_server, memory_store):
    @ell.simple(model="gpt-4o-mini", temperature=0.2)
    def hello(name: str):
        """You are a helpful assistant."""
        return f"Say hello to {name}."

    out = hello("Ada")
    assert out == "Echo: Say hello to Ada."
    assert isinstance(out, ell.lstr) and isinstance(out, str)
    req = model_server.requests[-1]
    assert req["model"] == "gpt-4o-mini" and req["temperature"] == 0.2
    assert req["messages"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Say hello to Ada."},
    ]
    (inv,) = memory_store.invocations
    assert out.__origin_trace__ == frozenset({inv.id})
    assert inv.args == {"name": "Ada"} and inv.model == "gpt-4o-mini"
    assert inv.usage["total_tokens"] > 0 and inv.latency_ms > 0


def test_blank_docstring_sends_no_system_message(model_server, memory_store):
    @ell.simple(model="m")
    def f():
        """   """
        return "hi"

    f()
    assert [m["role"] for m in model_server.requests[-1]["messages"]] == ["user"]


def test_multiline_docstring_is_dedented(model_server, memory_store):
    @ell.simple(model="m")
    def f():
        """
        Line one.
            Indented.
        """
        return "x"

    f()
    assert model_server.requests[-1]["messages"][0]["content"] == "Line one.\n    Indented."


def test_message_list_prompt(model_server, memory_store):
    @ell.simple(model="m")
    def chat(history: list[str]):
        return [ell.system("Be brief."), ell.user(history[0]), ell.assistant("ok"), ell.user(history[1])]

    assert chat(["a", "b"]) == "Echo: b"
    assert [m["role"] for m in model_server.requests[-1]["messages"]] == ["system", "user", "assistant", "user"]


def test_n_greater_than_one_returns_a_list(model_server, memory_store):
    model_server.queue(["one", "two", "three"])

    @ell.simple(model="m", n=3)
    def f():
        return "x"

    out = f()
    assert out == ["one", "two", "three"]
    assert all(isinstance(o, ell.lstr) for o in out)
    assert model_server.requests[-1]["n"] == 3


def test_param_merge_order(model_server):
    ell.init(default_client=model_server.client(), default_api_params={"temperature": 0.1, "top_p": 0.5, "seed": 1})

    @ell.simple(model="m", temperature=0.7, max_tokens=10)
    def f():
        return "x"

    f(api_params={"max_tokens": 20})
    req = model_server.requests[-1]
    assert (req["temperature"], req["top_p"], req["seed"], req["max_tokens"]) == (0.7, 0.5, 1, 20)


def test_model_switch_and_lm_params_alias(model_server, memory_store):
    @ell.simple(model="small")
    def f():
        return "x"

    f(api_params={"model": "large"})
    assert model_server.requests[-1]["model"] == "large"
    f(lm_params={"model": "other", "temperature": 0})
    assert model_server.requests[-1]["model"] == "other"
    assert memory_store.invocations[-1].model == "other"


def test_call_time_client_wins(model_server):
    ell.init(store=ell.MemoryStore())
    other = model_server.client()

    @ell.simple(model="m")
    def f():
        return "x"

    assert f(client=other) == "Echo: x"


def test_registered_model_client(model_server):
    ell.config.register_model("my-model", model_server.client())

    @ell.simple(model="my-model")
    def f():
        return "x"

    assert f() == "Echo: x"


def test_seed_lm_decorator_default_system_prompt(model_server, memory_store):
    @ell.lm(model="m")
    def nodoc(x: str):
        return x

    @ell.lm(model="m", temperature=0.3)
    def withdoc(x: str):
        """Custom."""
        return x

    nodoc("a")
    assert model_server.requests[-1]["messages"][0] == {"role": "system", "content": ell.lmp.DEFAULT_SYSTEM_PROMPT}
    withdoc("b", lm_params={"temperature": 0.9})
    assert model_server.requests[-1]["messages"][0]["content"] == "Custom."
    assert model_server.requests[-1]["temperature"] == 0.9


def test_environment_client(model_server, monkeypatch):
    for k, v in model_server.env().items():
        monkeypatch.setenv(k, v)
    ell.config._env_clients.clear()

    @ell.simple(model="m")
    def f():
        return "from env"

    try:
        assert f() == "Echo: from env"
    finally:
        ell.config._env_clients.clear()


def test_missing_key_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ell.config._env_clients.clear()

    @ell.simple(model="m")
    def f():
        return "x"

    with pytest.raises(ell.MissingAPIKeyError, match="OPENAI_API_KEY.*ell demo"):
        f()


def test_unknown_client_type():
    class NotAClient:
        pass

    @ell.simple(model="m", client=NotAClient())
    def f():
        return "x"

    with pytest.raises(ell.UnknownClientError, match="register_provider"):
        f()


def test_bad_prompt_return_type(model_server, memory_store):
    @ell.simple(model="m")
    def f():
        return 42

    with pytest.raises(TypeError, match="must return a str"):
        f()
    assert memory_store.invocations[-1].error.startswith("TypeError")


def test_simple_refuses_tools():
    with pytest.raises(TypeError, match="ell.complex"):
        ell.simple(model="m", tools=[])


def test_model_error_propagates_and_is_recorded(model_server, memory_store):
    import openai

    model_server.queue(Reply(error=429, error_message="slow down"))

    @ell.simple(model="m")
    def f():
        return "x"

    with pytest.raises(openai.RateLimitError):
        f(client=model_server.client(max_retries=0))
    assert "RateLimitError" in memory_store.invocations[-1].error


def test_exempt_from_tracking_records_nothing(model_server, memory_store):
    @ell.simple(model="m", exempt_from_tracking=True)
    def f():
        return "x"

    assert f() == "Echo: x"
    assert memory_store.invocations == [] and memory_store.versions == {}
