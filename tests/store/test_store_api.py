"""The public surface of ell_git is exactly what is documented."""

from __future__ import annotations

import dataclasses
import inspect
import warnings

from store_helpers import make_inv, make_version

import ell
import ell_git
from ell_git import GitStore, Reader


def test_exported_names():
    assert sorted(ell_git.__all__) == sorted([
        "EllGitError", "GitStore", "InvocationDetail", "InvocationPage", "InvocationRow", "Lmp", "NewerFormatError", "NotFound",
        "Problems", "Reader", "SeriesPoint", "Stats", "Version", "VersionDiff", "VersionSource", "escape_name", "open_store",
        "unescape_name",
    ])
    for name in ell_git.__all__:
        assert getattr(ell_git, name) is not None


def test_reader_results_are_frozen_dataclasses_with_to_json():
    for name in ("InvocationDetail", "InvocationPage", "InvocationRow", "Lmp", "Problems", "SeriesPoint", "Stats",
                 "Version", "VersionDiff", "VersionSource"):
        cls = getattr(ell_git, name)
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen and callable(cls.to_json)


def test_reader_methods_are_documented():
    for name in ("lmps", "versions", "version", "diff", "invocations", "invocation", "stats", "graph",
                 "state_token", "changed_since", "cached_outputs", "refresh"):
        fn = getattr(Reader, name)
        assert fn.__doc__, name
        assert inspect.signature(fn).return_annotation is not inspect.Signature.empty, name


def test_store_protocol_and_open_store_signature(user_repo):
    params = inspect.signature(ell_git.open_store).parameters
    assert list(params)[:3] == ["path", "autocommit", "autocommit_model"]
    s = ell_git.open_store(user_repo, autocommit=False, autocommit_model="gpt-4o-mini")
    assert isinstance(s, GitStore) and isinstance(s, ell.Store)
    s.close()
    with warnings.catch_warnings(record=True) as caught:  # after close: warned once, never raised
        warnings.simplefilter("always")
        for i in range(3):
            s.record_invocation(make_inv(make_version(), i))
    assert len([w for w in caught if "closed" in str(w.message)]) == 1
