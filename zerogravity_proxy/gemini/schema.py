"""JSON Schema → Gemini's OpenAPI-subset `Schema` (protocols.md D.7).

We fill `parameters` rather than `parametersJsonSchema`: it is the one field every endpoint takes,
Cloud Code and its Claude models included. Gemini fails the *whole* request on a single unknown
keyword, so the output is built from an allow-list, never by deleting known-bad keys.

Where JSON Schema says more than the subset can, we keep the meaning as far as it goes:
- `$ref` is inlined (siblings of the `$ref` apply too, as in 2019-09+); a reference that is
  recursive, not a local pointer, or beyond the size guard becomes `{type: object}` plus a note.
- `allOf` branches are merged into their parent (properties and `required` unioned).
- `anyOf`/`oneOf` and `type` lists become `anyOf` whose branches each carry the parent's other
  keywords: A and (B or C) = (A and B) or (A and C). Gemini wants `anyOf` alone in its node. Null
  branches turn into `nullable` on the others, and a single branch left is the schema itself.
- Enums must be non-empty strings on a string schema. An enum (or `const`) that does not fit
  moves into the description ("Allowed values: ...") and the declared type stays, so a tool
  expecting `7` is not sent `"7"`. `null` members become `nullable`.
- `exclusiveMinimum`/`exclusiveMaximum` become the nearest inclusive bound: exact for integers,
  and for numbers looser by the boundary point itself.
- `format` survives only where Gemini documents it: `enum`/`date-time` on strings, `float`/
  `double` on numbers, `int32`/`int64` on integers.
- An array without a usable element schema gets `items: {type: string}`: Gemini rejects arrays
  without items, documents `type` as required, and any value can be carried as a string.
- Keywords are kept only on the type they apply to; a node without a type keeps only its
  annotations (its type is inferred from `properties`, `items` or the enum values first).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

Schema = dict[str, Any]

ALLOWED_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "items",
        "minItems",
        "maxItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "anyOf",
        "propertyOrdering",
    }
)
TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})

_FORMATS = {
    "string": frozenset({"enum", "date-time"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}
_COUNTS = {
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties"),
}
_JSON_KINDS = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))
# Guards against inputs that would exhaust the stack (deep nesting) or memory (a `$ref` or
# `anyOf` fan-out that doubles at every level); real tool schemas stay far below both.
_MAX_DEPTH = 64
_MAX_NODES = 10_000
_TRUNCATED = "Schema truncated: nested too deeply or too large to expand."


def sanitize_schema(schema: object) -> Schema:
    """A function's `parameters`: always an object schema, `{type: object, properties: {}}` at least."""
    out = _Sanitizer(schema, ordering=False).run()
    if "type" not in out and "anyOf" not in out:
        out = {"type": "object", **out}
    if out.get("type") == "object":
        out.setdefault("properties", {})
    return out


def sanitize_response_schema(schema: object) -> Schema:
    """`responseSchema`: any root type, with `propertyOrdering` from the properties' key order
    (Gemini otherwise orders output keys alphabetically). `{}` means "no constraint"."""
    return _Sanitizer(schema, ordering=True).run()


@dataclass(slots=True)
class _Sanitizer:
    root: object
    ordering: bool
    budget: int = _MAX_NODES

    def run(self) -> Schema:
        # The root counts as being expanded, so `{"$ref": "#"}` inside it is recursion.
        return self.convert(self.root, frozenset({id(self.root)}), 0)

    def convert(self, node: object, seen: frozenset[int], depth: int) -> Schema:
        """One schema node; `seen` holds the ids of the `$ref` targets being expanded above it."""
        if not isinstance(node, dict):
            return {}
        if not self._spend(depth):
            return _placeholder(node, _TRUNCATED)
        node, seen = self._inline(node, seen, depth)
        if alternatives := _alternatives(node):
            return _any_of([self.convert(a, seen, depth + 1) for a in alternatives])
        return self._single(node, seen, depth)

    def _spend(self, depth: int) -> bool:
        self.budget -= 1
        return self.budget >= 0 and depth <= _MAX_DEPTH

    def _inline(
        self, node: dict[str, Any], seen: frozenset[int], depth: int
    ) -> tuple[dict[str, Any], frozenset[int]]:
        """Fold the `$ref` target and the `allOf` branches into the node: all of them apply."""
        merged = {k: v for k, v in node.items() if k not in ("$ref", "allOf")}
        conjuncts = list(node["allOf"]) if isinstance(node.get("allOf"), list) else []
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = _resolve(self.root, ref)
            if target is None:
                return _placeholder(node, f"Unresolved reference {ref}."), seen
            if id(target) in seen:
                return _placeholder(node, f"Recursive reference {ref}, not expanded."), seen
            conjuncts.insert(0, target)
            seen |= {id(target)}
        for part in conjuncts:
            if not isinstance(part, dict):
                continue
            if self._spend(depth + 1):
                part, seen = self._inline(part, seen, depth + 1)
            else:
                part = _placeholder(part, _TRUNCATED)
            _merge(merged, part)
        return merged, seen

    def _single(self, node: dict[str, Any], seen: frozenset[int], depth: int) -> Schema:
        values, nullable = _enum_values(node)
        kind = _kind(node, values)
        out: Schema = {"type": kind} if kind else {}
        for key in ("title", "description"):
            if isinstance(node.get(key), str):
                out[key] = node[key]
        if nullable:
            out["nullable"] = True
        if values:
            _put_enum(out, kind, values)
        fmt = node.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS.get(kind or "", ()):
            out["format"] = fmt
        for key in _COUNTS.get(kind or "", ()):
            if _is_count(node.get(key)):
                out[key] = node[key]
        if kind == "string" and isinstance(node.get("pattern"), str):
            out["pattern"] = node["pattern"]
        if kind in ("number", "integer"):
            out |= _bounds(node, integer=kind == "integer")
        if kind == "array":
            out["items"] = self._items(node, seen, depth)
        if kind == "object":
            out |= self._object(node, seen, depth)
        return out

    def _items(self, node: dict[str, Any], seen: frozenset[int], depth: int) -> Schema:
        """One element schema; a tuple (`prefixItems`, or draft-4 `items: [...]`) becomes anyOf."""
        items = node.get("items")
        prefix = node.get("prefixItems")
        elements = [
            *(prefix if isinstance(prefix, list) else []),
            *(items if isinstance(items, list) else [items]),
        ]
        schemas = [e for e in elements if isinstance(e, dict)]
        if not schemas:
            return {"type": "string"}
        element = self.convert(
            schemas[0] if len(schemas) == 1 else {"anyOf": schemas}, seen, depth + 1
        )
        if "type" not in element and "anyOf" not in element:
            element = {"type": "string", **element}
        return element

    def _object(self, node: dict[str, Any], seen: frozenset[int], depth: int) -> Schema:
        out: Schema = {}
        raw = node.get("properties")
        properties = (
            {name: self.convert(value, seen, depth + 1) for name, value in raw.items()}
            if isinstance(raw, dict)
            else {}
        )
        if isinstance(raw, dict):
            out["properties"] = properties
        required = node.get("required")
        if isinstance(required, list):
            names = [r for r in required if isinstance(r, str) and r in properties]
            if names:
                out["required"] = list(dict.fromkeys(names))
        if self.ordering and properties:
            out["propertyOrdering"] = list(properties)
        return out


def _resolve(root: object, ref: str) -> dict[str, Any] | None:
    """A local JSON pointer (`#/$defs/Name`, `#/definitions/Name`, `#`); nothing is fetched."""
    if not ref.startswith("#"):
        return None
    pointer = unquote(ref[1:])
    if pointer and not pointer.startswith("/"):
        return None
    target = root
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict):
            target = target.get(token)
        elif isinstance(target, list) and token.isascii() and token.isdigit():
            index = int(token)
            target = target[index] if index < len(target) else None
        else:
            return None
    return target if isinstance(target, dict) else None


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    """Conjunction: properties and `required` are unioned; for anything else `into` wins."""
    for key, value in extra.items():
        mine = into.get(key)
        if key == "properties" and isinstance(mine, dict) and isinstance(value, dict):
            into[key] = mine | {k: v for k, v in value.items() if k not in mine}
        elif key == "required" and isinstance(mine, list) and isinstance(value, list):
            into[key] = mine + value
        else:
            into.setdefault(key, value)


def _alternatives(node: dict[str, Any]) -> list[dict[str, Any]]:
    """anyOf/oneOf branches (oneOf read as anyOf), else the members of a `type` list, each
    carrying the node's other keywords."""
    branches = [
        branch
        for key in ("anyOf", "oneOf")
        if isinstance(node.get(key), list)
        for branch in node[key]
        if isinstance(branch, dict)
    ]
    if not branches and isinstance(node.get("type"), list):
        branches = [{"type": t} for t in node["type"]]
    rest = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
    return [{**rest, **branch} for branch in branches]


def _any_of(branches: list[Schema]) -> Schema:
    flat = [b for branch in branches for b in branch.get("anyOf", [branch])]
    concrete = [b for b in flat if b.get("type") != "null"]
    if concrete and len(concrete) < len(flat):
        flat = [{**b, "nullable": True} for b in concrete]
    return flat[0] if len(flat) == 1 else {"anyOf": flat}


def _placeholder(node: dict[str, Any], note: str) -> Schema:
    description = node.get("description")
    return {"type": "object", "description": description if isinstance(description, str) else note}


def _enum_values(node: dict[str, Any]) -> tuple[list[Any], bool]:
    """The non-null `const`/`enum` values, and whether the node admits null."""
    nullable = node.get("nullable") is True
    if "const" in node:
        values = [node["const"]]
    elif isinstance(node.get("enum"), list):
        values = node["enum"]
    else:
        return [], nullable
    return [v for v in values if v is not None], nullable or None in values


def _kind(node: dict[str, Any], values: list[Any]) -> str | None:
    if isinstance(node.get("properties"), dict):
        return "object"
    declared = node.get("type")
    if isinstance(declared, str) and declared.lower() in TYPES:
        return declared.lower()
    if "items" in node or "prefixItems" in node:
        return "array"
    kinds = {_json_kind(v) for v in values}
    return kinds.pop() if len(kinds) == 1 else None


def _json_kind(value: object) -> str | None:
    return next((name for cls, name in _JSON_KINDS if isinstance(value, cls)), None)


def _put_enum(out: Schema, kind: str | None, values: list[Any]) -> None:
    if kind == "string" and all(isinstance(v, str) and v for v in values):
        out["enum"] = list(values)
        return
    hint = "Allowed values: " + ", ".join(json.dumps(v, default=str) for v in values) + "."
    out["description"] = f"{out['description']} {hint}" if "description" in out else hint


def _bounds(node: dict[str, Any], *, integer: bool) -> Schema:
    out: Schema = {}
    for key, exclusive_key, lower in (
        ("minimum", "exclusiveMinimum", True),
        ("maximum", "exclusiveMaximum", False),
    ):
        bound = _inclusive(node, key, exclusive_key, integer=integer, lower=lower)
        if bound is not None:
            out[key] = bound
    return out


def _inclusive(
    node: dict[str, Any], key: str, exclusive_key: str, *, integer: bool, lower: bool
) -> float | None:
    """The tightest inclusive bound implied by `key` and `exclusive_key` (a number, or the
    draft-4 boolean flag that makes `key` itself exclusive)."""
    bound = _finite(node.get(key))
    flag = node.get(exclusive_key)
    if flag is True:
        exclusive, bound = bound, None
    else:
        exclusive = _finite(flag)
    if exclusive is not None and integer:
        exclusive = math.floor(exclusive) + 1 if lower else math.ceil(exclusive) - 1
    candidates = [b for b in (bound, exclusive) if b is not None]
    if not candidates:
        return None
    return max(candidates) if lower else min(candidates)


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if isinstance(value, int) or math.isfinite(value) else None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
