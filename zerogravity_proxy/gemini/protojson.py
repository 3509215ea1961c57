"""Gemini's gRPC messages ↔ the REST JSON the rest of the proxy speaks (sans-IO).

The rewrite rules and the chunk interpreter work on REST JSON only. A gRPC request is decoded
into the body Google's REST front end would have received, rewritten, and encoded back; a gRPC
response message becomes the chunk an SSE stream would have carried. So both wires get the same
treatment and yield the same events. The messages are our own copy of the public v1beta schema
(proto/generativelanguage.proto: same field numbers, another package).

Where REST JSON and protobuf disagree, the REST side wins:
- Enum names: the protobuf parser wants them exact; REST takes `"type": "object"`, so an enum
  string is upper-cased before parsing when that makes it a valid name.
- Defaults are omitted (`index` stays when set: it has presence), as REST omits them.
- int64 fields (Schema `minItems` & co.) print as strings, as REST prints them; ints parse too.
- float fields (temperature, topP, penalties, confidenceScores) are float32 on both wires:
  0.7 prints as 0.7, but digits beyond float32's precision are gone.
- Struct numbers (`args`, `response`, JSON schemas) are doubles: integral ones print as ints
  (3, not 3.0), as Google prints them. Struct keys and `Schema.properties` are protobuf maps,
  so their order is not kept.
- Bytes (`thoughtSignature`, `data`) are base64. The documented dummy signature
  `skip_thought_signature_validator` is URL-safe base64; it decodes to the bytes REST decodes it
  to and is given back in that spelling.
- What the public proto has no field for cannot be sent: Gemini 3's `thinkingLevel` and a
  part's `mediaResolution` are refused by request_from_json like any unknown field.
"""

from __future__ import annotations

import base64
import math
import re
import struct
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any, Final

from google.protobuf import json_format, struct_pb2, unknown_fields
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from zerogravity_proxy.gemini.pb import generativelanguage_pb2 as pb
from zerogravity_proxy.gemini.pb.generativelanguage_pb2 import (
    GenerateContentRequest,
    GenerateContentResponse,
)

__all__ = [
    "SERVICE",
    "GenerateContentRequest",
    "GenerateContentResponse",
    "ProtoMappingError",
    "grpc_method",
    "model_of",
    "request_from_json",
    "request_to_json",
    "response_from_json",
    "response_to_json",
]

SERVICE: Final = "google.ai.generativelanguage.v1beta.GenerativeService"

_GRPC_PATH = re.compile(
    r"/google\.ai\.generativelanguage\.(v1|v1beta|v1alpha)\.GenerativeService/(\w+)"
)
# The RPC names as the REST path spells them, so callers can reuse their REST method logic.
_METHODS: Final = {
    "GenerateContent": "generateContent",
    "StreamGenerateContent": "streamGenerateContent",
    "CountTokens": "countTokens",
    "EmbedContent": "embedContent",
    "BatchEmbedContents": "batchEmbedContents",
    "GenerateAnswer": "generateAnswer",
    "BidiGenerateContent": "bidiGenerateContent",
}

_PACKAGE = pb.DESCRIPTOR.package + "."
_DUMMY_SIGNATURE = "skip_thought_signature_validator"
_DUMMY_AS_PRINTED = base64.b64encode(base64.urlsafe_b64decode(_DUMMY_SIGNATURE)).decode()
_MAX_EXACT_INT = 2**53
_FLOAT32 = struct.Struct("<f")
_PARSE_CHAIN = re.compile(r"^(?:Failed to parse \w+ field: )+")
_CHAIN_FIELD = re.compile(r"Failed to parse (\w+) field: ")


class ProtoMappingError(ValueError):
    """A message or body that cannot be mapped between the wires; the text says why."""


def grpc_method(path: str) -> tuple[str, str] | None:
    """(version, method) for a GenerativeService gRPC path, the method in REST spelling
    (`/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent` →
    `("v1beta", "streamGenerateContent")`); None for any other service or method."""
    match = _GRPC_PATH.fullmatch(path)
    if match is None:
        return None
    method = _METHODS.get(match[2])
    return None if method is None else (match[1], method)


def request_to_json(data: bytes, *, strict: bool = True) -> dict[str, Any]:
    """A serialized GenerateContentRequest as the REST body.

    Fields our schema does not know are refused rather than dropped: the body is encoded again
    after the rewrite, and a silent drop would change what upstream receives. `strict=False`
    drops them, for a reader that only looks (or replaces the payload anyway).
    """
    message = _parse(GenerateContentRequest, data)
    size = message.ByteSize()
    message.DiscardUnknownFields()
    if strict and message.ByteSize() != size:
        paths = ", ".join(_unknown_paths(_parse(GenerateContentRequest, data), ""))
        raise ProtoMappingError(f"GenerateContentRequest has fields we do not know: {paths}")
    body = _json_of(message)
    for content in body.get("contents", ()):
        for part in content.get("parts", ()):
            if part.get("thoughtSignature") == _DUMMY_AS_PRINTED:
                part["thoughtSignature"] = _DUMMY_SIGNATURE
    return body


def model_of(data: bytes) -> str | None:
    """The `model` (field 1) of a serialized GenerateContentRequest, without parsing the rest.

    Serializers write fields in number order, so `model` leads; a request that does not start
    with it yields None. Cheap on any body size: it runs for every observed request.
    """
    if data[:1] != b"\x0a":  # field 1, length-delimited
        return None
    length, shift, index = 0, 0, 1
    while index < len(data) and index <= 5:
        byte = data[index]
        length |= (byte & 0x7F) << shift
        index += 1
        if not byte & 0x80:
            break
        shift += 7
    else:
        return None
    raw = data[index : index + length]
    if len(raw) != length:
        return None
    try:
        return raw.decode("utf-8") or None
    except UnicodeDecodeError:
        return None


def request_from_json(body: Mapping[str, Any]) -> bytes:
    """A REST body (camelCase or snake_case keys) as a serialized GenerateContentRequest.

    An unknown field, or a value of the wrong type, raises ProtoMappingError naming it.
    """
    normalized = _upper_enums(body, pb.DESCRIPTOR.message_types_by_name["GenerateContentRequest"])
    return _serialize(GenerateContentRequest, normalized)


def response_to_json(data: bytes) -> dict[str, Any]:
    """A serialized GenerateContentResponse as the chunk an SSE stream carries.

    Runs once per streamed message, so it walks the message itself (about twice as fast as
    json_format.MessageToDict, with the same output). Fields from a newer schema are dropped,
    as the interpreter would ignore them; a finish or block reason newer than our enums still
    ends the stream, as `FINISH_REASON_<n>` / `BLOCK_REASON_<n>`.
    """
    chunk = _json_of(_parse(GenerateContentResponse, data))
    for candidate in chunk.get("candidates", ()):
        if isinstance(reason := candidate.get("finishReason"), int):
            candidate["finishReason"] = f"FINISH_REASON_{reason}"
    feedback = chunk.get("promptFeedback")
    if feedback is not None and isinstance(reason := feedback.get("blockReason"), int):
        feedback["blockReason"] = f"BLOCK_REASON_{reason}"
    return chunk


def response_from_json(chunk: Mapping[str, Any]) -> bytes:
    """A REST chunk as a serialized GenerateContentResponse (test servers, our own answers)."""
    return _serialize(GenerateContentResponse, chunk)


# --- bytes ↔ messages -----------------------------------------------------------------------


def _parse[M: Message](kind: type[M], data: bytes) -> M:
    message = kind()
    try:
        message.ParseFromString(data)
    except DecodeError as e:
        raise ProtoMappingError(f"not a valid {kind.__name__}: {_clean(e)}") from None
    return message


def _json_of(message: Message) -> dict[str, Any]:
    """`_to_json`, with the values JSON cannot hold (an out-of-range Duration) refused."""
    try:
        return _to_json(message)
    except ProtoMappingError:
        raise
    except (json_format.Error, ValueError) as e:
        raise ProtoMappingError(
            f"{message.DESCRIPTOR.name} has no JSON form: {_clean(e)}"
        ) from None


def _serialize(kind: type[Message], body: Mapping[str, Any]) -> bytes:
    message = kind()
    try:
        json_format.ParseDict(dict(body), message)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as e:
        raise ProtoMappingError(_clean(e)) from None
    return message.SerializeToString(deterministic=True)


def _clean(error: Exception) -> str:
    """A protobuf error for humans: our package name out, no list of the valid fields, and the
    parser's `Failed to parse x field: ` chain kept as a path only when the rest has none."""
    text = str(error).split("\n", 1)[0].replace(_PACKAGE, "")
    chain = _PARSE_CHAIN.match(text)
    if chain is None:
        return text
    rest = text[chain.end() :]
    if " at " in rest:
        return rest
    return ".".join(_CHAIN_FIELD.findall(chain.group())) + ": " + rest


def _unknown_paths(message: Message, path: str) -> Iterator[str]:
    """Where a message holds fields its schema does not know, as `path#number`."""
    unknown = unknown_fields.UnknownFieldSet(message)
    for index in range(len(unknown)):
        yield f"{path or message.DESCRIPTOR.name}#{unknown[index].field_number}"
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        where = f"{path}.{field.json_name}" if path else field.json_name
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is not None:
                for key, item in value.items():
                    yield from _unknown_paths(item, f"{where}[{key!r}]")
        elif field.is_repeated:
            for index, item in enumerate(value):
                yield from _unknown_paths(item, f"{where}[{index}]")
        else:
            yield from _unknown_paths(value, where)


# --- messages → JSON ------------------------------------------------------------------------

_Convert = Callable[[Any], Any]
_FIELDS: dict[FieldDescriptor, tuple[str, _Convert]] = {}


def _to_json(message: Message) -> dict[str, Any]:
    """json_format.MessageToDict's output (camelCase names, enum names, defaults omitted), but
    with a converter per field looked up once, and Struct numbers printed as REST prints them."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        entry = _FIELDS.get(field)
        if entry is None:
            entry = _FIELDS[field] = (field.json_name, _field_converter(field))
        out[entry[0]] = entry[1](value)
    return out


def _field_converter(field: FieldDescriptor) -> _Convert:
    message_type = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        key_is_bool = message_type.fields_by_name["key"].type == FieldDescriptor.TYPE_BOOL
        convert_value = _value_converter(message_type.fields_by_name["value"])
        if key_is_bool:
            return lambda entries: {
                ("true" if k else "false"): convert_value(v) for k, v in entries.items()
            }
        return lambda entries: {str(k): convert_value(v) for k, v in entries.items()}
    convert = _value_converter(field)
    if field.is_repeated:
        return lambda values: [convert(v) for v in values]
    return convert


def _value_converter(field: FieldDescriptor) -> _Convert:
    """How one value of `field` prints (for repeated fields: one element)."""
    cpp = field.cpp_type
    if field.message_type is not None:
        name = field.message_type.full_name
        if name in _WELL_KNOWN:
            return _WELL_KNOWN[name]
        # Duration, Timestamp: their string forms, which json_format knows
        return json_format.MessageToDict if name.startswith("google.protobuf.") else _to_json
    if field.enum_type is not None:
        names = {value.number: value.name for value in field.enum_type.values}
        return lambda number: names.get(number, number)  # unknown: the number, as json_format
    if field.type == FieldDescriptor.TYPE_BYTES:
        return _base64
    if cpp in (FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT64):
        return str
    if cpp == FieldDescriptor.CPPTYPE_FLOAT:
        return _float32
    if cpp == FieldDescriptor.CPPTYPE_DOUBLE:
        return _double
    return _same


def _same(value: Any) -> Any:
    return value


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _double(value: float) -> float | str:
    return value if math.isfinite(value) else _non_finite(value)


def _float32(value: float) -> float | str:
    """The shortest decimal that is the same float32 (json_format's rule: 0.7, not 0.69999...)."""
    if not math.isfinite(value):
        return _non_finite(value)
    for digits in range(6, 10):
        rounded = float(f"{value:.{digits}g}")
        if _FLOAT32.unpack(_FLOAT32.pack(rounded))[0] == value:
            return rounded
    return value


def _non_finite(value: float) -> str:
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def _struct(message: struct_pb2.Struct) -> dict[str, Any]:
    return {key: _value(item) for key, item in message.fields.items()}


def _list_value(message: struct_pb2.ListValue) -> list[Any]:
    return [_value(item) for item in message.values]


def _value(message: struct_pb2.Value) -> Any:
    kind = message.WhichOneof("kind")
    if kind == "string_value":
        return message.string_value
    if kind == "number_value":
        return _number(message.number_value)
    if kind == "bool_value":
        return message.bool_value
    if kind == "struct_value":
        return _struct(message.struct_value)
    if kind == "list_value":
        return _list_value(message.list_value)
    return None


def _number(value: float) -> float | int:
    if not math.isfinite(value):
        raise ProtoMappingError(f"a JSON value cannot be {value}")
    if value.is_integer() and abs(value) <= _MAX_EXACT_INT:
        return int(value)
    return value


_WELL_KNOWN: Final[Mapping[str, _Convert]] = {
    "google.protobuf.Struct": _struct,
    "google.protobuf.Value": _value,
    "google.protobuf.ListValue": _list_value,
}


# --- REST spellings → protobuf JSON ---------------------------------------------------------


def _upper_enums(value: Any, descriptor: Descriptor) -> Any:
    """`value` (the JSON of a `descriptor` message) with enum names upper-cased where that makes
    them valid; the input is never modified, only what changes is copied."""
    if not isinstance(value, Mapping):
        return value
    keys = _keys(descriptor)
    changed: dict[str, Any] = {}
    for key, item in value.items():
        field = keys.get(key)
        if field is not None:
            new = _upper_field(field, item)
            if new is not item:
                changed[key] = new
    return {**value, **changed} if changed else value


def _upper_field(field: FieldDescriptor, item: Any) -> Any:
    message_type = field.message_type
    convert: _Convert
    if field.enum_type is not None:
        enum_type = field.enum_type
        convert = lambda name: _enum_name(enum_type, name)  # noqa: E731
    elif message_type is not None and message_type.full_name in _HOLDS_ENUMS:
        if message_type.GetOptions().map_entry:
            value_type = message_type.fields_by_name["value"].message_type
            if value_type is None or not isinstance(item, Mapping):
                return item
            return _copy_if_changed(item, lambda v: _upper_enums(v, value_type))
        convert = lambda v: _upper_enums(v, message_type)  # noqa: E731
    else:
        return item
    if field.is_repeated and isinstance(item, list):
        new = [convert(v) for v in item]
        return new if any(a is not b for a, b in zip(new, item, strict=True)) else item
    return convert(item)


def _copy_if_changed(items: Mapping[str, Any], convert: _Convert) -> Any:
    new = {key: convert(value) for key, value in items.items()}
    return new if any(new[key] is not value for key, value in items.items()) else items


def _enum_name(enum_type: EnumDescriptor, name: Any) -> Any:
    if isinstance(name, str) and name not in enum_type.values_by_name:
        upper = name.upper()
        if upper in enum_type.values_by_name:
            return upper
    return name


@cache
def _keys(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """A message's fields under both spellings the JSON parser accepts."""
    return {key: f for f in descriptor.fields for key in (f.name, f.json_name)}


def _messages(descriptors: Iterator[Descriptor]) -> Iterator[Descriptor]:
    for descriptor in descriptors:
        yield descriptor
        yield from _messages(iter(descriptor.nested_types))


def _enum_holders() -> frozenset[str]:
    """Our messages with an enum field somewhere below them: the only ones worth walking."""
    messages = list(_messages(iter(pb.DESCRIPTOR.message_types_by_name.values())))
    holders: set[str] = set()
    grew = True
    while grew:
        grew = False
        for message in messages:
            if message.full_name not in holders and any(
                f.enum_type is not None
                or (f.message_type is not None and f.message_type.full_name in holders)
                for f in message.fields
            ):
                holders.add(message.full_name)
                grew = True
    return frozenset(holders)


_HOLDS_ENUMS: Final = _enum_holders()
