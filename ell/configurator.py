"""Global configuration: model registry, default client and params, the store, providers.

`ell.config` is the single instance; `ell.init(...)` sets it up. Client resolution for a model:
call-time `client=` > decorator `client=` > `config.register_model` > `init(default_client=)` >
an `openai.OpenAI()` built from the environment (OPENAI_API_KEY, OPENAI_BASE_URL).
"""

from __future__ import annotations

import os
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .store import Store

if TYPE_CHECKING:
    from .redaction import Rule


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


def init(
    store: Optional[Store | str | os.PathLike[str]] = None,
    verbose: bool = False,
    autocommit: bool = True,
    autocommit_model: str = "gpt-4o-mini",
    default_api_params: Optional[dict[str, Any]] = None,
    default_client: Optional[Any] = None,
    lazy_versioning: bool = True,
    redact: bool = True,
    redact_names: Iterable[str] = (),
    redact_rules: Iterable[Rule] = (),
    allow: Iterable[str] = (),
    otel: Optional[bool | Any] = None,
    record: Optional[str | float] = None,
) -> None:
    """Configure ell. `store` is a path (the enclosing git repository, created if missing) or a Store.

    `otel=True` (or env ``ELL_OTEL=1``) makes every call an OpenTelemetry span (GenAI conventions,
    see `ell.otel`); a TracerProvider as `otel` sends them there. `record` is the recording policy
    for the store (env ``ELL_RECORD``): ``"all"`` (default), a fraction such as ``0.05``,
    ``"errors"``, ``"errors+0.05"`` or ``"none"``; versions are always recorded and OpenTelemetry
    gets every call (see `ell.recording`).

    Secrets are redacted from everything recorded unless `redact=False` (see `ell.redaction`):
    `redact_names` adds secret names (``"ssn"``, ``"customer_email"``), `redact_rules` adds
    regular expressions (a group hides only group 1), ``(label, regex)`` pairs or callables
    returning the secret substrings of a text, and `allow` lists names and exact values that are
    never redacted. A git store adds its repository's ``git config ell.allow`` / ``ell.redact``.
    """
    from . import otel as otel_bridge
    from . import recording
    from .redaction import configure as configure_redaction

    configure_redaction(redact, redact_names, redact_rules, allow)
    recording.configure(record)
    otel_bridge.configure(otel)
    config.verbose = verbose
    config.lazy_versioning = lazy_versioning
    config.autocommit = autocommit
    config.autocommit_model = autocommit_model
    if default_api_params is not None:
        config.default_api_params.update(default_api_params)
    if default_client is not None:
        config.default_client = default_client
    set_store(store, autocommit=autocommit)


def set_store(store: Optional[Store | str | os.PathLike[str]], autocommit: Optional[bool] = None) -> None:
    """Replace the store (closing the previous one); a path opens the git store there."""
    previous = config.store
    if isinstance(store, (str, os.PathLike)):
        from ell_git import open_store  # lazily: ell itself knows only the protocol

        try:
            store = open_store(
                Path(store),
                autocommit=config.autocommit if autocommit is None else autocommit,
                autocommit_model=config.autocommit_model,
            )
        except Exception as exc:  # tracking never breaks the program: its calls run, unrecorded
            warnings.warn(f"ell: calls will not be recorded: {exc}", RuntimeWarning, stacklevel=3)
            store = None
        else:
            _add_repository_redaction(store)
    elif store is not None and not isinstance(store, Store):
        raise TypeError(f"store must be a path or implement ell.store.Store, got {type(store).__name__}")
    config.store = store
    if previous is not None and previous is not store:
        try:
            previous.close()
        except Exception:
            pass


def _add_repository_redaction(store: Any) -> None:
    """What the repository itself allows or hides (git config ``ell.allow`` / ``ell.redact``), so
    that recording and the push check agree."""
    try:
        from ell_git.secrets import repository_redaction

        from .redaction.policy import current, merged

        allowed, rules = repository_redaction(store.git_dir)
        if allowed or rules:
            merged(current(), allowed, rules)
    except Exception as exc:
        warnings.warn(f"ell: could not read this repository's redaction settings: {exc}", RuntimeWarning,
                      stacklevel=4)


def get_store() -> Optional[Store]:
    return config.store


def register_provider(provider: Any, client_type: type) -> None:
    config.register_provider(provider, client_type)
