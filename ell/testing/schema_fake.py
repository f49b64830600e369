"""Generate a deterministic JSON value that is valid for a JSON schema.

Used to fill tool-call arguments and structured-output (``json_schema``)
replies.  Covers the subset of JSON Schema that OpenAI structured outputs
and pydantic emit: object/properties/required/additionalProperties,
array/items/prefixItems/minItems/maxItems/uniqueItems, string (enum,
min/maxLength, a few formats), integer/number bounds and multipleOf,
boolean, null, enum, const, anyOf/oneOf (first usable branch), allOf
(merged), type lists, and ``$ref`` JSON pointers such as ``#/$defs/X`` and
``#/definitions/X``.  ``pattern`` and ``not`` are not honoured.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

__all__ = ["fake_instance", "SchemaError"]

# Beyond this nesting, optional properties are skipped, arrays shrink to
# minItems and nullable branches pick null, so recursive models terminate.
_MAX_DEPTH = 4

_FORMATS: dict[str, str] = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "duration": "P1D",
}


class SchemaError(ValueError):
    """The schema cannot be satisfied (or uses an unresolvable $ref)."""


def fake_instance(schema: Any, *, salt: int = 0) -> Any:
    """Return a value valid for ``schema``.

    ``salt`` varies strings, numbers, booleans and enum picks so that
    different salts give different (still valid) values, e.g. per choice.
    """
    return _Faker(schema).make(schema, salt=salt, depth=0, name=None)


class _Faker:
    def __init__(self, root: Any) -> None:
        self.root = root

    # -- schema plumbing -------------------------------------------------

    def resolve(self, schema: Any, seen: frozenset[str] = frozenset()) -> Any:
        """Follow ``$ref`` until a concrete schema; siblings of $ref win."""
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if ref in seen:
                break  # a self-referencing alias; leave it to the depth limit
            seen = seen | {ref}
            target = self._pointer(ref)
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if isinstance(target, Mapping) else target
        return schema

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise SchemaError(f"only local $ref are supported: {ref!r}")
        node = self.root
        for raw in [p for p in ref[1:].split("/") if p]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SchemaError(f"unresolvable $ref {ref!r}")
        return node

    def merge_all_of(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """Fold ``allOf`` parts into one schema (properties/required union)."""
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema.get("allOf", []):
            part = self.resolve(part)
            if not isinstance(part, Mapping):
                continue
            if "allOf" in part:
                part = self.merge_all_of(part)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
                else:
                    merged.setdefault(key, value)
        return merged

    # -- generation ------------------------------------------------------

    def make(self, schema: Any, *, salt: int, depth: int, name: str | None) -> Any:
        schema = self.resolve(schema)
        if schema is True or schema is None:
            schema = {}  # "anything goes": _kind falls back to a string
        if schema is False:
            raise SchemaError("schema `false` admits no value")
        if not isinstance(schema, Mapping):
            raise SchemaError(f"not a schema: {schema!r}")
        if "allOf" in schema:
            schema = self.merge_all_of(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if not options:
                raise SchemaError("empty enum")
            return options[salt % len(options)]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self._branch(schema, key, salt=salt, depth=depth, name=name)

        kind = self._kind(schema, depth)
        if kind == "object":
            return self._object(schema, salt=salt, depth=depth)
        if kind == "array":
            return self._array(schema, salt=salt, depth=depth, name=name)
        if kind == "string":
            return self._string(schema, salt=salt, name=name)
        if kind == "integer":
            return self._number(schema, salt=salt, integer=True)
        if kind == "number":
            return self._number(schema, salt=salt, integer=False)
        if kind == "boolean":
            return salt % 2 == 0
        return None

    def _kind(self, schema: Mapping[str, Any], depth: int) -> str:
        declared = schema.get("type")
        if isinstance(declared, list):
            concrete = [t for t in declared if t != "null"]
            if "null" in declared and (not concrete or depth >= _MAX_DEPTH):
                return "null"
            return concrete[0]
        if isinstance(declared, str):
            return declared
        # Untyped schemas: infer from the keywords present.
        if {"properties", "required", "additionalProperties"} & schema.keys():
            return "object"
        if {"items", "prefixItems", "minItems"} & schema.keys():
            return "array"
        if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} & schema.keys():
            return "number"
        return "string"

    def _branch(self, schema: Mapping[str, Any], key: str, *, salt: int, depth: int, name: str | None) -> Any:
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        branches = [self.resolve(b) for b in schema[key]]
        is_null = [isinstance(b, Mapping) and b.get("type") == "null" for b in branches]
        # Prefer a real value; fall back to null when deep (recursion guard).
        order = [i for i, null in enumerate(is_null) if not null]
        nulls = [i for i, null in enumerate(is_null) if null]
        order = nulls + order if depth >= _MAX_DEPTH else order + nulls
        last_error: SchemaError | None = None
        for i in order:
            branch = branches[i]
            merged = {**base, **branch} if isinstance(branch, Mapping) else branch
            try:
                return self.make(merged, salt=salt, depth=depth, name=name)
            except SchemaError as exc:
                last_error = exc
        raise last_error or SchemaError(f"empty {key}")

    def _object(self, schema: Mapping[str, Any], *, salt: int, depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties", {}) or {}
        required = list(schema.get("required", []) or [])
        keys = list(properties) if depth < _MAX_DEPTH else [k for k in properties if k in required]
        keys += [k for k in required if k not in keys]
        result: dict[str, Any] = {}
        for key in keys:
            sub = properties.get(key, schema.get("additionalProperties", True))
            result[key] = self.make(sub, salt=salt, depth=depth + 1, name=key)
        # Honour minProperties with extra keys only when extras are allowed.
        extra = schema.get("additionalProperties", True)
        i = 1
        while len(result) < int(schema.get("minProperties", 0)) and extra is not False:
            key = f"key{i}"
            if key not in result:
                result[key] = self.make(extra, salt=salt, depth=depth + 1, name=key)
            i += 1
        return result

    def _array(self, schema: Mapping[str, Any], *, salt: int, depth: int, name: str | None) -> list[Any]:
        prefix = list(schema.get("prefixItems", []) or [])
        items = schema.get("items", {} if not prefix else False)
        if isinstance(items, list):  # draft-4 tuple form
            prefix, items = items, schema.get("additionalItems", False)
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        count = max(low, len(prefix), 1 if depth < _MAX_DEPTH else 0)
        if items is False:
            count = max(low, len(prefix)) if prefix else low
        if high is not None:
            count = min(count, int(high))
        values: list[Any] = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else items
            # Salting each element keeps uniqueItems arrays unique.
            values.append(self.make(sub, salt=salt + i, depth=depth + 1, name=name))
        return values

    def _string(self, schema: Mapping[str, Any], *, salt: int, name: str | None) -> str:
        fmt = schema.get("format")
        if fmt in _FORMATS:
            return _FORMATS[fmt]
        text = f"example {name}" if name else "example"
        if salt:
            text += f" {salt}"
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None:
            text = text[: int(high)]
        return text

    def _number(self, schema: Mapping[str, Any], *, salt: int, integer: bool) -> int | float:
        lo, lo_open = _bound(schema, "minimum", "exclusiveMinimum", tighter=max)
        hi, hi_open = _bound(schema, "maximum", "exclusiveMaximum", tighter=min)
        multiple = schema.get("multipleOf")
        if integer or multiple:
            # Work in units of the step so salt moves between valid values.
            step = multiple or 1
            if integer and not float(step).is_integer():
                step = 1  # a fractional multipleOf with integers: any int that fits
            k_lo = None if lo is None else (math.floor(lo / step) + 1 if lo_open else math.ceil(lo / step))
            k_hi = None if hi is None else (math.ceil(hi / step) - 1 if hi_open else math.floor(hi / step))
            k = _spread(max(1, math.ceil(1 / step)), salt, k_lo, k_hi)
            return int(k * step) if integer else float(k * step)
        if lo is not None and hi is not None:
            if lo == hi:
                return float(lo)
            # Strictly inside the interval, a different point per salt.
            return lo + (hi - lo) * (salt + 1) / (salt + 2)
        if lo is not None:
            return float(max(1.5, lo + 1) + salt)
        if hi is not None:
            return float(min(1.5, hi - 1) - salt)
        return 1.5 + salt


def _spread(start: int, salt: int, low: int | None, high: int | None) -> int:
    """The ``salt``-th valid integer from ``start``, staying within bounds."""
    if low is not None and high is not None:
        if low > high:
            raise SchemaError("numeric bounds admit no value")
        start = min(max(start, low), high)
        return low + (start - low + salt) % (high - low + 1)
    if low is not None:
        return max(start, low) + salt
    if high is not None:
        return min(start, high) - salt
    return start + salt


def _bound(schema: Mapping[str, Any], closed_key: str, open_key: str, *, tighter: Any) -> tuple[float | None, bool]:
    """Return the effective (bound, is_exclusive) from closed/open keywords."""
    closed, open_ = schema.get(closed_key), schema.get(open_key)
    if open_ is True:  # draft-4: boolean flag turns the closed bound exclusive
        return closed, closed is not None
    if open_ is False or open_ is None:
        return closed, False
    if closed is None:
        return open_, True
    best = tighter(closed, open_)
    return best, best == open_  # on a tie the exclusive bound is the stricter
