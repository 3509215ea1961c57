"""Field-name casing: proto-JSON accepts snake_case names, the rest of the simulator reads camelCase.

Only message fields are renamed. Values that are free-form JSON (function args and responses,
JSON Schemas, labels, enum values) keep their keys, and so do the property names of a Schema.
"""

from __future__ import annotations

import re
from typing import Any

_OPAQUE = frozenset(
    {
        "args",
        "response",
        "labels",
        "example",
        "default",
        "enum",
        "required",
        "propertyOrdering",
        "parametersJsonSchema",
        "responseJsonSchema",
        "partialArgs",
        "allowedFunctionNames",
        "stopSequences",
        "data",
    }
)
_NAMED_MAPS = frozenset({"properties"})
_SNAKE = re.compile(r"_([a-z0-9])")
_CAMEL = re.compile(r"([A-Z])")


def camel(name: str) -> str:
    return _SNAKE.sub(lambda match: match.group(1).upper(), name)


def snake(name: str) -> str:
    """The proto field name Google prints in error paths (`function_declarations`)."""
    return _CAMEL.sub(lambda match: "_" + match.group(1).lower(), name)


def normalize(value: Any) -> Any:
    """Return `value` with every message field name in camelCase (a new structure)."""
    if isinstance(value, list):
        return [normalize(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = camel(key)
        if name in _OPAQUE:
            out[name] = item
        elif name in _NAMED_MAPS and isinstance(item, dict):
            out[name] = {prop: normalize(schema) for prop, schema in item.items()}
        else:
            out[name] = normalize(item)
    return out
