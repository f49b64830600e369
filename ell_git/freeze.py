"""``store.freeze(lmp, ...)``: serve recorded outputs for identical calls instead of the model.

A call is identical when its version id, its arguments and its bound globals are (the freeze key,
`ell.store.cache_key`, which the writer stores in every invocation line and the read cache
indexes). `ell` asks `is_frozen(name)` and then `cached_outputs(version_id, key)` on every call of
a frozen LMP; a miss means the model is called (and that call is recorded, so the next one hits).
"""

from __future__ import annotations

import collections
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from ell.types.lmp import lmp_of


def lmp_name(lmp: Any) -> str:
    """The qualified name `ell` records for a decorated function (or a name given as a string)."""
    if isinstance(lmp, str):
        return lmp
    found = lmp_of(lmp)
    if found is not None:
        return found.name
    return f"{getattr(lmp, '__module__', '?')}.{getattr(lmp, '__qualname__', str(lmp))}"


class Freezer:
    """Mixin for a store; the store provides `_lookup(version_id, key)` and `flush`."""

    def _init_freezer(self) -> None:
        self._frozen: collections.Counter[str] = collections.Counter()
        self._frozen_lock = threading.Lock()

    @contextmanager
    def freeze(self, *lmps: Any) -> Iterator[None]:
        """Within the block, calls of `lmps` identical to a recorded call return its outputs.
        Nests and works across threads (the set of frozen names is per store)."""
        names = [lmp_name(x) for x in lmps]
        with self._frozen_lock:
            self._frozen.update(names)
        try:
            yield
        finally:
            with self._frozen_lock:
                self._frozen.subtract(names)
                self._frozen += collections.Counter()  # drop zero counts

    def is_frozen(self, name: str) -> bool:
        return self._frozen.get(name, 0) > 0

    def cached_outputs(self, version_id: str, key: str) -> list[Any] | None:
        """JSON form of the outputs of the newest recorded, error-free identical call, or None."""
        try:
            found = self._lookup(version_id, key)
            if found is None:
                # The identical call may still be in the writer's queue: commit, then look again.
                self.flush(timeout=5.0)  # type: ignore[attr-defined]
                found = self._lookup(version_id, key)
            return found
        except Exception as exc:
            self._warn("freeze", f"freeze lookup failed ({exc}); calling the model instead")  # type: ignore[attr-defined]
            return None

    def _lookup(self, version_id: str, key: str) -> list[Any] | None:  # pragma: no cover - abstract
        raise NotImplementedError
