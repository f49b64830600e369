"""ell-ai programs that open `ell.stores.sql.SQLiteStore` record into the git store instead."""

from __future__ import annotations

import subprocess

import pytest

import ell
from ell.stores.sql import PostgresStore, SQLiteStore


def test_sqlite_store_opens_the_git_store(tmp_path, model_server):
    ell.init(store=SQLiteStore(str(tmp_path / "logdir")), default_client=model_server.client(max_retries=0))

    @ell.simple(model="m")
    def hi():
        return "hi"

    hi()
    ell.get_store().flush()
    refs = subprocess.run(["git", "-C", str(tmp_path / "logdir"), "for-each-ref", "--format=%(refname)"],
                          capture_output=True, text=True, check=True).stdout
    assert "refs/ell/lmp/" in refs and "refs/ell/inv/" in refs


def test_postgres_store_explains_the_alternative():
    with pytest.raises(NotImplementedError, match="ell push"):
        PostgresStore("postgresql://x")
