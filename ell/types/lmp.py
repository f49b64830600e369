"""What every decorated function is: a `Tracked` object holding its configuration, and
`lmp_of(obj)`, the one way to find it (through bound methods and users' own wrappers).

The calling subclasses live in `ell.lmp` (`LMP`, `AsyncLMP`, `Tool`) and `ell.evaluation.tracked`;
this module imports nothing of ell, so the store (`ell_git`) can read an LMP's name from here.
ell-ai 0.0.17's `__ell_*__` attribute names stay readable as properties; the version cache
(`__ell_hash__`, `__ell_uses__`, `__ell_version__`) is set on the object by `ell.versioning`.
"""

from __future__ import annotations

import enum
import functools
import types
from typing import Any, Callable, Generic, Optional, ParamSpec, TypeVar, cast

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["LMPType", "Tracked", "lmp_of", "params_model_of"]


class LMPType(str, enum.Enum):
    """ell-ai's kinds of tracked function (`lmp.__ell_type__`; ell-ai's `ell.types.lmp.LMPType`)."""

    LM = "LM"
    TOOL = "TOOL"
    LABELER = "LABELER"
    FUNCTION = "FUNCTION"
    OTHER = "OTHER"


_TYPES = {"simple": LMPType.LM, "complex": LMPType.LM, "tool": LMPType.TOOL, "function": LMPType.FUNCTION}


class Tracked(Generic[P, R]):
    """A user's function made a tracked one: its configuration, and the function's own face
    (`__name__`, `__qualname__`, `__doc__`, `__module__`, `__wrapped__`, signature, pickling by
    reference, binding as a method). Subclasses add a typed `__call__`.

    The configuration lives in slots, so a user's `functools.wraps(lmp)` copies only the version
    cache from `__dict__`, as it copied the attributes of ell-ai's wrapper functions.
    """

    __slots__ = ("func", "kind", "name", "model", "api_params", "client", "tools", "binder",
                 "exempt_from_tracking", "__dict__", "__weakref__")

    func: Callable[..., Any]  # the user's function, as written
    kind: str  # "simple" | "complex" | "tool" | "function"
    name: str  # module.qualname: what versions and invocations are recorded under
    model: Optional[str]
    api_params: dict[str, Any]  # as given to the decorator
    client: Any
    tools: list[Any]
    binder: Any  # ell.lmp.tracking.ArgBinder: call arguments -> parameter names
    exempt_from_tracking: bool
    params_model: Optional[type] = None  # a tool's parameters (pydantic), set by ell.lmp.tool.Tool
    __name__: str  # these four are the function's (functools.update_wrapper)
    __qualname__: str
    __module__: str
    __wrapped__: Callable[..., Any]

    def __init__(self, func: Callable[..., Any], kind: str, name: str, binder: Any, *, model: Optional[str] = None,
                 api_params: Optional[dict[str, Any]] = None, client: Any = None, tools: Optional[list[Any]] = None,
                 exempt_from_tracking: bool = False) -> None:
        self.func, self.kind, self.name, self.binder = func, kind, name, binder
        self.model, self.api_params, self.client = model, dict(api_params or {}), client
        self.tools = list(tools or [])
        self.exempt_from_tracking = exempt_from_tracking
        functools.update_wrapper(cast(Any, self), func)  # __name__, __doc__, __wrapped__...: read by users, inspect

    # -- the function's face ------------------------------------------------------------------
    def __get__(self, instance: Any, owner: Optional[type] = None) -> Any:
        """Bound like a function: `agent.speak` is a method whose `__func__` is this object."""
        return self if instance is None else types.MethodType(cast(Any, self), instance)

    def __reduce__(self) -> str:
        return self.__qualname__  # pickled by reference, like the function it replaces

    def __repr__(self) -> str:  # as the function's: programs print tool calls with it, as with ell-ai
        return f"<function {self.__qualname__} at {id(self):#x}>"

    # -- ell-ai 0.0.17's attribute names ----------------------------------------------------
    @property
    def __ell_lmp__(self) -> bool:
        return True

    @property
    def __ell_type__(self) -> LMPType:
        return _TYPES.get(self.kind, LMPType.OTHER)

    @property
    def __ell_kind__(self) -> str:
        return self.kind

    @property
    def __ell_name__(self) -> str:
        return self.name

    @property
    def __ell_func__(self) -> Callable[..., Any]:
        return self.func

    @property
    def __ell_model__(self) -> Optional[str]:
        return self.model

    @property
    def __ell_api_params__(self) -> dict[str, Any]:
        return self.api_params

    @property
    def __ell_client__(self) -> Any:
        return self.client

    @property
    def __ell_tools__(self) -> list[Any]:
        return self.tools

    @property
    def __ell_binder__(self) -> Any:
        return self.binder

    @property
    def __ell_exempt_from_tracking__(self) -> bool:
        return self.exempt_from_tracking


def lmp_of(obj: object) -> Optional[Tracked[Any, Any]]:
    """The tracked function behind `obj`, or None: `obj` itself, the function of a bound method,
    or the one a user's decorator wraps (`functools.wraps` sets `__wrapped__`)."""
    try:
        for _ in range(100):
            if isinstance(obj, Tracked):
                return obj
            if isinstance(obj, types.MethodType):
                obj = obj.__func__
                continue
            obj = getattr(obj, "__wrapped__", None)
            if obj is None:
                return None
    except Exception:  # an object whose attribute lookup raises is no LMP
        return None
    return None


def params_model_of(obj: object) -> Optional[type]:
    """The pydantic model of a tool's parameters (`@ell.tool()`), None for anything else."""
    found = lmp_of(obj)
    return None if found is None else found.params_model
