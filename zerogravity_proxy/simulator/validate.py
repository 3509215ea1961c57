"""Gemini's 400s for a (camelCase-normalized) GenerateContentRequest, in Google's wording.

Two stages, as Google has them: the JSON parser rejects unknown or mistyped fields (all of them,
one line each), then request checks report `* GenerateContentRequest.<path>: ...` lines or a
single message. Paths use proto (snake_case) names like Google's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from . import errors
from .normalize import snake
from .plan import JSON, ErrorReply, Flavour

_V1BETA = "type.googleapis.com/google.ai.generativelanguage.v1beta."
_STRUCT = "type.googleapis.com/google.protobuf.Struct"

# fmt: off
_GENERATION_SCALARS = (
    "candidateCount", "maxOutputTokens", "temperature", "topP", "topK",
    "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs",
    "responseMimeType", "responseModalities", "mediaResolution", "speechConfig", "imageConfig",
    "routingConfig", "audioTimestamp", "enableEnhancedCivicAnswers", "modelSelectionConfig",
)
# fmt: on

# message name -> field -> kind ("" = scalar or free-form; "X*" = repeated X)
_FIELDS: dict[str, dict[str, str]] = {
    "GenerateContentRequest": {
        "contents": "Content*",
        "model": "",
        "systemInstruction": "Content",
        "tools": "Tool*",
        "toolConfig": "ToolConfig",
        "safetySettings": "",
        "generationConfig": "GenerationConfig",
        "cachedContent": "",
        "labels": "",
    },
    "Content": {"role": "", "parts": "Part*"},
    "Part": {
        "text": "",
        "inlineData": "",
        "fileData": "",
        "functionCall": "FunctionCall",
        "functionResponse": "FunctionResponse",
        "thought": "",
        "thoughtSignature": "",
        "executableCode": "",
        "codeExecutionResult": "",
        "videoMetadata": "",
        "mediaResolution": "",
        "partMetadata": "",
    },
    "FunctionCall": {"name": "", "args": "Struct", "id": "", "partialArgs": "", "willContinue": ""},
    "FunctionResponse": {
        "name": "",
        "response": "Struct",
        "id": "",
        "parts": "",
        "willContinue": "",
        "scheduling": "",
    },
    "Tool": {
        "functionDeclarations": "FunctionDeclaration*",
        "googleSearch": "",
        "googleSearchRetrieval": "",
        "codeExecution": "",
        "urlContext": "",
        "googleMaps": "",
        "fileSearch": "",
        "computerUse": "",
        "mcpServers": "",
        "retrieval": "",
        "enterpriseWebSearch": "",
    },
    "FunctionDeclaration": {
        "name": "",
        "description": "",
        "parameters": "Schema",
        "parametersJsonSchema": "JsonSchema",
        "response": "Schema",
        "responseJsonSchema": "JsonSchema",
        "behavior": "",
    },
    "ToolConfig": {"functionCallingConfig": "FunctionCallingConfig", "retrievalConfig": ""},
    "FunctionCallingConfig": {"mode": "", "allowedFunctionNames": "Strings"},
    "GenerationConfig": {
        **dict.fromkeys(_GENERATION_SCALARS, ""),
        "stopSequences": "Strings",
        "responseSchema": "Schema",
        "responseJsonSchema": "JsonSchema",
        "thinkingConfig": "ThinkingConfig",
    },
    "ThinkingConfig": {"includeThoughts": "", "thinkingBudget": "", "thinkingLevel": ""},
}
_CLOUD_CODE_EXTRA = {"sessionId": ""}

# fmt: off
SCHEMA_KEYS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "items", "minItems",
    "maxItems", "properties", "required", "minProperties", "maxProperties", "minimum",
    "maximum", "minLength", "maxLength", "pattern", "example", "default", "anyOf",
    "propertyOrdering",
})
JSON_SCHEMA_KEYS = frozenset({
    "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum",
    "items", "prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf",
    "properties", "additionalProperties", "required", "propertyOrdering", "nullable",
    "minLength", "maxLength", "pattern", "minProperties", "maxProperties", "example",
    "default",
})
_SCHEMA_TYPES = frozenset({
    "TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL",
})
_PART_DATA = frozenset({
    "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode",
    "codeExecutionResult",
})
# fmt: on
_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*")
_THINKING_CONFLICT = (
    "Unable to submit request because thinking_budget and thinking_level cannot be set together. "
    "Set only one of them."
)
_TOOLS_CONFLICT = "Multiple tools are supported only when they are all search tools."
_BOTH_PARAMETERS = "parameters and parameters_json_schema cannot both be set."


@dataclass(slots=True)
class _Findings:
    """Violations as (field path, description); `parse` from the JSON parser, `star` from checks."""

    parse: list[tuple[str, str]] = field(default_factory=list)
    star: list[tuple[str, str]] = field(default_factory=list)

    def unknown(self, name: str, path: str) -> None:
        where = f" at '{path}'" if path else ""
        self.parse.append(
            (
                path,
                f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.',
            )
        )

    def invalid(self, path: str, type_url: str, value: Any) -> None:
        shown = orjson.dumps(value).decode()
        self.parse.append((path, f"Invalid value at '{path}' ({type_url}), {shown}"))


def validate_request(request: JSON, flavour: Flavour) -> ErrorReply | None:
    """Return the 400 Google would answer with, or None when the request is acceptable."""
    found = _Findings()
    prefix = "request" if flavour is Flavour.CLOUD_CODE else ""
    extra = _CLOUD_CODE_EXTRA if flavour is Flavour.CLOUD_CODE else {}
    _walk_message(request, "GenerateContentRequest", prefix, found, extra)
    if found.parse:
        return errors.invalid_argument("\n".join(text for _, text in found.parse), found.parse)
    single = _check_request(request, flavour, found)
    if single is not None:
        return errors.invalid_argument(single)
    if found.star:
        message = "".join(f"* GenerateContentRequest.{path}: {text}\n" for path, text in found.star)
        return errors.invalid_argument(message, found.star)
    return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _walk(value: Any, kind: str, path: str, found: _Findings) -> None:
    if kind == "Schema":
        _walk_schema(value, path, found)
    elif kind == "JsonSchema":
        _walk_json_schema(value, path, found)
    elif kind == "Strings":
        _check_strings(value, path, found)
    elif kind == "Struct":
        if not isinstance(value, dict):
            found.invalid(path, _STRUCT, value)
    else:
        _walk_message(value, kind, path, found)


def _walk_message(
    value: Any, kind: str, path: str, found: _Findings, extra: dict[str, str] | None = None
) -> None:
    if not isinstance(value, dict):
        found.invalid(path, _V1BETA + kind, value)
        return
    fields = _FIELDS[kind] | (extra or {})
    for key, item in value.items():
        spec = fields.get(key)
        if spec is None:
            found.unknown(key, path)
        elif spec.endswith("*"):
            _walk_repeated(item, spec[:-1], _join(path, snake(key)), found)
        elif spec:
            _walk(item, spec, _join(path, snake(key)), found)


def _walk_repeated(value: Any, kind: str, path: str, found: _Findings) -> None:
    if not isinstance(value, list):
        found.invalid(path, _V1BETA + kind, value)
        return
    for index, item in enumerate(value):
        _walk(item, kind, f"{path}[{index}]", found)


def _walk_schema(schema: Any, path: str, found: _Findings) -> None:
    """The OpenAPI-subset `Schema` message: a closed set of keys, recursively."""
    if not isinstance(schema, dict):
        found.invalid(path, _V1BETA + "Schema", schema)
        return
    for key, value in schema.items():
        if key not in SCHEMA_KEYS:
            found.unknown(key, path)
        elif key == "type":
            if not isinstance(value, str) or value.upper() not in _SCHEMA_TYPES:
                found.invalid(f"{path}.type", _V1BETA + "Type", value)
        elif key == "items":
            _walk_schema(value, f"{path}.items", found)
        elif key == "anyOf":
            _walk_schema_list(value, f"{path}.any_of", found)
        elif key == "properties":
            _walk_schema_map(value, f"{path}.properties", found)
        elif key in ("enum", "required", "propertyOrdering"):
            _check_strings(value, f"{path}.{snake(key)}", found)


def _walk_schema_list(value: Any, path: str, found: _Findings) -> None:
    if not isinstance(value, list):
        found.invalid(path, _V1BETA + "Schema", value)
        return
    for index, item in enumerate(value):
        _walk_schema(item, f"{path}[{index}]", found)


def _walk_schema_map(value: Any, path: str, found: _Findings) -> None:
    """Map entries are reported as `properties[i].value`, like Google's proto map paths."""
    if not isinstance(value, dict):
        found.invalid(path, _V1BETA + "Schema", value)
        return
    for index, item in enumerate(value.values()):
        _walk_schema(item, f"{path}[{index}].value", found)


def _check_strings(value: Any, path: str, found: _Findings) -> None:
    if not isinstance(value, list):
        found.invalid(path, "TYPE_STRING", value)
        return
    for index, item in enumerate(value):
        if not isinstance(item, str):
            found.invalid(f"{path}[{index}]", "TYPE_STRING", item)


def _walk_json_schema(schema: Any, path: str, found: _Findings) -> None:
    """`parametersJsonSchema`: JSON Schema limited to the keywords Gemini honours (D.7)."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        found.invalid(path, "type.googleapis.com/google.protobuf.Value", schema)
        return
    if "$ref" in schema:
        for key in schema:
            if not key.startswith("$"):
                found.parse.append(
                    (
                        path,
                        f'Invalid JSON payload received. \'{path}\' sets "$ref", so "{key}" '
                        "may not sit beside it.",
                    )
                )
    for key, value in schema.items():
        if key not in JSON_SCHEMA_KEYS:
            found.unknown(key, path)
        elif key in ("properties", "$defs") and isinstance(value, dict):
            for name, item in value.items():
                _walk_json_schema(item, f"{path}.{key}.{name}", found)
        elif key in ("items", "additionalProperties"):
            _walk_json_schema(value, f"{path}.{key}", found)
        elif key in ("prefixItems", "anyOf", "oneOf") and isinstance(value, list):
            for index, item in enumerate(value):
                _walk_json_schema(item, f"{path}.{key}[{index}]", found)


def _check_request(request: JSON, flavour: Flavour, found: _Findings) -> str | None:
    """Request-level checks; returns a single-message error or records `*` lines in `found`."""
    contents = request.get("contents")
    if not contents:
        found.star.append(("contents", "contents is not specified"))
        return None
    for index, content in enumerate(contents):
        if content.get("role") not in (None, "", "user", "model"):
            return "Please use a valid role: user, model."
        _check_parts(content.get("parts"), f"contents[{index}]", found)
    declarations = _check_tools(request.get("tools") or [], flavour, found)
    if declarations is not None:
        return declarations
    thinking = (request.get("generationConfig") or {}).get("thinkingConfig") or {}
    if "thinkingBudget" in thinking and "thinkingLevel" in thinking:
        return _THINKING_CONFLICT
    return None


def _check_parts(parts: list[JSON] | None, path: str, found: _Findings) -> None:
    if not parts:
        found.star.append((f"{path}.parts", "contents.parts must not be empty."))
        return
    for index, part in enumerate(parts):
        where = f"{path}.parts[{index}]"
        if not _PART_DATA.intersection(part):
            found.star.append(
                (f"{where}.data", "required oneof field 'data' must have one initialized field")
            )
        for key in ("functionCall", "functionResponse"):
            if key in part and not part[key].get("name"):
                found.star.append((f"{where}.{snake(key)}.name", "Name cannot be empty."))


def _check_tools(tools: list[JSON], flavour: Flavour, found: _Findings) -> str | None:
    limit = 64 if flavour is Flavour.CLOUD_CODE else 128
    has_functions = has_search = False
    for tool_index, tool in enumerate(tools):
        has_search = has_search or "googleSearch" in tool or "urlContext" in tool
        for index, declaration in enumerate(tool.get("functionDeclarations") or []):
            has_functions = True
            path = f"tools[{tool_index}].function_declarations[{index}]"
            _check_declaration(declaration, path, limit, found)
    if flavour is Flavour.CLOUD_CODE and has_functions and has_search:
        return _TOOLS_CONFLICT
    return None


def _check_declaration(declaration: JSON, path: str, limit: int, found: _Findings) -> None:
    name = declaration.get("name")
    if not isinstance(name, str) or len(name) > limit or not _FUNCTION_NAME.fullmatch(name):
        found.star.append(
            (
                f"{path}.name",
                "Invalid function name. Must start with a letter or an underscore. Must be "
                "alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes "
                f"(-), with a maximum length of {limit}.",
            )
        )
    if "parameters" in declaration and "parametersJsonSchema" in declaration:
        found.star.append((f"{path}.parameters", _BOTH_PARAMETERS))
