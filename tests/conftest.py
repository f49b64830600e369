"""Shared fixtures: the local model server (ell.testing) and a clean ell configuration per test."""

from __future__ import annotations

import pytest

import ell

pytest_plugins = ["ell.testing.fixtures", "browser_fixtures"]


@pytest.fixture(autouse=True)
def clean_ell_config():
    """Each test starts with no store, no default client, no registry and default params."""
    cfg = ell.config
    saved = (dict(cfg.registry), cfg.default_client, dict(cfg.default_api_params), cfg.lazy_versioning, cfg.verbose)
    yield
    store = cfg.store
    cfg.store = None
    if store is not None:
        try:
            store.close()
        except Exception:
            pass
    cfg.registry.clear()
    cfg.registry.update(saved[0])
    cfg.default_client = saved[1]
    cfg.default_api_params.clear()
    cfg.default_api_params.update(saved[2])
    cfg.lazy_versioning, cfg.verbose = saved[3], saved[4]


@pytest.fixture
def memory_store(model_server):
    """ell configured against the local server with an in-memory store."""
    store = ell.MemoryStore()
    ell.init(store=store, default_client=model_server.client(max_retries=0))
    return store
