"""Typed access to the fields of an OpenAI request body, raising the 400 OpenAI would.

Every check names the field as the client wrote it (`where` is the path to the object holding
`key`, "" at the top level), so a malformed request is refused before anything is sent, with a
`param` the client can act on. Absent and null fields read as None: OpenAI treats them alike.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from zerogravity_proxy.gemini.spec import JSON
from zerogravity_proxy.openai.errors import OpenAIError, invalid_request


def typed[T](obj: JSON, key: str, where: str, kind: type[T], expected: str) -> T | None:
    """`obj[key]` if it has the JSON type `kind` (a bool is no number); absent and null: None."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise invalid_type(_param(where, key), expected, value)


def required[T](obj: JSON, key: str, where: str, kind: type[T], expected: str) -> T:
    """As `typed`, but absent or null is a `missing_required_parameter` error."""
    value = typed(obj, key, where, kind, expected)
    if value is None:
        param = _param(where, key)
        raise invalid_request(
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    return value


def number(body: JSON, key: str, low: float, high: float) -> float | None:
    """A top-level number within [low, high] (sampling parameters), or None."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_type(key, "a number", value)
    if not low <= value <= high:
        raise invalid_request(
            f"Invalid value for '{key}': expected a number from {low:g} to {high:g}, got {value}.",
            param=key,
            code="invalid_value",
        )
    return value


def integer(body: JSON, key: str, low: int | None = None, high: int | None = None) -> int | None:
    """A top-level integer within the bounds given, or None."""
    value = typed(body, key, "", int, "an integer")
    if value is None:
        return None
    too_low = low is not None and value < low
    too_high = high is not None and value > high
    if too_low or too_high:
        bounds = f"at least {low}" if high is None else f"from {low} to {high}"
        raise invalid_request(
            f"Invalid value for '{key}': expected an integer {bounds}, got {value}.",
            param=key,
            code="invalid_value",
        )
    return value


def option(value: str, options: Mapping[str, str], param: str) -> str:
    """What `options` maps `value` to: an OpenAI enum value → its Gemini counterpart."""
    if value not in options:
        raise invalid_request(
            f"Invalid value for '{param}': {value!r}. "
            f"Supported values are: {', '.join(repr(o) for o in options)}.",
            param=param,
            code="invalid_value",
        )
    return options[value]


def one_of(obj: JSON, key: str, where: str, values: Sequence[str]) -> str | None:
    """`obj[key]` if it is one of `values` (an enum kept as the client wrote it), or None."""
    value = typed(obj, key, where, str, "a string")
    if value is None:
        return None
    option(value, dict(zip(values, values, strict=True)), _param(where, key))
    return value


def part_type(part: object, where: str, kinds: Collection[str]) -> str:
    """The `type` of a content part (or item), which must be one of `kinds` at this place."""
    if not isinstance(part, dict):
        raise invalid_type(where, "an object", part)
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in kinds:
        raise invalid_request(
            f"Invalid value for '{where}.type': {show(kind)}. "
            f"Supported values here are: {', '.join(repr(k) for k in kinds)}.",
            param=f"{where}.type",
            code="invalid_value",
        )
    return kind


def invalid_type(param: str, expected: str, value: object) -> OpenAIError:
    """The `invalid_type` error OpenAI gives for a field of the wrong JSON type."""
    return invalid_request(
        f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
        param=param,
        code="invalid_type",
    )


def show(value: object) -> str:
    """A value for an error message: a string quoted, anything else by its JSON type."""
    return repr(value) if isinstance(value, str) else _json_type(value)


def _param(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
