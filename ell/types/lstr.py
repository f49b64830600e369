"""`lstr`: a `str` that remembers which invocations produced it.

LMP outputs are `lstr`s; when one is passed into another LMP, the new invocation records the
origins, which is how the store draws "this output fed that call" edges.
"""

from __future__ import annotations

from typing import Any, Iterable, SupportsIndex

_EMPTY: frozenset[str] = frozenset()


def _origins(value: Any) -> frozenset[str]:
    return getattr(value, "__origin_trace__", _EMPTY)


class lstr(str):
    """A string with an origin trace: the ids of the invocations its text came from."""

    __slots__ = ("__origin_trace__",)

    def __new__(cls, content: object = "", origin_trace: str | Iterable[str] | None = None, *ell_ai_args: Any,
                logits: Any = None) -> "lstr":
        # ell-ai's signature is `_lstr(content, logits=None, origin_trace=None)` (logits unused there
        # too): accept its three-positional form and its `logits=` keyword; ours stays `(content, origin)`.
        if ell_ai_args:
            if len(ell_ai_args) > 1:
                raise TypeError(f"lstr() takes at most 3 positional arguments ({len(ell_ai_args) + 2} given)")
            origin_trace = ell_ai_args[0]
        self = super().__new__(cls, content)
        if origin_trace is None:
            trace = _origins(content)
        elif isinstance(origin_trace, str):
            trace = frozenset((origin_trace,))
        else:
            trace = frozenset(origin_trace)
        self.__origin_trace__ = trace
        return self

    @property
    def origin_trace(self) -> frozenset[str]:  # ell-ai's public accessor
        return self.__origin_trace__

    _origin_trace = origin_trace

    def __repr__(self) -> str:
        return str.__repr__(self)

    def __reduce__(self) -> Any:
        return (lstr, (str(self), tuple(sorted(self.__origin_trace__))))

    # -- operations that keep the trace -------------------------------------------------
    def __add__(self, other: object) -> "lstr":
        return lstr(str.__add__(self, str(other)), self.__origin_trace__ | _origins(other))

    def __radd__(self, other: object) -> "lstr":
        return lstr(str(other) + str(self), self.__origin_trace__ | _origins(other))

    def __mul__(self, n: SupportsIndex) -> "lstr":
        return lstr(str.__mul__(self, n), self.__origin_trace__)

    __rmul__ = __mul__

    def __mod__(self, args: Any) -> "lstr":
        trace = self.__origin_trace__
        for a in args if isinstance(args, tuple) else (args,):
            trace |= _origins(a)
        return lstr(str.__mod__(self, args), trace)

    def __getitem__(self, key: Any) -> "lstr":
        return lstr(str.__getitem__(self, key), self.__origin_trace__)

    def format(self, *args: Any, **kwargs: Any) -> "lstr":
        trace = self.__origin_trace__
        for a in (*args, *kwargs.values()):
            trace |= _origins(a)
        return lstr(str.format(self, *args, **kwargs), trace)

    def join(self, iterable: Iterable[str]) -> "lstr":
        parts = list(iterable)
        trace = self.__origin_trace__
        for p in parts:
            trace |= _origins(p)
        return lstr(str.join(self, parts), trace)

    def split(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list["lstr"]:  # type: ignore[override]
        return [lstr(p, self.__origin_trace__) for p in str.split(self, sep, maxsplit)]

    def rsplit(self, sep: str | None = None, maxsplit: SupportsIndex = -1) -> list["lstr"]:  # type: ignore[override]
        return [lstr(p, self.__origin_trace__) for p in str.rsplit(self, sep, maxsplit)]

    def splitlines(self, keepends: bool = False) -> list["lstr"]:  # type: ignore[override]
        return [lstr(p, self.__origin_trace__) for p in str.splitlines(self, keepends)]

    def partition(self, sep: str) -> tuple["lstr", "lstr", "lstr"]:  # type: ignore[override]
        trace = self.__origin_trace__ | _origins(sep)
        return tuple(lstr(p, trace) for p in str.partition(self, sep))  # type: ignore[return-value]

    def rpartition(self, sep: str) -> tuple["lstr", "lstr", "lstr"]:  # type: ignore[override]
        trace = self.__origin_trace__ | _origins(sep)
        return tuple(lstr(p, trace) for p in str.rpartition(self, sep))  # type: ignore[return-value]


def _wrap_method(name: str) -> None:
    base = getattr(str, name)

    def method(self: lstr, *args: Any, **kwargs: Any) -> lstr:
        return lstr(base(self, *args, **kwargs), self.__origin_trace__)

    method.__name__ = name
    method.__doc__ = base.__doc__
    setattr(lstr, name, method)


# str methods returning one new string keep the trace.
for _name in (
    "capitalize casefold center expandtabs ljust lower lstrip replace rjust rstrip strip swapcase "
    "title upper zfill removeprefix removesuffix"
).split():
    _wrap_method(_name)

_lstr = lstr  # ell-ai's name


def traced(text: str, origin_id: str | None) -> lstr:
    """`lstr(text, origin_id)` for a plain `text`, without the constructor's checks: ell makes one
    for every call's output."""
    s = _str_new(lstr, text)
    s.__origin_trace__ = frozenset((origin_id,)) if origin_id is not None else _EMPTY
    return s


def traced_by(text: str, origin_id: str) -> lstr:
    """`text` as an lstr traced to `origin_id` alone: `text` itself when it is one already."""
    if type(text) is lstr:
        trace = text.__origin_trace__
        if len(trace) == 1 and origin_id in trace:
            return text
    return lstr(text, origin_id)


_str_new = str.__new__


def origin_ids(values: Iterable[Any]) -> frozenset[str]:
    """Origins of every `lstr` among `values` (looking one level into lists, tuples and dicts)."""
    trace = _EMPTY
    for v in values:
        t = type(v)
        if t is lstr:
            trace |= v.__origin_trace__
        elif t is list or t is tuple:
            for x in v:
                if type(x) is lstr:
                    trace |= x.__origin_trace__
        elif t is dict:
            for x in v.values():
                if type(x) is lstr:
                    trace |= x.__origin_trace__
    return trace
