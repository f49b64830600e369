"""`@ell.tool()`: a Python function a model may call, with a JSON schema from its type hints."""

from __future__ import annotations

import functools
import inspect
import json
import time
from typing import Any, Callable, Optional

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from ..configurator import config
from ..store import InvocationRecord
from ..types import ContentBlock, ToolResult
from ..types.lstr import lstr, origin_ids
from . import tracking


def params_model(fn: Callable[..., Any]) -> type[BaseModel]:
    """A pydantic model of `fn`'s parameters (type hints + defaults + `Field(...)` descriptions)."""
    fields: dict[str, Any] = {}
    hints = _type_hints(fn)
    for name, p in inspect.signature(fn).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name not in hints:
            raise ValueError(
                f"tool {fn.__name__}: parameter {name!r} has no type annotation, so no JSON schema can say what "
                f"the model must send; annotate it, e.g. `{name}: str`"
            )
        default = p.default
        if isinstance(default, FieldInfo):
            fields[name] = (hints[name], default)
        elif default is not inspect.Parameter.empty:
            fields[name] = (hints[name], default)
        else:
            fields[name] = (hints[name], Field(...))
    return create_model(fn.__name__, **fields)


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    import typing

    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        return {k: v for k, v in getattr(fn, "__annotations__", {}).items()}


def _as_blocks(result: Any, origin: str) -> list[ContentBlock]:
    if isinstance(result, ContentBlock):
        return [result]
    if isinstance(result, list) and result and all(isinstance(c, ContentBlock) for c in result):
        return result
    if isinstance(result, str):
        return [ContentBlock(text=lstr(result, origin))]
    if isinstance(result, BaseModel):
        return [ContentBlock(text=lstr(result.model_dump_json(), origin))]
    try:
        text = json.dumps(result, ensure_ascii=False)
    except TypeError as exc:
        raise TypeError(f"a tool must return a str, JSON-serialisable data or ContentBlocks: {exc}") from None
    return [ContentBlock(text=lstr(text, origin))]


def tool(fn: Optional[Callable[..., Any]] = None, *, exempt_from_tracking: bool = False,
         **tool_kwargs: Any) -> Any:
    """Make `fn` a tool for `@ell.complex(tools=[...])`. Calls are tracked like LMP calls."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        from ..versioning import qualified_name

        model = params_model(fn)
        binder = tracking.ArgBinder(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, _tool_call_id: Optional[str] = None, _invocation_origin: Optional[str] = None,
                    **kwargs: Any) -> Any:
            inv_id = tracking.new_invocation_id()
            version = None
            if not exempt_from_tracking:
                try:
                    version = tracking.ensure_version(wrapper)
                except Exception as exc:
                    tracking.warn_once("version", f"versioning tool {fn.__qualname__} failed: {exc}")
            parent = tracking.current_invocation.get()
            token = tracking.current_invocation.set(inv_id)
            started, t0 = time.time(), time.perf_counter()
            error: Optional[BaseException] = None
            result: Any = None
            try:
                result = fn(*args, **kwargs)
                return ToolResult(tool_call_id=_tool_call_id, result=_as_blocks(result, inv_id)) if _tool_call_id else result
            except BaseException as exc:
                error = exc
                raise
            finally:
                tracking.current_invocation.reset(token)
                if version is not None and config.store is not None:
                    tracking.record(InvocationRecord(
                        id=inv_id, version_id=version.version_id, lmp_name=version.name,
                        args=binder.bind(args, kwargs), outputs=[] if error else [result],
                        api_params=dict(tool_kwargs), latency_ms=(time.perf_counter() - t0) * 1000.0,
                        started_at=started, parent_id=parent,
                        origin_ids=tuple(sorted(origin_ids((*args, *kwargs.values(), _tool_call_id)))),
                        bound_globals=tracking.snapshot(wrapper),
                        error=None if error is None else f"{type(error).__name__}: {error}",
                    ))

        w: Any = wrapper
        w.__ell_lmp__ = True
        w.__ell_kind__ = "tool"
        w.__ell_name__ = qualified_name(fn)
        w.__ell_model__ = None
        w.__ell_api_params__ = dict(tool_kwargs)
        w.__ell_tool_kwargs__ = tool_kwargs
        w.__ell_func__ = fn
        w.__ell_params_model__ = model
        w.__ell_binder__ = binder
        w.__ell_exempt_from_tracking__ = exempt_from_tracking
        w.get_params_model = lambda: model
        if not config.lazy_versioning and not exempt_from_tracking:
            from ..versioning import compute_version

            compute_version(wrapper)
        return wrapper

    return decorate(fn) if fn is not None else decorate
