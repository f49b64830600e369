"""`ell.init` and `ell.set_store`: configure ell and open its store.

Above `ell.configurator` (the state) and the parts it sets up (redaction, recording policy,
OpenTelemetry). The one place `ell` imports `ell_git`: a path given as the store opens the git
store there, lazily, with ell's own model call for its commit messages.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

from .configurator import config
from .store import Store

if TYPE_CHECKING:
    from .redaction import Rule


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
                complete=complete_text,
            )
        except Exception as exc:  # tracking never breaks the program: its calls run, unrecorded
            warnings.warn(f"ell: calls will not be recorded: {exc}", RuntimeWarning, stacklevel=3)
            store = None
        else:
            _add_repository_redaction(store)
    elif store is not None and not isinstance(store, Store):
        raise TypeError(f"store must be a path or implement ell.store.Store, got {type(store).__name__}")
    elif getattr(store, "complete", False) is None:  # a git store built without a model call: ell's
        store.complete = complete_text  # type: ignore[union-attr]
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


def complete_text(model: str, system: str, user: str, *, timeout: float = 20.0) -> str:
    """`ell.providers.complete_text`, imported on first use: what the git store is given to ask a
    model for commit messages (in its background thread; `ell_git` never imports `ell.providers`)."""
    from .providers import complete_text as complete

    return complete(model, system, user, timeout=timeout)
