"""The LMP decorators: `@ell.complex`, `@ell.simple` and the seed's `@ell.lm`.

Each wraps the user's prompt function in a typed wrapper (signature kept for editors) that runs a
`Call`. Reserved call-time keywords, as in ell-ai: `api_params=`, `client=`, `lm_params=` (alias),
and `stream=` (unless the function has its own `stream` parameter).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional, TypeVar

from pydantic import BaseModel

from ..configurator import config
from ..types import Message
from ..types.lstr import lstr
from .call import Call, LMPSpec
from .tracking import ArgBinder

F = TypeVar("F", bound=Callable[..., Any])

#: The seed's default system prompt for `@ell.lm` functions without a docstring.
DEFAULT_SYSTEM_PROMPT = "You are a helpful AI assistant."


def make_lmp(fn: Callable[..., Any], spec: LMPSpec, kind: str) -> Callable[..., Any]:
    """Wrap `fn` as a tracked LMP of `kind` ("simple" or "complex")."""
    from ..versioning import qualified_name

    binder = ArgBinder(fn)
    own_stream = "stream" in binder.names

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper(*args: Any, api_params: Optional[dict] = None, client: Any = None,
                          lm_params: Optional[dict] = None, **kwargs: Any) -> Any:
            stream = False if own_stream else kwargs.pop("stream", False)
            return await Call(wrapper, spec, args, kwargs, api_params or lm_params, client).arun(stream)

    else:

        @functools.wraps(fn)
        def wrapper(*args: Any, api_params: Optional[dict] = None, client: Any = None,
                    lm_params: Optional[dict] = None, **kwargs: Any) -> Any:
            stream = False if own_stream else kwargs.pop("stream", False)
            return Call(wrapper, spec, args, kwargs, api_params or lm_params, client).run(stream)

    w: Any = wrapper
    w.__ell_lmp__ = True
    w.__ell_kind__ = kind
    w.__ell_name__ = qualified_name(fn)
    w.__ell_model__ = spec.model
    w.__ell_api_params__ = dict(spec.api_params)
    w.__ell_client__ = spec.client
    w.__ell_tools__ = list(spec.tools)
    w.__ell_func__ = fn  # ell-ai's name for the user's function
    w.__ell_binder__ = binder
    w.__ell_exempt_from_tracking__ = spec.exempt_from_tracking
    if not config.lazy_versioning and not spec.exempt_from_tracking:
        from ..versioning import compute_version

        compute_version(wrapper)
    return wrapper


def _check_tools(tools: Optional[list[Callable[..., Any]]]) -> list[Callable[..., Any]]:
    tools = list(tools or [])
    for t in tools:
        if not hasattr(t, "__ell_params_model__"):
            raise TypeError(f"tool {getattr(t, '__name__', t)!r} must be decorated with @ell.tool()")
    return tools


def complex(model: Optional[str] = None, client: Any = None, tools: Optional[list[Callable[..., Any]]] = None,
            exempt_from_tracking: bool = False, post_callback: Optional[Callable[[Any], Any]] = None,
            **api_params: Any) -> Callable[[F], F]:
    """An LMP returning the assistant `Message` (text, tool calls, parsed structured output, ...).

    `response_format=` a pydantic model gives `.parsed`; `tools=` a list of `@ell.tool()` functions.
    """
    fmt = api_params.get("response_format")
    if fmt is not None and not (isinstance(fmt, dict) or (isinstance(fmt, type) and issubclass(fmt, BaseModel))):
        raise TypeError("response_format must be a pydantic model class or an OpenAI response_format dict")
    spec = LMPSpec(model=model, client=client, tools=_check_tools(tools), api_params=api_params,
                   exempt_from_tracking=exempt_from_tracking, post_callback=post_callback)
    return lambda fn: make_lmp(fn, spec, "complex")  # type: ignore[return-value]


def simple(model: Optional[str] = None, client: Any = None, exempt_from_tracking: bool = False,
           **api_params: Any) -> Callable[[Callable[..., Any]], Callable[..., lstr]]:
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
    return lambda fn: make_lmp(fn, spec, "simple")


def lm(model: Optional[str] = None, client: Any = None, exempt_from_tracking: bool = False,
       **api_params: Any) -> Callable[[Callable[..., Any]], Callable[..., lstr]]:
    """The seed's `@ell.lm`: `@ell.simple` with a default system prompt when there is no docstring."""
    spec = LMPSpec(model=model, client=client, api_params=api_params, exempt_from_tracking=exempt_from_tracking,
                   text_output=True, default_system=DEFAULT_SYSTEM_PROMPT)
    return lambda fn: make_lmp(fn, spec, "simple")


__all__ = ["complex", "simple", "lm", "DEFAULT_SYSTEM_PROMPT", "Message"]
