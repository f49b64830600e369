"""Pytest fixtures for the fake model server.

Enable with ``pytest_plugins = ["ell.testing.fixtures"]`` in conftest.py.

* ``model_server_session`` – one server for the whole session (stable URL).
* ``model_server`` – that server, ``reset()`` before and after each test, so
  queue/script/requests never leak between tests; fails the test if a
  script raised inside the server.
* ``model_client`` / ``async_model_client`` – SDK clients (``max_retries=0``).
* ``model_env`` – sets ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` for the test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import pytest

from .server import ModelServer

if TYPE_CHECKING:
    import openai


@pytest.fixture(scope="session")
def model_server_session() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture
def model_server(model_server_session: ModelServer) -> Iterator[ModelServer]:
    server = model_server_session
    server.reset()
    yield server
    errors = server.errors
    server.reset()
    if errors:
        pytest.fail(f"ell.testing script raised inside the server: {errors[0]!r}", pytrace=False)


@pytest.fixture
def model_client(model_server: ModelServer) -> Iterator[openai.OpenAI]:
    client = model_server.client(max_retries=0, timeout=10)
    yield client
    client.close()


@pytest.fixture
def async_model_client(model_server: ModelServer) -> Any:
    # Not closed here: closing needs the test's event loop; the pool is GC'd.
    return model_server.async_client(max_retries=0, timeout=10)


@pytest.fixture
def model_env(model_server: ModelServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = model_server.env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
