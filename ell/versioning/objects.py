"""What an object in a closure is, and how it is written: LMP or not, import line, tool list.

Small pure helpers used by `closure.py`; nothing here walks or caches.
"""

from __future__ import annotations

import sys
import types
from typing import Any, Optional

from ..types.lmp import lmp_of
from .globals import module_kind
from .literals import is_constant, render_value
from .naming import module_name, qualified_name

__all__ = [
    "canonical_lmp", "imported_module", "imports_user_code", "is_lmp", "is_ref", "lmp_name", "owning_class",
    "is_typing", "placeholder_function", "ref_name", "render_param", "render_type", "tool_list", "render_tool_list", "snap_key", "synth_import",
    "sys_module", "unwrap_function",
]


def is_lmp(obj: Any) -> bool:
    return lmp_of(obj) is not None


def lmp_name(obj: Any) -> str:
    """The recorded name of an LMP (or of a user's wrapper around one), else its qualified name."""
    found = lmp_of(obj)
    return found.name if found is not None else qualified_name(obj)


def canonical_lmp(obj: Any) -> Any:
    """The innermost LMP wrapper (a user decorator with functools.wraps copies the ell attributes)."""
    for _ in range(100):
        inner = getattr(obj, "__wrapped__", None)
        if inner is None or not is_lmp(inner):
            return obj
        obj = inner
    return obj


def unwrap_function(obj: Any) -> Any:
    """Follow ``__wrapped__`` to the user's own function, stopping at other LMPs."""
    for _ in range(100):
        if isinstance(obj, types.MethodType):
            obj = obj.__func__
            continue
        inner = getattr(obj, "__wrapped__", None)
        if inner is None or is_lmp(inner):
            return obj
        obj = inner
    return obj


def owning_class(fn: Any) -> Optional[type]:
    """The class a function was defined in, found through its module and qualname (not in `<locals>`)."""
    parts = getattr(fn, "__qualname__", "").split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return None
    obj: Any = sys_module(getattr(fn, "__module__", None))
    for part in parts[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, type) else None


def snap_key(name: str, scope: str) -> str:
    return name if not scope else f"{scope}.{name}"


def sys_module(name: Optional[str]) -> Any:
    return sys.modules.get(name or "")


def imported_module(line: str) -> str:
    parts = line.split()
    return parts[1]


def imports_user_code(lines: tuple[str, ...]) -> bool:
    for line in lines:
        mod = imported_module(line)
        if mod.startswith(".") or module_kind(mod) == "user":
            return True
    return False


def synth_import(label: str, obj: Any) -> str:
    """An import line for a non-user object that the module's source did not show us importing."""
    mod = getattr(obj, "__module__", None) or "builtins"
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or label
    if "." in name:  # a nested qualname cannot be imported: say where it lives
        return f"# {label}: {mod}.{name}"
    top = mod.split(".", 1)[0]
    top_module = sys_module(top)
    if top_module is not None and getattr(top_module, name, None) is obj:
        mod = top  # `from pydantic import BaseModel`, not the internal `pydantic.main`
    short = label.rsplit(".", 1)[-1]
    return f"from {mod} import {name}" + ("" if short == name or "[" in short else f" as {short}")


def ref_name(obj: Any) -> str:
    if is_lmp(obj):
        return lmp_name(obj)
    return qualified_name(unwrap_function(obj))


def is_ref(obj: Any) -> bool:
    return is_lmp(obj) or isinstance(unwrap_function(obj), (types.FunctionType, type))


def tool_list(value: Any) -> Optional[list[Any]]:
    """The callables in a list/tuple/set/dict of tools or classes (constants allowed alongside)."""
    if isinstance(value, dict):
        items = list(value.values())
        if not all(is_constant(k) for k in value):
            return None
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        return None
    if not items or len(items) > 1000:
        return None
    refs = [i for i in items if is_ref(i)]
    if not refs or not all(is_ref(i) or is_constant(i) for i in items):
        return None
    if isinstance(value, (set, frozenset)):
        refs.sort(key=ref_name)  # functions hash by address: a set's order differs in every process
    return refs


def render_tool_list(value: Any) -> str:
    def one(v: Any) -> str:
        return ref_name(v) if is_ref(v) else render_value(v)

    if isinstance(value, dict):
        return "{" + ", ".join(f"{render_value(k)}: {one(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(one(v) for v in value)) + "}"  # set order depends on hashing
    inner = ", ".join(one(v) for v in value)
    return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"


def placeholder_function(fn: Any, qn: str) -> str:
    """What stands in for a function without source: its name, parameters and docstring.
    (Not the reason: it names files, and a version must not depend on where a file is.)"""
    import inspect

    params = "..."
    try:
        params = ", ".join(
            ("*" if p.kind == p.VAR_POSITIONAL else "**" if p.kind == p.VAR_KEYWORD else "") + p.name
            for p in inspect.signature(fn).parameters.values()
        )
    except (TypeError, ValueError):
        pass
    doc = getattr(fn, "__doc__", None)
    body = f"    {render_value(inspect.cleandoc(doc))}\n" if isinstance(doc, str) else ""
    name = getattr(fn, "__name__", "<unknown>")
    return f"# {qn}: source unavailable\ndef {name}({params}):\n{body}    ...\n"


def render_param(value: Any, _depth: int = 0) -> str:
    """A decorator argument as stable text: constants by value, functions/classes/LMPs by their
    qualified name (``__main__`` mapped, unlike a repr), anything else as canonical JSON."""
    if is_constant(value):
        return render_value(value)
    if is_lmp(value):
        return lmp_name(value)
    if isinstance(value, type) or isinstance(unwrap_function(value), types.FunctionType):
        return qualified_name(unwrap_function(value))
    if _depth < 10 and isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_param(v, _depth + 1) for v in value) + "]"
    if _depth < 10 and isinstance(value, dict):
        items = sorted((str(k), render_param(v, _depth + 1)) for k, v in value.items())
        return "{" + ", ".join(f"{render_value(k)}: {v}" for k, v in items) + "}"
    from ..serialize import dumps

    return dumps(value).decode()


def is_typing(value: Any) -> bool:
    return type(value).__module__ in ("typing", "typing_extensions", "types") or isinstance(
        value, (types.GenericAlias, types.UnionType)
    )


def render_type(value: Any, classes: list[type], _depth: int = 0) -> str:
    """A typing construct (``Optional[Answer]``, ``list[str]``) with user classes by qualified name.
    (Its repr would say ``__main__.Answer`` when run as a script.) Classes met are appended."""
    import typing

    if isinstance(value, list):  # Callable[[int, str], bool]
        return "[" + ", ".join(render_type(v, classes, _depth + 1) for v in value) + "]"
    if isinstance(value, type):
        if value.__module__ == "builtins":
            return value.__qualname__
        classes.append(value)
        return qualified_name(value)
    origin, args = typing.get_origin(value), typing.get_args(value)
    if origin is None or _depth > 10:
        return repr(value).replace("__main__.", module_name("__main__") + ".")
    head = getattr(origin, "_name", None) or getattr(origin, "__qualname__", None) or repr(origin)
    if not args:
        return head  # typing.List itself
    if origin is typing.Literal:
        inner = [render_value(a) if is_constant(a) else repr(a) for a in args]
    else:
        inner = [render_type(a, classes, _depth + 1) if a is not Ellipsis else "..." for a in args]
    return f"{head}[{', '.join(inner)}]"
