"""The reference implementation: a Python with ell-ai 0.0.17, and the environment to run programs in.

ell-ai's package is also named `ell`, so it lives in its own virtualenv (`tests/run.sh` makes
bench/.venv-peer; ELL_AI_PYTHON points elsewhere) and always runs from outside this checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
MISSING = ("no ell-ai 0.0.17 interpreter: set ELL_AI_PYTHON, or run tests/run.sh (it creates bench/.venv-peer: "
           "python3 -m venv bench/.venv-peer && bench/.venv-peer/bin/pip install 'ell-ai[sqlite]==0.0.17')")


@lru_cache(maxsize=1)
def ell_ai_python() -> Optional[str]:
    """A Python whose `import ell` is ell-ai 0.0.17, or None."""
    for python in filter(None, (os.environ.get("ELL_AI_PYTHON"), str(ROOT / "bench" / ".venv-peer" / "bin" / "python"))):
        if not Path(python).exists():
            continue
        done = subprocess.run([python, "-c", "import ell; print(ell.__version__)"], cwd="/",
                              env=program_env(python, {}), capture_output=True, text=True, timeout=60)
        if done.returncode == 0 and done.stdout.strip() == "0.0.17":
            return python
    return None


def program_env(python: str, server_env: dict[str, str]) -> dict[str, str]:
    """The environment of a program run by `python` against the model server in `server_env`.

    No ell settings or endpoints of ours leak in; our interpreter imports this checkout's `ell`, any
    other never does. ell-ai asks version.ell.so for updates on its first verbose call: a dead proxy
    keeps the tests offline.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "ELL_", "PYTHONPATH", "NO_COLOR", "FORCE_COLOR"))}
    env.update(server_env, PYTHONDONTWRITEBYTECODE="1")
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost")
    if python == sys.executable:
        env["PYTHONPATH"] = str(ROOT)
    return env
