"""`@ell.tool()`: a Python function a model may call, with a JSON schema from its type hints."""

from __future__ import annotations

import inspect
import json
from typing import Any, Callable, Optional, ParamSpec, TypeVar, cast, overload

from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from ..configurator import config
from ..types import ContentBlock, ToolResult
from ..types.lmp import Tracked
from ..types.lstr import lstr
from . import tracking

P = ParamSpec("P")
R = TypeVar("R")


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


class Tool(Tracked[P, R]):
    """A function a model may call (`@ell.tool()`): called directly, it returns what the function
    returns; called for a model's tool call (`_tool_call_id=`), a `ToolResult`."""

    __slots__ = ("params_model", "tool_kwargs")

    params_model: type[BaseModel]  # its parameters, for the JSON schema the model sees
    tool_kwargs: dict[str, Any]

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        tool_call_id = cast(Optional[str], kwargs.pop("_tool_call_id", None))
        kwargs.pop("_invocation_origin", None)
        with tracking.PlainCall(self, args, kwargs, api_params=self.tool_kwargs,
                                extra_origins=(tool_call_id,)) as call:
            call.result = self.func(*args, **kwargs)
            if tool_call_id:  # called for a model's tool call: answer with a ToolResult
                return ToolResult(tool_call_id=tool_call_id, result=_as_blocks(call.result, call.id))  # type: ignore[return-value]
            result: R = call.result
            return result

    def get_params_model(self) -> type[BaseModel]:
        return self.params_model

    @property
    def __ell_params_model__(self) -> type[BaseModel]:
        return self.params_model

    @property
    def __ell_tool_kwargs__(self) -> dict[str, Any]:
        return self.tool_kwargs


@overload
def tool(fn: Callable[P, R], *, exempt_from_tracking: bool = False, **tool_kwargs: Any) -> Tool[P, R]: ...


@overload
def tool(fn: None = None, *, exempt_from_tracking: bool = False,
         **tool_kwargs: Any) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(fn: Optional[Callable[P, R]] = None, *, exempt_from_tracking: bool = False,
         **tool_kwargs: Any) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Make `fn` a tool for `@ell.complex(tools=[...])`. Calls are tracked like LMP calls."""

    def decorate(fn: Callable[P, R]) -> Tool[P, R]:
        from ..versioning import qualified_name

        model = params_model(fn)
        made: Tool[P, R] = Tool(fn, "tool", qualified_name(fn), tracking.ArgBinder(fn), api_params=tool_kwargs,
                                exempt_from_tracking=exempt_from_tracking)
        made.params_model, made.tool_kwargs = model, tool_kwargs
        if not config.lazy_versioning and not exempt_from_tracking:
            from ..versioning import compute_version

            compute_version(made)
        return made

    return decorate(fn) if fn is not None else decorate
