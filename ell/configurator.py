"""Global configuration: model registry, default client and params, the store, providers.

`ell.config` is the single instance; `ell.init(...)` sets it up. Client resolution for a model:
call-time `client=` > decorator `client=` > `config.register_model` > `init(default_client=)` >
an `openai.OpenAI()` built from the environment (OPENAI_API_KEY, OPENAI_BASE_URL).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .store import Store


class MissingAPIKeyError(RuntimeError):
    """No client could be built for a model because no API key is configured."""


class UnknownClientError(TypeError):
    """A client was given for which no provider is registered."""


@dataclass(frozen=True)
class _Model:
    name: str
    default_client: Any = None
    supports_streaming: Optional[bool] = None


class Config(BaseModel):
    """ell's configuration (one instance: `ell.config`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, validate_assignment=False, protected_namespaces=())

    registry: dict[str, _Model] = Field(default_factory=dict)
    verbose: bool = False
    wrapped_logging: bool = True
    override_wrapped_logging_width: Optional[int] = None
    store: Optional[Any] = None
    autocommit: bool = False
    lazy_versioning: bool = True
    default_api_params: dict[str, Any] = Field(default_factory=dict)
    default_client: Optional[Any] = None
    autocommit_model: str = "gpt-4o-mini"
    providers: dict[type, Any] = Field(default_factory=dict)

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _env_clients: dict[tuple[str, Optional[str]], Any] = PrivateAttr(default_factory=dict)

    def register_model(self, name: str, default_client: Any = None, supports_streaming: Optional[bool] = None) -> None:
        """Route calls of model `name` to `default_client` (any OpenAI-compatible client)."""
        with self._lock:
            self.registry[name] = _Model(name, default_client, supports_streaming)

    @contextmanager
    def model_registry_override(self, overrides: dict[str, _Model]) -> Iterator[None]:
        saved = dict(self.registry)
        self.registry.update(overrides)
        try:
            yield
        finally:
            self.registry.clear()
            self.registry.update(saved)

    def get_client_for(self, model_name: str) -> tuple[Any, bool]:
        """(client, fell_back): the registered client, else the default client (fell_back=True)."""
        entry = self.registry.get(model_name)
        if entry is not None and entry.default_client is not None:
            return entry.default_client, False
        return self.default_client, True

    def register_provider(self, provider: Any, client_type: type) -> None:
        if not isinstance(client_type, type):
            raise TypeError("client_type must be a class such as openai.OpenAI, not an instance")
        with self._lock:
            self.providers[client_type] = provider

    def get_provider_for(self, client: Any) -> Any:
        client_type = client if isinstance(client, type) else type(client)
        provider = self.providers.get(client_type)
        if provider is not None:
            return provider
        for provider_type, provider in self.providers.items():
            if issubclass(client_type, provider_type):
                return provider
        return None

    def env_client(self) -> Any:
        """An `openai.OpenAI` from the environment (one per key and URL); a clear error when no key is set.

        Async calls use a per-event-loop twin of it (`ell.providers.clients`)."""
        key, url = os.environ.get("OPENAI_API_KEY"), os.environ.get("OPENAI_BASE_URL")
        if not key:
            raise MissingAPIKeyError(
                "no API key: set OPENAI_API_KEY (and OPENAI_BASE_URL for Ollama, vLLM or OpenRouter), "
                "pass client=openai.OpenAI(...), or call ell.init(default_client=...); "
                "run `ell demo` to try ell offline"
            )
        with self._lock:
            client = self._env_clients.get((key, url))
            if client is None:
                import openai

                client = self._env_clients[(key, url)] = openai.OpenAI()
            return client


config = Config()


def get_store() -> Optional[Store]:
    return config.store


def register_provider(provider: Any, client_type: type) -> None:
    config.register_provider(provider, client_type)


def __getattr__(name: str) -> Any:
    # ell-ai programs import `init` and `set_store` from here; they live in `ell.startup`, above
    # the modules they configure (which read `config` from here).
    if name in ("init", "set_store"):
        import importlib

        return getattr(importlib.import_module("ell.startup"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
