"""Turning live Python values into canonical, JSON-safe data.

Used by stores, in the background, except `dumps_plain`, which is cheap enough for the caller's
path. Never raises: what cannot be represented becomes a marker string such as
``"<unserializable: socket>"``.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import math
from typing import Any

import orjson

#: Strings longer than this are cut (with a marker) in snapshots of globals and arguments.
MAX_STRING = 1_000_000
_MAX_DEPTH = 64
_MAX_ITEMS = 10_000

# orjson options for canonical bytes: sorted keys, no indentation, NaN refused (we map it first).
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
# orjson writes dataclass fields in definition order even with OPT_SORT_KEYS: hand them to `_default`.
_FAST = _CANONICAL | orjson.OPT_PASSTHROUGH_DATACLASS
_FAST_LINE = _FAST | orjson.OPT_APPEND_NEWLINE


def dumps(value: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, fixed separators) of any value. Never raises.

    Fast path: orjson walks dicts, lists, dataclasses and str subclasses in C and asks `_default`
    only for other objects (about 10x cheaper than `to_jsonable`, which matters because the store
    runs this in a thread that shares the GIL with the caller). What orjson refuses (integers
    beyond 64 bits, recursion, lone surrogates, odd dict keys) takes the careful path.
    """
    try:
        return orjson.dumps(value, default=_default, option=_FAST)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return orjson.dumps(to_jsonable(value), option=_CANONICAL)


def dumps_plain(value: Any, *, newline: bool = False) -> bytes | None:
    """`dumps(value)` if `value` holds only what orjson writes by itself (JSON types, str
    subclasses such as lstr, `orjson.Fragment`s, ...) and text-only messages; None for anything
    else. Cheap enough for the caller's thread: it never converts images or user objects, so a
    None means "leave it to `dumps` in the background". Where both succeed they give the same
    bytes. With `newline`, a JSON line."""
    try:
        return orjson.dumps(value, default=_plain_default, option=_FAST_LINE if newline else _FAST)
    except TypeError:
        return None


def dumps_spliced(value: dict[str, Any], parts: dict[str, bytes]) -> bytes:
    """`dumps({**value, **parts})` where `parts` are canonical JSON bytes already (spliced in, not
    encoded again)."""
    spliced = dict(value)
    for key, part in parts.items():
        spliced[key] = orjson.Fragment(part)
    try:
        return orjson.dumps(spliced, default=_default, option=_FAST)
    except TypeError:  # the careful path cannot read fragments: give it the parts as data
        return dumps({**value, **{k: orjson.loads(v) for k, v in parts.items()}})


def _plain_default(v: Any) -> Any:
    to_json = getattr(type(v), "__ell_plain_json__", None)
    plain = to_json(v) if to_json is not None else None
    if plain is None:
        raise TypeError("not plain")
    return plain


def _default(v: Any) -> Any:
    """orjson's hook for objects it does not know: the same conversions as `to_jsonable`."""
    try:
        return _default_of(v)
    except Exception:  # user objects may raise from any attribute lookup (__getattr__, properties)
        return opaque(v)


def _default_of(v: Any) -> Any:
    to_json = getattr(type(v), "__ell_json__", None)
    if to_json is not None:
        return to_json(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):  # as a dict, so its keys get sorted too
        return {f.name: getattr(v, f.name) for f in dataclasses.fields(v)}
    if isinstance(v, (set, frozenset)):
        return sorted(v, key=dumps)
    if isinstance(v, (bytes, bytearray, memoryview)) or isinstance(v, enum.Enum):
        return to_jsonable(v)
    if hasattr(v, "model_dump") and callable(v.model_dump):
        try:
            return v.model_dump(mode="json")
        except Exception:
            pass
    return _convert_container(v, MAX_STRING, 1, set())


def to_jsonable(value: Any, *, max_string: int = MAX_STRING) -> Any:
    """A JSON-safe deep copy of `value`. Recursion, NaN/inf, bytes and odd objects are all handled."""
    return _convert(value, max_string, 0, set())


def _convert(v: Any, max_string: int, depth: int, seen: set[int]) -> Any:
    if v is None or v is True or v is False:
        return v
    t = type(v)
    if t is int:
        return v if -(2**63) <= v < 2**64 else str(v)
    if t is float:
        return v if math.isfinite(v) else repr(v)  # 'nan', 'inf', '-inf'
    if isinstance(v, str):
        s = str.__str__(v)
        if len(s) > max_string:
            s = s[:max_string] + f"<...truncated {len(s) - max_string} chars>"
        # Lone surrogates cannot be encoded as UTF-8: replace them instead of failing.
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            s = s.encode("utf-8", "replace").decode("utf-8")
        return s
    if depth > _MAX_DEPTH:
        return "<too deep>"
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return _convert(int(v), max_string, depth, seen)
    if isinstance(v, float):
        return _convert(float(v), max_string, depth, seen)
    if isinstance(v, (bytes, bytearray, memoryview)):
        raw = bytes(v)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"__bytes_b64__": base64.b64encode(raw[:max_string]).decode("ascii")}
    if isinstance(v, enum.Enum):
        return _convert(v.value, max_string, depth, seen)
    oid = id(v)
    if oid in seen:
        return "<recursive>"
    seen.add(oid)
    try:
        return _convert_container(v, max_string, depth + 1, seen)
    except RecursionError:
        return "<too deep>"
    except Exception:  # user objects may raise from any attribute lookup (__getattr__, properties)
        return opaque(v)
    finally:
        seen.discard(oid)


def _convert_container(v: Any, max_string: int, depth: int, seen: set[int]) -> Any:
    to_json = getattr(type(v), "__ell_json__", None)
    if to_json is not None:  # ell's own types (Message, ContentBlock, ...)
        return _convert(to_json(v), max_string, depth, seen)
    if isinstance(v, dict):
        out = {}
        for i, (k, item) in enumerate(v.items()):
            if i >= _MAX_ITEMS:
                out["<truncated>"] = f"{len(v) - _MAX_ITEMS} more items"
                break
            out[k if isinstance(k, str) else _key(k)] = _convert(item, max_string, depth, seen)
        return out
    if isinstance(v, (list, tuple)):
        items = [_convert(x, max_string, depth, seen) for x in v[:_MAX_ITEMS]]
        if len(v) > _MAX_ITEMS:
            items.append(f"<truncated {len(v) - _MAX_ITEMS} more items>")
        return items
    if isinstance(v, (set, frozenset)):
        items = [_convert(x, max_string, depth, seen) for x in v]
        return sorted(items, key=lambda x: orjson.dumps(x, option=_CANONICAL))
    if hasattr(v, "model_dump") and callable(v.model_dump):  # pydantic v2 models
        try:
            return _convert(v.model_dump(mode="json"), max_string, depth, seen)
        except Exception:
            pass
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: _convert(getattr(v, f.name), max_string, depth, seen) for f in dataclasses.fields(v)}
    image = _image_to_data_url(v)
    if image is not None:
        return {"image_url": image}
    if hasattr(v, "tolist") and callable(v.tolist):  # numpy arrays and scalars
        try:
            return _convert(v.tolist(), max_string, depth, seen)
        except Exception:
            pass
    if callable(v) and hasattr(v, "__qualname__"):
        return f"<function {getattr(v, '__module__', '?')}.{v.__qualname__}>"
    return opaque(v)


def opaque(v: Any) -> str:
    """What an object with no data representation is recorded as."""
    return f"<unserializable: {type(v).__name__}>"


def _key(k: Any) -> str:
    if isinstance(k, int) and not isinstance(k, bool):
        return str(int(k))  # not orjson: it refuses integers beyond 64 bits, and the whole record was lost
    if isinstance(k, (float, bool)) or k is None:
        return orjson.dumps(k).decode()
    return str(k)


def _image_to_data_url(v: Any) -> str | None:
    """PIL images become PNG data URLs (ell's one converter); anything else returns None."""
    from .types.message import _is_pil_image, image_to_data_url

    if not _is_pil_image(v):
        return None
    try:
        return image_to_data_url(v)
    except Exception:
        return None
