"""The semantics of ``store.freeze(lmp, ...)``, shared by every store (see `ell.store.Freezable`).

Within the block, a call of a frozen LMP identical to a recorded one (same version, arguments and
bound globals: `ell.records.cache_key`) returns the recorded outputs instead of calling the model.
"""

from __future__ import annotations

import collections
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

#: `lookup(version_id, key)`: the outputs of the newest error-free recorded call with that key, or None.
Lookup = Callable[[str, str], Optional[list[Any]]]


def lmp_name(lmp: Any) -> str:
    """The qualified name `ell` records for a decorated function (or a name given as a string)."""
    if isinstance(lmp, str):
        return lmp
    from .types.lmp import lmp_of  # lazily: `import ell` (and the writer process) stays free of pydantic

    found = lmp_of(lmp)
    name = found.name if found is not None else getattr(lmp, "__ell_name__", None)
    if name:
        return str(name)
    return f"{getattr(lmp, '__module__', '?')}.{getattr(lmp, '__qualname__', str(lmp))}"


class Freezer:
    """Which LMPs are frozen, and the lookup of their recorded outputs; a store holds one.

    `lookup` reads the store; `flush` (optional) makes records still queued readable, so a miss
    is looked up once more after it: the identical call may have been made a moment ago."""

    def __init__(self, lookup: Lookup, flush: Optional[Callable[..., Any]] = None) -> None:
        self._lookup = lookup
        self._flush = flush
        #: Frozen name -> how many blocks freeze it (a count, not a set: a name stays frozen until the
        #: outermost block freezing it exits). Names whose blocks all exited are removed.
        self.frozen: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    @contextmanager
    def freeze(self, *lmps: Any) -> Iterator[None]:
        """Freeze `lmps` (decorated functions or qualified names) within the block. Nests, and works
        across threads (the frozen names are per store)."""
        names = [lmp_name(x) for x in lmps]
        with self._lock:
            self.frozen.update(names)
        try:
            yield
        finally:
            with self._lock:
                self.frozen.subtract(names)
                self.frozen += collections.Counter()  # drop zero counts: membership means frozen

    def is_frozen(self, name: str) -> bool:
        return name in self.frozen

    def cached_outputs(self, version_id: str, key: str) -> list[Any] | None:
        """The recorded outputs for `key`, flushing and looking again on a miss; None: call the model."""
        found = self._lookup(version_id, key)
        if found is None and self._flush is not None:
            self._flush(timeout=5.0)
            found = self._lookup(version_id, key)
        return found
