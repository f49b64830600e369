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
)


def register(client: Any) -> None:
    """Route every OpenAI model name to `client`."""
    for name in MODELS:
        config.register_model(name, client)
