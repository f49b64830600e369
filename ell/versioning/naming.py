"""Fully qualified names of tracked functions: ``module.qualname``.

Called by the decorators at decoration time, so it must be cheap (no source, no parsing). A script
run as ``python prompts.py`` has ``__module__ == "__main__"``; it is named after its file stem
(``prompts``) so that running the script and importing it give one history. Notebooks are named
after the notebook when the front end says which one it is.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["qualified_name", "module_name"]

_main_cache: tuple[int, str] | None = None


def _main_name() -> str:
    """What `__main__` stands for: ``python -m pkg.mod`` -> pkg.mod, a script -> its stem."""
    global _main_cache
    main = sys.modules.get("__main__")
    key = id(main)
    if _main_cache is not None and _main_cache[0] == key:
        return _main_cache[1]
    name = "__main__"
    spec = getattr(main, "__spec__", None)
    file = getattr(main, "__file__", None)
    notebook = getattr(main, "__vsc_ipynb_file__", None) or os.environ.get("JPY_SESSION_NAME")
    if spec is not None and getattr(spec, "name", None) and spec.name != "__main__":
        name = spec.name
    elif file:
        name = _stem(file)
    elif notebook:
        name = _stem(notebook)
    _main_cache = (key, name)
    return name


def _stem(path: str) -> str:
    base = os.path.basename(path)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return stem or "__main__"


def module_name(module: str | None) -> str:
    """The module part of a qualified name (`__main__` mapped, unknown modules marked)."""
    if module == "__main__":
        return _main_name()
    return module or "<unknown>"


def qualified_name(fn: Any) -> str:
    """``module.qualname`` of a function, class or LMP wrapper (`__main__` mapped to the script)."""
    module = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__qualname__
    return f"{module_name(module)}.{qual}"
