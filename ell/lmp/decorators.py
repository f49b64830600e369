"""The LMP decorators: `@ell.complex`, `@ell.simple` and the seed's `@ell.lm`.

Each turns the user's prompt function into an `LMP[P, R]` (`ell.lmp.lmp`): the function's own
parameters, and `R` the answer's type: `lstr` for simple and lm (a `str` that remembers the call it
came from, so it types as `str` anywhere and keeps its origin for the next LMP), `Message` for
complex, or what `post_callback` returns. An `async def` gives an `AsyncLMP`, awaited for `R`.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar, cast, overload

from pydantic import BaseModel

from ..types import Message
from ..types.lmp import lmp_of
from ..types.lstr import lstr
from .call import LMPSpec
from .lmp import LMPDecorator, make_lmp

T = TypeVar("T")

#: The seed's default system prompt for `@ell.lm` functions without a docstring.
DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant."


def _check_tools(tools: Optional[list[Callable[..., Any]]]) -> list[Callable[..., Any]]:
    tools = list(tools or [])
    for t in tools:
        found = lmp_of(t)
        if found is None or found.kind != "tool":
            raise TypeError(f"tool {getattr(t, '__name__', t)!r} must be decorated with @ell.tool()")
    return tools


def _decorator(spec: LMPSpec, kind: str) -> LMPDecorator[Any]:
    return cast("LMPDecorator[Any]", lambda fn: make_lmp(fn, spec, kind))


@overload
def complex(model: Optional[str] = None, client: Any = None, tools: Optional[list[Callable[..., Any]]] = None,
            exempt_from_tracking: bool = False, post_callback: None = None,
            **api_params: Any) -> LMPDecorator[Message]: ...


@overload
def complex(model: Optional[str] = None, client: Any = None, tools: Optional[list[Callable[..., Any]]] = None,
            exempt_from_tracking: bool = False, *, post_callback: Callable[[Any], T],
            **api_params: Any) -> LMPDecorator[T]: ...


def complex(model: Optional[str] = None, client: Any = None, tools: Optional[list[Callable[..., Any]]] = None,
            exempt_from_tracking: bool = False, post_callback: Optional[Callable[[Any], Any]] = None,
            **api_params: Any) -> LMPDecorator[Any]:
    """An LMP returning the assistant `Message` (text, tool calls, parsed structured output, ...).

    `response_format=` a pydantic model gives `.parsed`; `tools=` a list of `@ell.tool()` functions.
    With `post_callback=`, the LMP returns what the callback makes of the message.
    """
    fmt = api_params.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) or (isinstance(fmt, type) and issubclass(fmt, BaseModel))):
        raise TypeError("response_format must be a pydantic model class or an OpenAI response_format dict")
    spec = LMPSpec(model=model, client=client, tools=_check_tools(tools), api_params=api_params,
                   exempt_from_tracking=exempt_from_tracking, post_callback=post_callback)
    return _decorator(spec, "complex")


def simple(model: Optional[str] = None, client: Any = None, exempt_from_tracking: bool = False,
           **api_params: Any) -> LMPDecorator[lstr]:
    """An LMP returning text (`lstr`); a list of texts when `n > 1`.

    The docstring is the system message (when not blank); the returned str is the user message,
    or return a list of `ell.system/user/assistant` messages.
    """
    if "tools" in api_params:
        raise TypeError("@ell.simple returns text only and takes no tools: use @ell.complex(tools=[...])")
    if "response_format" in api_params and not isinstance(api_params["response_format"], dict):
        # an OpenAI dict ({"type": "json_object"}) only shapes the text, so ell-ai allows it here
        raise TypeError("@ell.simple returns text only: use @ell.complex(response_format=...) for structured output")
    spec = LMPSpec(model=model, client=client, api_params=api_params, exempt_from_tracking=exempt_from_tracking,
                   text_output=True)
    return _decorator(spec, "simple")


def lm(model: Optional[str] = None, client: Any = None, exempt_from_tracking: bool = False,
       **api_params: Any) -> LMPDecorator[lstr]:
    """The seed's `@ell.lm`: `@ell.simple` with a default system prompt when there is no docstring."""
    spec = LMPSpec(model=model, client=client, api_params=api_params, exempt_from_tracking=exempt_from_tracking,
                   text_output=True, default_system=DEFAULT_SYSTEM_PROMPT)
    return _decorator(spec, "simple")


__all__ = ["complex", "simple", "lm", "DEFAULT_SYSTEM_PROMPT", "Message"]
