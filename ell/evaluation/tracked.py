"""Tracked plain functions: versioned and recorded like LMPs, without a model call.

This is ell-ai's `@ell.lmp.function.function()` (re-exported from `ell.lmp.function`), used for
labelers such as a metric that asks a critic LMP. `evaluation.run` also tracks a plain function it
is asked to evaluate, so its runs have a version to be attached to. The invocation's id is left in
`last_invocation` of the caller's context: that is how a run learns which call produced an output.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable, Optional, ParamSpec, TypeVar

from ..lmp import tracking
from ..types.lmp import Tracked, lmp_of

P = ParamSpec("P")
R = TypeVar("R")

#: The id of the last tracked-function call made in this context (None before any).
last_invocation: ContextVar[Optional[str]] = ContextVar("ell_last_tracked_function", default=None)


class TrackedFunction(Tracked[P, R]):
    """A plain function whose versions and calls are recorded (kind "function")."""

    __slots__ = ()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        kwargs.pop("_invocation_origin", None)
        call = tracking.PlainCall(self, args, kwargs)
        try:
            with call:
                result: R = self.func(*args, **kwargs)
                call.result = result
                return result
        finally:
            last_invocation.set(call.id if call.version is not None else None)


def function(*, exempt_from_tracking: bool = False, _exempt_from_logging: bool = False, type: Any = None,
             **function_kwargs: Any) -> Callable[[Callable[P, R]], TrackedFunction[P, R]]:
    """Decorate a plain function so its versions and calls are recorded (ell-ai's signature; `type`
    is accepted for compatibility and not needed: the kind is always "function")."""
    return lambda fn: track(fn, exempt_from_tracking=exempt_from_tracking)


def is_tracked(fn: Any) -> bool:
    return lmp_of(fn) is not None


def track(fn: Callable[P, R], *, exempt_from_tracking: bool = False) -> TrackedFunction[P, R]:
    """A tracked function calling `fn` that records each call as an invocation of kind "function"."""
    from ..versioning import qualified_name

    return TrackedFunction(fn, "function", qualified_name(fn), tracking.ArgBinder(fn),
                           exempt_from_tracking=exempt_from_tracking)
