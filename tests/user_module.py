"""Import a user's prompt module from source, the way a user editing one file gets successive versions."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType


def import_version(workdir: Path, module: str, source: str) -> ModuleType:
    """`source` written to ``<workdir>/<hash of source>/<module>.py`` and imported as `module` (replacing
    an earlier version in sys.modules). The same text reloads the same file, so versioning reads
    the source each version really had."""
    source = textwrap.dedent(source)
    d = workdir / hashlib.sha1(source.encode()).hexdigest()[:12]
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{module}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(module, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module] = mod
    spec.loader.exec_module(mod)
    return mod
