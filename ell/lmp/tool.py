"""`@ell.tool()`: a Python function a model may call, with a JSON schema from its type hints."""

from __future__ import annotations

import functools
import inspect
import json
from typing import Any, Callable, Optional

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from ..configurator import config
from ..types import ContentBlock, ToolResult
from ..types.lstr import lstr
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
            with tracking.PlainCall(wrapper, args, kwargs, api_params=tool_kwargs,
                                    extra_origins=(_tool_call_id,)) as call:
                call.result = fn(*args, **kwargs)
                if _tool_call_id:  # called for a model's tool call: answer with a ToolResult
                    return ToolResult(tool_call_id=_tool_call_id, result=_as_blocks(call.result, call.id))
                return call.result

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
