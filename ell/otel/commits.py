"""Version id → the commit holding it, for the ``ell.version.commit`` span attribute.

The store writes a version's commit in the background after its first call, so the first spans
of a new version start before it exists. On the call path a dict is read (and, the first time a
version is seen, its ref); a miss asks a daemon thread to wait for the commit
(`Store.version_commit`, optional), and our own pipeline fills it into spans that ended before it
was known (`fill`). With a TracerProvider of the program's own, those first spans go without it.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Optional

from ..configurator import config

ATTR = "ell.version.commit"
VERSION = "ell.version.id"
NAME = "ell.lmp.name"
#: How long the exporter waits for a commit that is still being written (then exports without it).
WAIT = 2.0

_known: dict[str, str] = {}
_asked: set[str] = set()
_queue: "queue.SimpleQueue[tuple[str, str]]" = queue.SimpleQueue()
_thread: Optional[threading.Thread] = None
_lock = threading.Lock()


def get(name: str, version_id: str) -> Optional[str]:
    """The commit if known. The first time a version is seen it is looked up at once (a version
    written before, e.g. by an earlier run, is found; like versioning, once per version); if it is
    not written yet, a background lookup waits for it and None is returned meanwhile."""
    commit = _known.get(version_id)
    if commit is None and version_id not in _asked and hasattr(config.store, "version_commit"):
        commit = resolve(name, version_id, 0.0)
        if commit is None:
            _ask(name, version_id)
    return commit


def _ask(name: str, version_id: str) -> None:
    global _thread
    with _lock:
        if version_id in _asked:
            return
        _asked.add(version_id)
        _queue.put((name, version_id))
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="ell-otel-commits", daemon=True)
            _thread.start()


def _run() -> None:
    while True:
        name, version_id = _queue.get()
        resolve(name, version_id, WAIT * 5)


def resolve(name: str, version_id: str, wait: float) -> Optional[str]:
    """Look the commit up through the store (background threads only)."""
    commit = _known.get(version_id)
    if commit is not None:
        return commit
    lookup: Any = getattr(config.store, "version_commit", None)
    if lookup is None:
        return None
    try:
        commit = lookup(name, version_id, wait=wait)
    except Exception:
        commit = None
    if commit:
        _known[version_id] = commit
    else:
        with _lock:
            _asked.discard(version_id)  # asked again by a later call
    return commit


def fill(spans_attributes: list[dict[str, Any]]) -> None:
    """Add the version commit to the attributes of spans that ended without it (the pipeline's
    thread: may wait up to `WAIT` for a commit being written); each version is looked up once."""
    memo: dict[str, Optional[str]] = {}
    for attrs in spans_attributes:
        version_id = attrs.get(VERSION)
        if not version_id or ATTR in attrs:
            continue
        version_id = str(version_id)
        if version_id not in memo:
            memo[version_id] = resolve(str(attrs.get(NAME) or ""), version_id, WAIT)
        if memo[version_id]:
            attrs[ATTR] = memo[version_id]
