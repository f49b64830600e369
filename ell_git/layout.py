"""Where things live inside ell's trees, and building those trees.

Version commits (``refs/ell/lmp/<name>``) hold ``source.py``, ``closure.py`` and ``meta.json``.

Invocation commits (``refs/ell/inv/<writer>``) hold immutable JSONL segments, one per batch and
version, under a UTC time fan-out::

    YYYY-MM/DD/HH/MM/<version-id>/<batch-id>.jsonl
    YYYY-MM/DD/HH/MM/<version-id>/<batch-id>.blobs/<oid>     large payloads of that segment

Time comes first so every directory stays small (≤ 12 months, 31 days, 24 hours, 60 minutes,
the versions run in one minute, ~120 batches a minute): each commit rewrites only the few small
trees on its path, and the read cache finds new segments by diffing trees, which skips every
unchanged directory. A segment's path depends only on its batch (id, time, version), so a journal
replay can tell whether a batch is already committed by looking the path up.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Iterator

import orjson
import pygit2

from ell.records import FORMAT_VERSION

from .errors import NewerFormatError

#: Strings larger than this move to their own blob; data URLs (images) from this size on.
LARGE_STRING = 64 * 1024
LARGE_DATA_URL = 4 * 1024
#: Marker replacing a moved string: {"$ell_blob": "<oid>", "size": <chars>}.
BLOB_KEY = "$ell_blob"

SEGMENT_SUFFIX = ".jsonl"
BLOBS_SUFFIX = ".blobs"

BLOB = pygit2.enums.FileMode.BLOB
TREE = pygit2.enums.FileMode.TREE

CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def check_format(fmt: Any) -> None:
    try:
        newer = int(fmt) > FORMAT_VERSION
    except (TypeError, ValueError):
        return
    if newer:
        raise NewerFormatError(
            f"this repository holds ell format {fmt}, newer than {FORMAT_VERSION}: upgrade ell-git (pip install -U ell-git)"
        )


def check_commit_format(commit: pygit2.Commit) -> None:
    """Refuse to build on a history a newer ell-git wrote (its tip's ``Ell-Format`` trailer is newer):
    an older writer cannot know what its additions would mean there."""
    for line in reversed(commit.message.splitlines()):
        if line.startswith("Ell-Format: "):
            check_format(line[len("Ell-Format: ") :].strip())
            return


def time_dir(t: float) -> str:
    """``YYYY-MM/DD/HH/MM`` (UTC) for epoch seconds `t`."""
    g = time.gmtime(t)
    return f"{g.tm_year:04d}-{g.tm_mon:02d}/{g.tm_mday:02d}/{g.tm_hour:02d}/{g.tm_min:02d}"


def segment_path(batch_time: float, version_id: str, batch_id: str) -> str:
    return f"{time_dir(batch_time)}/{_safe_component(version_id)}/{batch_id}{SEGMENT_SUFFIX}"


def _safe_component(s: str) -> str:
    # Version ids are "lmp-<hex>"; anything else is made a legal single tree entry name.
    return s.replace("/", "%2F") if s and s not in (".", "..") else "%2E" + s


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=CANONICAL)


# -- trees ------------------------------------------------------------------------------------


def put(repo: pygit2.Repository, base: pygit2.Oid | None, files: dict[str, pygit2.Oid]) -> pygit2.Oid:
    """A tree equal to `base` (a tree id or None) plus `files` (path -> blob id), written."""
    nested: dict[str, Any] = {}
    for path, oid in files.items():
        node = nested
        *dirs, leaf = path.split("/")
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = oid
    return _put(repo, base, nested)


def _put(repo: pygit2.Repository, base: pygit2.Oid | None, nested: dict[str, Any]) -> pygit2.Oid:
    base_tree = repo[base] if base is not None else None
    tb = repo.TreeBuilder(base_tree) if base_tree is not None else repo.TreeBuilder()
    for name, value in nested.items():
        if isinstance(value, dict):
            sub = None
            if base_tree is not None and name in base_tree:
                entry = base_tree[name]
                sub = entry.id if entry.type_str == "tree" else None
            tb.insert(name, _put(repo, sub, value), TREE)
        else:
            tb.insert(name, value, BLOB)
    return tb.write()


def lookup(repo: pygit2.Repository, tree: pygit2.Oid | None, path: str) -> pygit2.Oid | None:
    """The id at `path` inside `tree`, or None."""
    if tree is None:
        return None
    obj: Any = repo[tree]
    for part in path.split("/"):
        if not isinstance(obj, pygit2.Tree) or part not in obj:
            return None
        obj = repo[obj[part].id]
    return obj.id


def iter_segments(repo: pygit2.Repository, tree: pygit2.Oid | None) -> Iterator[tuple[str, pygit2.Oid]]:
    """Every (path, blob id) of a segment in an invocation tree."""
    if tree is None:
        return
    stack: list[tuple[str, pygit2.Tree]] = [("", repo[tree])]
    while stack:
        prefix, t = stack.pop()
        for entry in t:
            path = prefix + entry.name
            if entry.type_str == "tree":
                if not entry.name.endswith(BLOBS_SUFFIX):
                    stack.append((path + "/", repo[entry.id]))
            elif entry.name.endswith(SEGMENT_SUFFIX):
                yield path, entry.id


# -- large payloads ---------------------------------------------------------------------------


def externalise(value: Any, blobs: dict[str, bytes]) -> Any:
    """`value` with big strings replaced by blob markers; their bytes collected in `blobs`
    (keyed by the git blob id they will get). Returns `value` itself when nothing is big."""
    if isinstance(value, str):
        n = len(value)
        if n >= LARGE_STRING or (n >= LARGE_DATA_URL and value.startswith("data:")):
            data = value.encode("utf-8")
            oid = str(pygit2.hash(data))
            blobs[oid] = data
            return {BLOB_KEY: oid, "size": n}
        return value
    if isinstance(value, dict):
        changed = None
        for k, v in value.items():
            nv = externalise(v, blobs)
            if nv is not v:
                if changed is None:
                    changed = dict(value)
                changed[k] = nv
        return value if changed is None else changed
    if isinstance(value, list):
        out = None
        for i, v in enumerate(value):
            nv = externalise(v, blobs)
            if nv is not v:
                if out is None:
                    out = list(value)
                out[i] = nv
        return value if out is None else out
    return value


def internalise(repo: pygit2.Repository, value: Any) -> Any:
    """The inverse of `externalise`: blob markers replaced by the strings they stand for."""
    if isinstance(value, dict):
        oid = value.get(BLOB_KEY)
        if isinstance(oid, str) and len(value) == 2 and "size" in value:
            try:
                return repo[oid].data.decode("utf-8")
            except (KeyError, ValueError):
                return f"<missing blob {oid}>"
        return {k: internalise(repo, v) for k, v in value.items()}
    if isinstance(value, list):
        return [internalise(repo, v) for v in value]
    return value


def has_blob_marker(line: bytes) -> bool:
    return BLOB_KEY.encode() in line


def write_segments(
    repo: pygit2.Repository, batch_id: str, batch_time: float, lines: Iterable[tuple[str, bytes]]
) -> dict[str, pygit2.Oid]:
    """Write the segment blobs (and large payload blobs) of one batch: path -> blob id.

    `lines` are (version id, canonical JSON line) in recording order. Deterministic: the same
    batch always gives the same paths and blob ids, which is what makes journal replay checkable.
    """
    groups: dict[str, list[bytes]] = {}
    big: dict[str, dict[str, bytes]] = {}
    for version_id, line in lines:
        if len(line) >= LARGE_DATA_URL:  # only a long line can hold a big string
            blobs: dict[str, bytes] = {}
            d = externalise(orjson.loads(line), blobs)
            if blobs:
                line = canonical(d)
                big.setdefault(version_id, {}).update(blobs)
        groups.setdefault(version_id, []).append(line)
    files: dict[str, pygit2.Oid] = {}
    for version_id, chunk in groups.items():
        path = segment_path(batch_time, version_id, batch_id)
        files[path] = repo.create_blob(b"\n".join(chunk) + b"\n")
        for oid, data in big.get(version_id, {}).items():
            files[f"{path[: -len(SEGMENT_SUFFIX)]}{BLOBS_SUFFIX}/{oid}"] = repo.create_blob(data)
    return files
