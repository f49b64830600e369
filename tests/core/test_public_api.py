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
