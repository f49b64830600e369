"""Register OpenAI's model names with a client (`ell.models.openai.register(client)`, as in ell-ai).

Unregistered names already go to `ell.init(default_client=...)` or to a client from the environment,
so this is only needed to route OpenAI's names to one specific client.
"""

from __future__ import annotations

from typing import Any

from ..configurator import config

MODELS = (
    "gpt-4o", "gpt-4o-mini", "gpt-4o-2024-05-13", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20",
    "gpt-4o-mini-2024-07-18", "chatgpt-4o-latest", "gpt-4-turbo", "gpt-4-turbo-preview", "gpt-4",
    "gpt-3.5-turbo", "o1", "o1-mini", "o1-preview", "o3-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
    # the rest of ell-ai 0.0.17's chat model names, so that `register(client)` routes the same names
    "gpt-4-turbo-2024-04-09", "gpt-4-0125-preview", "gpt-4-1106-preview", "gpt-4-0613", "gpt-4-0314",
    "gpt-4-32k-0314", "gpt-3.5-turbo-0125", "gpt-3.5-turbo-1106", "gpt-3.5-turbo-0613", "gpt-3.5-turbo-0301",
    "gpt-3.5-turbo-16k", "gpt-3.5-turbo-16k-0613", "gpt-3.5-turbo-instruct", "gpt-3.5-turbo-instruct-0914",
    "gpt-4o-audio-preview", "gpt-4o-audio-preview-2024-10-01", "gpt-4o-realtime", "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2024-10-01", "o1-2024-12-17", "o1-mini-2024-09-12", "o1-preview-2024-09-12",
)


def register(client: Any) -> None:
    """Route every OpenAI model name to `client`."""
    for name in MODELS:
        config.register_model(name, client)


def __getattr__(name: str) -> Any:
    """`ell.models.openai.default_client`: ell-ai builds an `openai.OpenAI()` from the environment at
    import; ours is built on first use (None when no OPENAI_API_KEY is set, as in ell-ai)."""
    if name == "default_client":
        from ..configurator import MissingAPIKeyError

        try:
            return config.default_client or config.env_client()
        except MissingAPIKeyError:
            return None
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
