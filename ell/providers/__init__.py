"""Providers and client resolution: which client and which provider serve a model call."""

from __future__ import annotations

from typing import Any

import openai as _openai

from ..configurator import UnknownClientError, config
from ..types import Message
from . import openai as _openai_provider
from .base import ModelRefusalError, Provider, ProviderCall, ProviderResult
from .clients import client_for_call

_openai_provider.register(config)


def resolve_client(model: str, client: Any = None, asynchronous: bool = False) -> tuple[Any, Provider]:
    """The client for `model` (see ell.configurator for the order) and the provider for it."""
    if client is None:
        client, _ = config.get_client_for(model)
    if client is None:
        client = config.env_client()
    client = client_for_call(client, asynchronous)
    provider = config.get_provider_for(client)
    if provider is None:
        raise UnknownClientError(
            f"no provider for client type {type(client).__module__}.{type(client).__name__}: pass an "
            "openai.OpenAI-compatible client, or register one with ell.register_provider(provider, ClientType)"
        )
    return client, provider


def complete_text(model: str, system: str, user: str, *, timeout: float = 20.0) -> str:
    """One untracked chat completion (used for autocommit messages). Raises on any failure."""
    client, provider = resolve_client(model)
    if isinstance(client, _openai.OpenAI):
        client = client.with_options(timeout=timeout, max_retries=0)
    call = ProviderCall(
        model=model,
        messages=[Message("system", system), Message("user", user)],
        client=client,
        api_params={"temperature": 0},
    )
    return provider.call(call).messages[0].text_only


__all__ = [
    "ModelRefusalError",
    "Provider",
    "ProviderCall",
    "ProviderResult",
    "complete_text",
    "resolve_client",
]
