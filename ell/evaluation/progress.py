"""A small stderr progress bar for evaluation runs (no tqdm dependency).

On a terminal the bar redraws in place; elsewhere (CI logs, pytest) it writes a line at most every
few seconds and one at the end, so logs stay readable.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

WIDTH = 24


class Progress:
    """Thread-safe counter of finished datapoints, drawn on `stream` (default stderr)."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label, self.total = label, total
        self.stream = stream if stream is not None else sys.stderr
        self.done = self.failed = 0
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._last_draw = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._every = 0.1 if self._tty else 5.0
        self._draw(force=self._tty)

    def advance(self, failed: bool = False) -> None:
        with self._lock:
            self.done += 1
            self.failed += int(failed)
            self._draw(force=self.done == self.total)

    def close(self) -> None:
        with self._lock:
            if self.done != self.total:  # interrupted: still end the line
                self._draw(force=True)

    def line(self) -> str:
        frac = self.done / self.total if self.total else 1.0
        filled = int(frac * WIDTH)
        elapsed = time.monotonic() - self._t0
        rate = f"{self.done / elapsed:.1f}/s" if elapsed > 0 and self.done else "-/s"
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total} "
                f"{frac:4.0%} {elapsed:.1f}s {rate}{failed}")

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < self._every:
            return
        self._last_draw = now
        end = "\n" if self.done == self.total or not self._tty else ""
        try:
            self.stream.write(("\r\x1b[2K" if self._tty else "") + self.line() + end)
            self.stream.flush()
        except (OSError, ValueError):  # a closed stderr must not fail the evaluation
            pass
