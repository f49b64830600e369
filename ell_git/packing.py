"""Packing on the writer's own schedule: `git gc --auto` only runs on the user's git commands, so a
service that never runs git would pile up loose objects."""

from __future__ import annotations

import shutil
import subprocess
import threading
from typing import Callable


class Packer:
    """About every `every` objects written, `git repack -d --geometric=2` in a background thread."""

    def __init__(self, git_dir: str, every: int, on_error: Callable[[str, str], None]) -> None:
        self.git_dir = git_dir
        self.every = every
        self.on_error = on_error
        self.loose = 0
        self._thread: threading.Thread | None = None

    def count(self, n: int) -> None:
        """`n` more objects were written."""
        self.loose += n
        if not self.every or self.loose < self.every or (self._thread and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self._pack_while_loose, name="ell-pack", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running repack to end (it is bounded: see `_pack`)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _pack_while_loose(self) -> None:
        # Objects written during a repack are left loose by it: pack again if enough came meanwhile.
        while self.loose >= self.every:
            self.loose = 0
            self._pack()

    def _pack(self) -> None:
        # Geometric repacking rolls loose objects and small packs up, keeping few packs; it
        # touches only objects, and git makes it safe against concurrent writers. One thread, at the
        # lowest priority: by default git compresses on every CPU, and on a small machine the user's
        # program then waits for the CPU it was using.
        cmd = ["git", "-c", "pack.threads=1", f"--git-dir={self.git_dir}", "repack", "-d", "-q", "--geometric=2"]
        if shutil.which("nice"):
            cmd = ["nice", "-n", "19", *cmd]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=3600)
        except (OSError, subprocess.SubprocessError) as exc:
            self.on_error("pack", f"could not pack objects ({exc}); run `git gc` now and then")
