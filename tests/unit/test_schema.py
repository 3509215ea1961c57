"""JSON Schema → Gemini Schema: the F.3 item 11 cases exactly, plus properties over any input."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerogravity_proxy.gemini.schema import (
    ALLOWED_KEYS,
    TYPES,
    sanitize_response_schema,
    sanitize_schema,
)

JSON = dict[str, Any]


def obj(**properties: JSON) -> JSON:
    return {"type": "object", "properties": properties}


def test_missing_or_empty_schema_is_an_empty_object() -> None:
    schemas: list[object] = [None, {}, "nope", [], {"$schema": "http://json-schema.org/draft-07/"}]
    for schema in schemas:
        assert sanitize_schema(schema) == {"type": "object", "properties": {}}


def test_typeless_root_becomes_an_object() -> None:
    assert sanitize_schema({"description": "d", "additionalProperties": False}) == {
        "type": "object",
        "description": "d",
        "properties": {},
    }


def test_zod_positive_and_bounds() -> None:
    # zod-to-json-schema: z.number().positive(), z.number().int().positive().lt(10)
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "price": {"type": "number", "exclusiveMinimum": 0},
            "count": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
            "ratio": {"type": "number", "minimum": 0.5, "exclusiveMinimum": 0, "maximum": 1},
            "legacy": {"type": "integer", "minimum": 3, "exclusiveMinimum": True},
        },
        "required": ["price", "count"],
        "additionalProperties": False,
    }
    assert sanitize_schema(schema) == {
        "type": "object",
        "properties": {
            "price": {"type": "number", "minimum": 0},
            "count": {"type": "integer", "minimum": 1, "maximum": 9},
            "ratio": {"type": "number", "minimum": 0.5, "maximum": 1},
            "legacy": {"type": "integer", "minimum": 4},
        },
        "required": ["price", "count"],
    }


def test_pydantic_optional_becomes_nullable() -> None:
    # pydantic v2: q: Optional[str] = Field(None, description="query")
    schema = {
        "properties": {
            "q": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "description": "query",
                "title": "Q",
            }
        },
        "title": "Args",
        "type": "object",
    }
    assert sanitize_schema(schema) == {
        "type": "object",
        "title": "Args",
        "properties": {
            "q": {"type": "string", "title": "Q", "description": "query", "nullable": True}
        },
    }


def test_literal_const_and_enums() -> None:
    schema = obj(
        mode={"const": "fast", "type": "string"},
        either={"enum": ["a", "b"]},
        maybe={"enum": ["a", None]},
        level={"type": "integer", "enum": [1, 2, 3], "description": "Level."},
        flag={"const": True},
        blank={"type": "string", "enum": ["", "x"]},
    )
    assert sanitize_schema(schema)["properties"] == {
        "mode": {"type": "string", "enum": ["fast"]},
        "either": {"type": "string", "enum": ["a", "b"]},
        "maybe": {"type": "string", "nullable": True, "enum": ["a"]},
        "level": {"type": "integer", "description": "Level. Allowed values: 1, 2, 3."},
        "flag": {"type": "boolean", "description": "Allowed values: true."},
        "blank": {"type": "string", "description": 'Allowed values: "", "x".'},
    }


def test_literal_union_of_consts() -> None:
    # pydantic: Literal["a", "b"] | None emitted as anyOf of consts
    schema = obj(v={"anyOf": [{"const": "a"}, {"const": "b"}, {"type": "null"}]})
    assert sanitize_schema(schema)["properties"]["v"] == {
        "anyOf": [
            {"type": "string", "enum": ["a"], "nullable": True},
            {"type": "string", "enum": ["b"], "nullable": True},
        ]
    }


def test_nested_defs_and_refs_are_inlined() -> None:
    schema = {
        "$defs": {
            "Tag": {"type": "string", "enum": ["x", "y"]},
            "Pet": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "tag": {"$ref": "#/$defs/Tag"}},
                "required": ["name"],
            },
        },
        "definitions": {"Owner": {"type": "object", "properties": {"id": {"type": "integer"}}}},
        "type": "object",
        "properties": {
            "pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}},
            "best": {"anyOf": [{"$ref": "#/$defs/Pet"}, {"type": "null"}], "description": "Fav."},
            "owner": {"$ref": "#/definitions/Owner", "description": "Who."},
        },
    }
    pet = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "tag": {"type": "string", "enum": ["x", "y"]}},
        "required": ["name"],
    }
    assert sanitize_schema(schema) == {
        "type": "object",
        "properties": {
            "pets": {"type": "array", "items": pet},
            "best": {**pet, "description": "Fav.", "nullable": True},
            "owner": {
                "type": "object",
                "description": "Who.",
                "properties": {"id": {"type": "integer"}},
            },
        },
    }


def test_recursive_ref_is_not_expanded() -> None:
    schema = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
        "$ref": "#/$defs/Node",
    }
    assert sanitize_schema(schema) == {
        "type": "object",
        "properties": {
            "value": {"type": "string"},
            "children": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "Recursive reference #/$defs/Node, not expanded.",
                },
            },
        },
    }


def test_self_reference_to_root_and_unresolvable_refs() -> None:
    schema = obj(
        parent={"$ref": "#"},
        remote={"$ref": "https://example.com/schema.json"},
        missing={"$ref": "#/$defs/Nope", "description": "Kept."},
    )
    assert sanitize_schema(schema)["properties"] == {
        "parent": {"type": "object", "description": "Recursive reference #, not expanded."},
        "remote": {
            "type": "object",
            "description": "Unresolved reference https://example.com/schema.json.",
        },
        "missing": {"type": "object", "description": "Kept."},
    }


def test_additional_properties_and_other_keywords_are_dropped() -> None:
    schema = {
        "type": "object",
        "$id": "x",
        "strict": True,
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "default": "a", "examples": ["b"]},
                "uniqueItems": True,
                "minItems": 1,
                "maxItems": 5,
            },
            "map": {"type": "object", "additionalProperties": {"type": "string"}},
            "n": {"type": "number", "multipleOf": 2, "maximum": 9, "pattern": "x"},
            "s": {"type": "string", "pattern": "^a", "maxLength": 3, "minimum": 1},
            "k": {"type": "object", "propertyNames": {"pattern": "^a"}, "minProperties": 1},
            "c": {"if": {}, "then": {}, "else": {}, "not": {}, "contentMediaType": "text/plain"},
        },
        "additionalProperties": False,
    }
    assert sanitize_schema(schema) == {
        "type": "object",
        "properties": {
            "tags": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "maxItems": 5,
            },
            "map": {"type": "object"},
            "n": {"type": "number", "maximum": 9},
            "s": {"type": "string", "pattern": "^a", "maxLength": 3},
            "k": {"type": "object", "minProperties": 1},
            "c": {},
        },
    }


def test_type_arrays() -> None:
    schema = obj(
        a={"type": ["string", "null"], "maxLength": 3},
        b={"type": ["string", "integer"], "description": "Id.", "minimum": 1, "maxLength": 2},
        c={"type": ["null"]},
        d={"type": "STRING"},
    )
    assert sanitize_schema(schema)["properties"] == {
        "a": {"type": "string", "maxLength": 3, "nullable": True},
        "b": {
            "anyOf": [
                {"type": "string", "description": "Id.", "maxLength": 2},
                {"type": "integer", "description": "Id.", "minimum": 1},
            ]
        },
        "c": {"type": "null"},
        "d": {"type": "string"},
    }


def test_formats() -> None:
    schema = obj(
        uri={"type": "string", "format": "uri"},
        email={"type": "string", "format": "email"},
        when={"type": "string", "format": "date-time"},
        day={"type": "string", "format": "date"},
        big={"type": "integer", "format": "int64"},
        ratio={"type": "number", "format": "double"},
        wrong={"type": "number", "format": "int32"},
    )
    assert sanitize_schema(schema)["properties"] == {
        "uri": {"type": "string"},
        "email": {"type": "string"},
        "when": {"type": "string", "format": "date-time"},
        "day": {"type": "string"},
        "big": {"type": "integer", "format": "int64"},
        "ratio": {"type": "number", "format": "double"},
        "wrong": {"type": "number"},
    }


def test_array_items() -> None:
    schema = obj(
        empty={"type": "array", "items": {}},
        missing={"type": "array"},
        described={"type": "array", "items": {"description": "Any."}},
        tuple={"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        inferred={"items": {"type": "integer"}},
    )
    assert sanitize_schema(schema)["properties"] == {
        "empty": {"type": "array", "items": {"type": "string"}},
        "missing": {"type": "array", "items": {"type": "string"}},
        "described": {"type": "array", "items": {"type": "string", "description": "Any."}},
        "tuple": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "inferred": {"type": "array", "items": {"type": "integer"}},
    }


def test_all_of_is_merged_and_required_filtered() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b", "ghost", "a"]},
        ],
        "description": "Both.",
    }
    assert sanitize_schema(schema) == {
        "type": "object",
        "description": "Both.",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }


def test_any_of_distributes_parent_keywords_and_one_of_is_any_of() -> None:
    schema = {
        "type": "object",
        "properties": {"kind": {"type": "string"}, "a": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["kind"]}],
    }
    properties = {"kind": {"type": "string"}, "a": {"type": "string"}}
    assert sanitize_schema(schema) == {
        "anyOf": [
            {"type": "object", "properties": properties, "required": ["a"]},
            {"type": "object", "properties": properties, "required": ["kind"]},
        ]
    }


def test_properties_make_an_object() -> None:
    assert sanitize_schema(obj(x={"properties": {"y": {"type": "string"}}}))["properties"] == {
        "x": {"type": "object", "properties": {"y": {"type": "string"}}}
    }


def test_response_schema_orders_properties_and_keeps_its_root_type() -> None:
    schema = {
        "type": "object",
        "properties": {
            "zeta": {"type": "string"},
            "alpha": {"type": "object", "properties": {"b": {"type": "string"}, "a": {}}},
        },
        "required": ["zeta"],
        "additionalProperties": False,
    }
    assert sanitize_response_schema(schema) == {
        "type": "object",
        "properties": {
            "zeta": {"type": "string"},
            "alpha": {
                "type": "object",
                "properties": {"b": {"type": "string"}, "a": {}},
                "propertyOrdering": ["b", "a"],
            },
        },
        "required": ["zeta"],
        "propertyOrdering": ["zeta", "alpha"],
    }
    assert sanitize_response_schema({"type": "array", "items": {"type": "integer"}}) == {
        "type": "array",
        "items": {"type": "integer"},
    }
    assert sanitize_response_schema({}) == {}


def test_exponential_ref_fan_out_is_bounded() -> None:
    defs = {
        f"D{i}": obj(**{f"p{j}": {"$ref": f"#/$defs/D{i + 1}"} for j in range(10)})
        for i in range(9)
    }
    defs["D9"] = {"type": "string"}
    start = time.monotonic()
    out = sanitize_schema({"$defs": defs, "$ref": "#/$defs/D0"})
    assert time.monotonic() - start < 5
    # The node budget, plus the placeholders of the siblings pending when it ran out.
    assert count_nodes(out) < 11_000


def test_deep_nesting_is_truncated_not_a_crash() -> None:
    schema: JSON = {"type": "string"}
    for _ in range(400):
        schema = {"type": "array", "items": schema}
    out = sanitize_schema(obj(deep=schema))
    assert max_depth(out) < 80
    assert_gemini_schema(out)


def test_input_is_not_mutated() -> None:
    schema = {
        "$defs": {"A": {"type": "object", "properties": {"x": {"type": ["string", "null"]}}}},
        "allOf": [{"$ref": "#/$defs/A"}, {"properties": {"y": {"const": 1}}}],
    }
    before = copy.deepcopy(schema)
    sanitize_schema(schema)
    sanitize_response_schema(schema)
    assert schema == before


# --- properties over arbitrary input --------------------------------------------------------

KEYWORDS = [
    "type", "properties", "items", "prefixItems", "required", "enum", "const", "anyOf", "oneOf",
    "allOf", "$ref", "$defs", "definitions", "nullable", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxItems", "pattern", "description",
    "title", "default", "additionalProperties", "propertyOrdering", "$schema",
]  # fmt: skip
WORDS = [*sorted(TYPES), "#", "#/$defs/a", "#/definitions/b", "#/properties/x", "date-time"]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(WORDS)
    | st.text(max_size=4)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYWORDS) | st.text(max_size=3), children, max_size=5)
        | st.dictionaries(st.sampled_from(["a", "b", "x"]), children, max_size=3).map(
            lambda props: {"properties": props, "$defs": {"a": props}, "definitions": {"b": props}}
        )
    ),
    max_leaves=40,
)


names = st.sampled_from(["a", "b", "x"])
numbers = st.integers(-3, 3) | st.floats(-3, 3) | st.floats(allow_nan=True, allow_infinity=True)


def keyword_values(children: st.SearchStrategy[Any]) -> dict[str, st.SearchStrategy[Any]]:
    """Plausible values for the keywords that matter, so the interesting paths are reached."""
    type_names = st.sampled_from([*sorted(TYPES), "STRING", "nope"])
    return {
        "type": type_names | st.lists(type_names, max_size=3),
        "properties": st.dictionaries(names, children, max_size=3),
        "items": children | st.lists(children, max_size=2),
        "prefixItems": st.lists(children, max_size=2),
        "anyOf": st.lists(children, max_size=3),
        "oneOf": st.lists(children, max_size=2),
        "allOf": st.lists(children, max_size=2),
        "$ref": st.sampled_from(["#", "#/$defs/a", "#/$defs/b", "#/definitions/x", "#/nope"]),
        "enum": st.lists(scalars, max_size=3),
        "const": scalars,
        "required": st.lists(names | st.text(max_size=2), max_size=3),
        "minimum": numbers,
        "exclusiveMinimum": numbers | st.booleans(),
        "exclusiveMaximum": numbers | st.booleans(),
        "minLength": st.integers(-1, 3),
        "format": st.sampled_from(["date-time", "enum", "int64", "double", "uri"]),
        "description": st.text(max_size=3),
        "nullable": st.booleans(),
        "additionalProperties": st.booleans() | children,
    }


schema_nodes = st.recursive(
    st.fixed_dictionaries({}, optional={"type": st.sampled_from(sorted(TYPES))}),
    lambda children: st.fixed_dictionaries({}, optional=keyword_values(children)),
    max_leaves=30,
)
schemas = st.builds(
    lambda root, defs: {**root, "$defs": defs, "definitions": {"x": root}},
    schema_nodes,
    st.dictionaries(names, schema_nodes, max_size=2),
)
anything = schemas | json_values


@settings(max_examples=400)
@given(anything)
def test_output_only_ever_holds_gemini_keys(schema: object) -> None:
    before = copy.deepcopy(schema)
    parameters = sanitize_schema(schema)
    assert_gemini_schema(parameters)
    assert_gemini_schema(sanitize_response_schema(schema))
    assert "type" in parameters or "anyOf" in parameters
    assert repr(schema) == repr(before)  # repr, as NaN != NaN


@settings(max_examples=200)
@given(anything)
def test_output_is_a_fixed_point(schema: object) -> None:
    out = sanitize_response_schema(schema)
    assert sanitize_response_schema(out) == out


def assert_gemini_schema(schema: object) -> None:
    """Recursively: only allowed keys, and every value of the type Gemini's proto expects."""
    assert isinstance(schema, dict)
    assert set(schema) <= ALLOWED_KEYS, set(schema) - ALLOWED_KEYS
    if "anyOf" in schema:
        assert set(schema) == {"anyOf"} and len(schema["anyOf"]) >= 2
        for branch in schema["anyOf"]:
            assert "anyOf" not in branch
            assert_gemini_schema(branch)
    if "type" in schema:
        assert schema["type"] in TYPES
    for key in ("title", "description", "pattern", "format"):
        assert isinstance(schema.get(key, ""), str)
    if "enum" in schema:
        assert schema["type"] == "string"
        assert schema["enum"] and all(isinstance(v, str) and v for v in schema["enum"])
    if "items" in schema:
        assert schema["type"] == "array"
        assert "type" in schema["items"] or "anyOf" in schema["items"]
        assert_gemini_schema(schema["items"])
    for child in schema.get("properties", {}).values():
        assert_gemini_schema(child)
    assert set(schema.get("required", [])) <= set(schema.get("properties", {}))
    for key in ("minimum", "maximum"):
        if key in schema:
            assert isinstance(schema[key], int | float) and not isinstance(schema[key], bool)


def count_nodes(schema: JSON) -> int:
    children = [*schema.get("properties", {}).values(), *schema.get("anyOf", [])]
    if "items" in schema:
        children.append(schema["items"])
    return 1 + sum(count_nodes(c) for c in children)


def max_depth(schema: JSON) -> int:
    children = [*schema.get("properties", {}).values(), *schema.get("anyOf", [])]
    if "items" in schema:
        children.append(schema["items"])
    return 1 + max((max_depth(c) for c in children), default=0)


@pytest.mark.parametrize("sanitize", [sanitize_schema, sanitize_response_schema])
def test_both_entry_points_share_the_pipeline(sanitize: Any) -> None:
    schema = obj(a={"type": ["integer", "null"], "exclusiveMinimum": 1})
    assert sanitize(schema)["properties"]["a"] == {
        "type": "integer",
        "minimum": 2,
        "nullable": True,
    }
