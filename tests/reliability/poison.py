"""Planting bad data with plain git, as a buggy or hostile client (or a hand edit) would: records
that are valid JSON but not the storage format, a ref pointing at a tree, a garbage meta.json."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from relhelpers import git

#: One line each; every one must be skipped, counted and named by readers.
BAD_LINES = [
    {"usage": "x"},                                   # the examples...
    {"cache_key": "not hex!"},
    {"latency_ms": "fast"},
    {"started_at": "yesterday"},
    {"messages": "hi"},
    {"origin_ids": [1, 2]},
    {"usage": {"total_tokens": "many"}},
    {"cached": "no"},
    {"id": 42},
    {"lmp_name": None},
]
RAW_BAD_LINES = [b"[1, 2, 3]", b"{not json", b'"just a string"']


def bad_lines(good: dict) -> list[bytes]:
    """Each bad change applied to a copy of a good record (each with its own id), plus raw garbage."""
    out = []
    for n, change in enumerate(BAD_LINES):
        out.append(json.dumps({**good, "id": f"inv-{n:032x}", **change}).encode())
    return out + RAW_BAD_LINES


def _tree_with(repo: Path, base_tree: str | None, path: str, blob: str) -> str:
    env = dict(os.environ, GIT_INDEX_FILE=str(repo / ".git" / "poison-index"))
    try:
        if base_tree:
            subprocess.run(["git", "read-tree", base_tree], cwd=repo, env=env, check=True)
        subprocess.run(["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"], cwd=repo, env=env,
                       check=True)
        return subprocess.run(["git", "write-tree"], cwd=repo, env=env, capture_output=True, text=True,
                              check=True).stdout.strip()
    finally:
        (repo / ".git" / "poison-index").unlink(missing_ok=True)


def add_segment(repo: Path, ref: str, version_id: str, lines: list[bytes]) -> str:
    """A new commit on invocation ref `ref` adding one segment holding `lines`."""
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"\n".join(lines) + b"\n").strip()
    tip = git(repo, "rev-parse", "--verify", "-q", ref, check=False).strip() or None
    tree = _tree_with(repo, f"{tip}^{{tree}}" if tip else None, f"2099-01/01/00/00/{version_id}/poison.jsonl", blob)
    commit = git(repo, "commit-tree", tree, *(["-p", tip] if tip else []), "-m", "Record 13 invocations").strip()
    git(repo, "update-ref", ref, commit)
    return f"2099-01/01/00/00/{version_id}/poison.jsonl"


def add_version_with_bad_meta(repo: Path, lmp_ref: str, meta: bytes, version_id: str = "lmp-0000000000000bad") -> str:
    """A new version commit on `lmp_ref` whose meta.json is `meta`; returns it."""
    tip = git(repo, "rev-parse", lmp_ref).strip()
    blob = git(repo, "hash-object", "-w", "--stdin", input=meta).strip()
    tree = _tree_with(repo, f"{tip}^{{tree}}", "meta.json", blob)
    msg = f"Update by hand\n\nEll-Version: {version_id}\nEll-Format: 1\n"
    commit = git(repo, "commit-tree", tree, "-p", tip, "-m", msg).strip()
    git(repo, "update-ref", lmp_ref, commit)
    return commit


def point_at_a_tree(repo: Path, ref: str, from_ref: str) -> None:
    """`ref` pointing at the tree of `from_ref` instead of a commit."""
    tree = git(repo, "rev-parse", f"{from_ref}^{{tree}}").strip()
    git(repo, "update-ref", ref, tree)
