"""`LMP[P, R]` and `AsyncLMP[P, R]`: what `@ell.simple`, `@ell.complex` and `@ell.lm` return.

Each keeps the user's parameters `P` for type checkers and editors, and calls return `R` (`lstr`
for simple and lm, `Message` for complex), or an awaitable of it for an `async def`. A call runs
one `Call`. Reserved call-time keywords, as in ell-ai: `api_params=`, `client=`, `lm_params=`
(alias), and `stream=` (unless the function has its own `stream` parameter); a type checker sees
only the function's own parameters (PEP 612 allows no keywords beside them).
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Concatenate, Coroutine, Optional, ParamSpec, Protocol, Self, TypeVar, overload

from ..configurator import config
from ..types.lmp import Tracked
from .call import Call, LMPSpec
from .tracking import ArgBinder

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")  # the instance an LMP method is bound to
Q = ParamSpec("Q")  # a method's parameters after `self`

__all__ = ["AsyncLMP", "LMP", "LMPDecorator", "make_lmp"]


class _Base(Tracked[P, R]):
    __slots__ = ("spec", "own_stream")

    spec: LMPSpec
    own_stream: bool  # the function has a `stream` parameter: `stream=` is its, not ell's


class LMP(_Base[P, R]):
    """A language model program: call it like the function; it returns the model's answer."""

    __slots__ = ()

    if TYPE_CHECKING:
        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...
    else:  # ell's call-time keywords as keyword parameters: the cheapest way to take them out
        def __call__(self, *args, api_params=None, client=None, lm_params=None, **kwargs):
            stream = False if self.own_stream else kwargs.pop("stream", False)
            return Call(self, self.spec, args, kwargs, api_params or lm_params, client).run(stream)

    @overload
    def __get__(self, instance: None, owner: Optional[type] = None) -> Self: ...

    @overload
    def __get__(self: LMP[Concatenate[S, Q], R], instance: S, owner: Optional[type] = None) -> Callable[Q, R]: ...

    def __get__(self, instance: Any, owner: Optional[type] = None) -> Any:
        return Tracked.__get__(self, instance, owner)


class AsyncLMP(_Base[P, R]):
    """An LMP of an `async def`: calling it gives an awaitable of the model's answer."""

    __slots__ = ()

    if TYPE_CHECKING:
        async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...
    else:
        async def __call__(self, *args, api_params=None, client=None, lm_params=None, **kwargs):
            stream = False if self.own_stream else kwargs.pop("stream", False)
            return await Call(self, self.spec, args, kwargs, api_params or lm_params, client).arun(stream)

    # Python 3.11's inspect.iscoroutinefunction knows no marker (3.12's markcoroutinefunction): it
    # is true of an object that looks like an async function, as the wrapper function was.
    @property
    def __code__(self) -> Any:
        return self.func.__code__

    @property
    def __defaults__(self) -> Any:
        return getattr(self.func, "__defaults__", None)

    @property
    def __kwdefaults__(self) -> Any:
        return getattr(self.func, "__kwdefaults__", None)

    @overload
    def __get__(self, instance: None, owner: Optional[type] = None) -> Self: ...

    @overload
    def __get__(self: AsyncLMP[Concatenate[S, Q], R], instance: S,
                owner: Optional[type] = None) -> Callable[Q, Coroutine[Any, Any, R]]: ...

    def __get__(self, instance: Any, owner: Optional[type] = None) -> Any:
        return Tracked.__get__(self, instance, owner)


class LMPDecorator(Protocol[R]):
    """What `ell.simple(...)` and `ell.complex(...)` return: applied to a function, its LMP."""

    @overload
    def __call__(self, fn: Callable[P, Coroutine[Any, Any, Any]]) -> AsyncLMP[P, R]: ...

    @overload
    def __call__(self, fn: Callable[P, Any]) -> LMP[P, R]: ...


def make_lmp(fn: Callable[..., Any], spec: LMPSpec, kind: str) -> LMP[Any, Any] | AsyncLMP[Any, Any]:
    """Wrap `fn` as a tracked LMP of `kind` ("simple" or "complex")."""
    from ..versioning import qualified_name

    cls: type[LMP[Any, Any]] | type[AsyncLMP[Any, Any]] = AsyncLMP if inspect.iscoroutinefunction(fn) else LMP
    binder = ArgBinder(fn)
    lmp = cls(fn, kind, qualified_name(fn), binder, model=spec.model, api_params=spec.api_params,
              client=spec.client, tools=spec.tools, exempt_from_tracking=spec.exempt_from_tracking)
    lmp.spec, lmp.own_stream = spec, "stream" in binder.names
    if isinstance(lmp, AsyncLMP) and hasattr(inspect, "markcoroutinefunction"):
        inspect.markcoroutinefunction(lmp)  # Python 3.12+: inspect.iscoroutinefunction(lmp) is True, as it was
    if not config.lazy_versioning and not spec.exempt_from_tracking:
        from ..versioning import compute_version

        compute_version(lmp)
    return lmp
