"""Tracked plain functions: versioned and recorded like LMPs, without a model call.

This is ell-ai's `@ell.lmp.function.function()` (re-exported from `ell.lmp.function`), used for
labelers such as a metric that asks a critic LMP. `evaluation.run` also tracks a plain function it
is asked to evaluate, so its runs have a version to be attached to. The invocation's id is left in
`last_invocation` of the caller's context: that is how a run learns which call produced an output.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from typing import Any, Callable, Optional, TypeVar

from ..lmp import tracking

F = TypeVar("F", bound=Callable[..., Any])

#: The id of the last tracked-function call made in this context (None before any).
last_invocation: ContextVar[Optional[str]] = ContextVar("ell_last_tracked_function", default=None)


def function(*, exempt_from_tracking: bool = False, _exempt_from_logging: bool = False, type: Any = None,
             **function_kwargs: Any) -> Callable[[F], F]:
    """Decorate a plain function so its versions and calls are recorded (ell-ai's signature; `type`
    is accepted for compatibility and not needed: the kind is always "function")."""
    return lambda fn: track(fn, exempt_from_tracking=exempt_from_tracking)  # type: ignore[return-value]


def is_tracked(fn: Any) -> bool:
    return getattr(fn, "__ell_lmp__", False) is True


def track(fn: Callable[..., Any], *, exempt_from_tracking: bool = False) -> Callable[..., Any]:
    """A wrapper of `fn` that records each call as an invocation of kind "function"."""
    from ..versioning import qualified_name

    binder = tracking.ArgBinder(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, _invocation_origin: Optional[str] = None, **kwargs: Any) -> Any:
        call = tracking.PlainCall(wrapper, args, kwargs)
        try:
            with call:
                call.result = fn(*args, **kwargs)
                return call.result
        finally:
            last_invocation.set(call.id if call.version is not None else None)

    w: Any = wrapper
    w.__ell_lmp__ = True
    w.__ell_kind__ = "function"
    w.__ell_name__ = qualified_name(fn)
    w.__ell_model__ = None
    w.__ell_api_params__ = {}
    w.__ell_func__ = fn
    w.__ell_binder__ = binder
    w.__ell_exempt_from_tracking__ = exempt_from_tracking
    return wrapper
