"""Register the models an Ollama (or any OpenAI-compatible) server lists (`ell.models.ollama.register`)."""

from __future__ import annotations

import logging

import openai

from ..configurator import config

logger = logging.getLogger(__name__)
client: openai.OpenAI | None = None


def register(base_url: str, api_key: str = "ollama") -> list[str]:
    """Route every model the server at `base_url` lists to a client for it; returns their names."""
    global client
    client = openai.OpenAI(base_url=base_url, api_key=api_key)
    try:
        names = [m.id for m in client.models.list()]
    except openai.OpenAIError as exc:
        logger.error("ell: could not list the models at %s: %s", base_url, exc)
        return []
    for name in names:
        config.register_model(name, client)
    return names
