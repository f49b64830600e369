"""The public names are exactly the intended ones, and ell-ai 0.0.17's names all exist."""

from __future__ import annotations

import ell

EXPECTED = {
    "Config", "ContentBlock", "Evaluation", "ImageContent", "Message", "MemoryStore", "MissingAPIKeyError",
    "ModelRefusalError", "Store", "UnknownClientError", "__version__", "assistant", "complex", "config", "feedback",
    "get_store", "init", "lm", "lstr", "models", "providers", "register_provider", "set_store", "simple", "system",
    "tool", "types", "user", "version_of",
}
ELL_AI_0_0_17 = {"simple", "tool", "complex", "system", "user", "assistant", "Message", "ContentBlock",
                 "__version__", "providers", "models", "Config", "config", "init", "get_store", "register_provider",
                 "set_store"}


def test_exported_names():
    assert set(ell.__all__) == EXPECTED
    for name in ell.__all__:
        assert hasattr(ell, name), name


def test_superset_of_ell_ai():
    assert ELL_AI_0_0_17 <= set(dir(ell))
    assert hasattr(ell.types, "ToolCall") and hasattr(ell.types, "ToolResult") and hasattr(ell.types, "_lstr")
    assert callable(ell.config.register_model)


def test_decorators_keep_signature_and_name():
    import inspect

    @ell.simple(model="m")
    def hello(name: str, excited: bool = False) -> str:
        """Doc."""
        return name

    assert hello.__name__ == "hello" and hello.__doc__ == "Doc."
    assert list(inspect.signature(hello).parameters) == ["name", "excited"]


def test_reading_history_does_not_import_the_openai_sdk():
    """`import ell` and the CLI import the SDK (~0.4 s) only when an LMP, a provider or an
    evaluation is first used; a provider registered before that first use is kept."""
    import subprocess
    import sys

    script = """
import sys
import ell, ell_git.cli, ell_git, webui.server
assert "openai" not in sys.modules, "imported openai"
import openai

class Mine:
    pass

ell.register_provider(Mine(), openai.OpenAI)
ell.simple  # first use: registers the openai provider for the client types nobody claimed
assert type(ell.config.get_provider_for(openai.OpenAI)) is Mine
assert ell.config.get_provider_for(openai.AsyncOpenAI) is ell.providers.openai.openai_provider
assert ell.feedback.__module__ == "ell.feedback" and callable(ell.feedback)
assert ell.evaluation.Evaluation is ell.Evaluation  # submodules as attributes, as ell-ai programs use them
"""
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
