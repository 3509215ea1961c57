"""Deterministic example values that satisfy a Gemini `Schema` or a JSON Schema.

Used for function-call arguments and for JSON-mode answers, so a test can predict them:
strings are "example" (or "Paris" for place-like names), numbers 1, booleans true, enums their
first value, arrays one item (or `minItems`), objects their required properties.
"""

from __future__ import annotations

import math
from typing import Any

_MAX_DEPTH = 8
_MAX_ITEMS = 100
_MAX_LENGTH = 10_000
_PLACE_HINTS = ("city", "location", "place", "town", "country")
_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def example_value(schema: Any, *, all_properties: bool = False) -> Any:
    """A value valid against `schema`; `all_properties` fills optional properties too."""
    root = schema if isinstance(schema, dict) else {}
    return _value(schema, root, "", all_properties, 0)


def _value(schema: Any, root: dict[str, Any], key: str, every: bool, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return "example"
    schema = _resolve(schema, root)
    for union in ("anyOf", "oneOf"):
        branches = schema.get(union)
        if isinstance(branches, list) and branches:
            return _value(_first_non_null(branches), root, key, every, depth + 1)
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = _type_of(schema)
    if kind == "object":
        return _object(schema, root, every, depth)
    if kind == "array":
        return _array(schema, root, key, every, depth)
    if kind in ("integer", "number"):
        return _number(schema)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, key)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (`#/$defs/X` or `#/definitions/X`) once per level."""
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for step in ref[2:].split("/"):
        target = target.get(step) if isinstance(target, dict) else None
    return target if isinstance(target, dict) else {}


def _first_non_null(branches: list[Any]) -> Any:
    for branch in branches:
        if not (isinstance(branch, dict) and _type_of(branch) == "null"):
            return branch
    return branches[0]


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((item for item in kind if str(item).lower() != "null"), "null")
    if isinstance(kind, str):
        return kind.lower()
    if "properties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _object(schema: dict[str, Any], root: dict[str, Any], every: bool, depth: int) -> Any:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = [name for name in schema.get("required") or [] if isinstance(name, str)]
    if every:
        names = list(properties) + [name for name in required if name not in properties]
    else:
        names = required or list(properties)[:1]
    return {name: _value(properties.get(name), root, name, every, depth + 1) for name in names}


def _array(
    schema: dict[str, Any], root: dict[str, Any], key: str, every: bool, depth: int
) -> list[Any]:
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list) and prefix:
        return [_value(item, root, key, every, depth + 1) for item in prefix]
    count = min(max(1, _int(schema.get("minItems"), 1)), _MAX_ITEMS)
    maximum = schema.get("maxItems")
    if maximum is not None:
        count = min(count, _int(maximum, count))
    return [_value(schema.get("items"), root, key, every, depth + 1) for _ in range(count)]


def _number(schema: dict[str, Any]) -> int:
    value = 1
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float) and value < low:
        value = math.ceil(low)
    if isinstance(high, int | float) and value > high:
        value = math.floor(high)
    return value


def _string(schema: dict[str, Any], key: str) -> str:
    text = _FORMATS.get(str(schema.get("format", "")).lower())
    if text is None:
        text = "Paris" if any(hint in key.lower() for hint in _PLACE_HINTS) else "example"
    low, high = min(_int(schema.get("minLength"), 0), _MAX_LENGTH), schema.get("maxLength")
    text = text.ljust(low, "x")
    if high is not None:
        text = text[: _int(high, len(text))]
    return text


def _int(value: Any, default: int) -> int:
    """Schema bounds arrive as ints or int64 strings (proto-JSON); anything else is ignored."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
