"""protojson: gRPC messages ↔ REST JSON, so that protobuf traffic is treated as JSON traffic is.

Round trips (hypothesis over parts, calls, signatures and counts), every request shape our
OpenAI translation produces, REST spellings (lowercase schema types, snake_case keys), refusals
that name the field, corrupt input, and the point of it all: simulator chunks sent through
protobuf give the chunk interpreter exactly the events the JSON chunks give it.
"""

from __future__ import annotations

import base64
import copy
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from google.ai.generativelanguage_v1beta import types as g
from hypothesis import given
from hypothesis import strategies as st

from zerogravity_proxy.events import Event, Finish, ToolCall
from zerogravity_proxy.gemini import protojson
from zerogravity_proxy.gemini.interpret import ChunkInterpreter
from zerogravity_proxy.gemini.pb import generativelanguage_pb2 as pb
from zerogravity_proxy.gemini.request import apply_spec
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.openai.chat import parse_chat_request
from zerogravity_proxy.openai.models import Catalogue
from zerogravity_proxy.openai.responses import parse_responses_request
from zerogravity_proxy.openai.translate import DUMMY_SIGNATURE
from zerogravity_proxy.signatures import SignatureCache
from zerogravity_proxy.simulator.chunks import ChunkBuilder, blocked_chunk
from zerogravity_proxy.simulator.directives import Directives
from zerogravity_proxy.simulator.draft import Draft, Turn
from zerogravity_proxy.simulator.plan import Flavour
from zerogravity_proxy.simulator.signatures import SignatureAuthority

JSON = dict[str, Any]

CATALOGUE = Catalogue.from_specs(["gemini-2.5-flash", "gemini-3-flash", "claude-opus-4-6-thinking"])
INT64_KEYWORDS = frozenset(
    {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"}
)


def round_trip(body: JSON) -> JSON:
    return protojson.request_to_json(protojson.request_from_json(body))


def proto_schema(schema: JSON) -> JSON:
    """A REST schema as protobuf JSON prints it: enum names upper-case, int64 as strings, an
    empty `properties` map gone (a map cannot say it was there)."""
    out: JSON = {}
    for key, value in schema.items():
        if key == "type":
            out[key] = value.upper()
        elif key in INT64_KEYWORDS:
            out[key] = str(value)
        elif key == "properties":
            if value:
                out[key] = {name: proto_schema(s) for name, s in value.items()}
        elif key == "items":
            out[key] = proto_schema(value)
        elif key == "anyOf":
            out[key] = [proto_schema(s) for s in value]
        else:
            out[key] = value
    return out


# --- gRPC method paths ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent",
            ("v1beta", "streamGenerateContent"),
        ),
        (
            "/google.ai.generativelanguage.v1.GenerativeService/GenerateContent",
            ("v1", "generateContent"),
        ),
        (
            "/google.ai.generativelanguage.v1alpha.GenerativeService/CountTokens",
            ("v1alpha", "countTokens"),
        ),
        (
            "/google.ai.generativelanguage.v1beta.GenerativeService/BatchEmbedContents",
            ("v1beta", "batchEmbedContents"),
        ),
        ("/google.ai.generativelanguage.v1beta.GenerativeService/Frobnicate", None),
        ("/google.ai.generativelanguage.v1beta.ModelService/GetModel", None),
        ("/google.ai.generativelanguage.v2.GenerativeService/GenerateContent", None),
        ("/google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent/x", None),
        ("/v1beta/models/gemini-2.5-flash:generateContent", None),
        ("", None),
    ],
)
def test_grpc_method(path: str, expected: tuple[str, str] | None) -> None:
    assert protojson.grpc_method(path) == expected


def test_exports() -> None:
    assert protojson.SERVICE == "google.ai.generativelanguage.v1beta.GenerativeService"
    assert protojson.GenerateContentRequest is pb.GenerateContentRequest
    assert protojson.GenerateContentResponse is pb.GenerateContentResponse
    assert issubclass(protojson.ProtoMappingError, ValueError)


# --- requests: every shape our translation produces -----------------------------------------

WEATHER_PARAMETERS: JSON = {
    "type": "object",
    "title": "Weather query",
    "properties": {
        "city": {
            "type": "string",
            "description": "City",
            "minLength": 1,
            "maxLength": 80,
            "pattern": "^[A-Z]",
        },
        "days": {"type": "integer", "minimum": 1, "maximum": 14},
        "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "when": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]},
        "where": {"$ref": "#/$defs/place"},
    },
    "required": ["city"],
    "$defs": {
        "place": {"type": "object", "properties": {"lat": {"type": "number"}}, "minProperties": 1}
    },
}
CHAT: JSON = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is on this picture? And the weather?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris", "days": 3}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21.5, "sky": "clear"}'},
        {"role": "user", "content": "Thanks!"},
    ],
    "tools": [
        {"type": "function", "function": {"name": "weather", "parameters": WEATHER_PARAMETERS}},
        {"type": "function", "function": {"name": "noop", "description": "No arguments"}},
    ],
    "tool_choice": "required",
    "temperature": 0.5,
    "top_p": 0.25,
    "max_tokens": 256,
    "stop": ["END"],
    "seed": 7,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.25,
    "logprobs": True,
    "top_logprobs": 2,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": WEATHER_PARAMETERS},
    },
}


def chat_spec(model: str, **fields: Any) -> ExchangeSpec:
    body = {**CHAT, "model": model, **fields}
    return parse_chat_request(body, catalogue=CATALOGUE, signatures=SignatureCache()).spec


def request_body(spec: ExchangeSpec) -> JSON:
    return apply_spec({"model": f"models/{spec.upstream_model}"}, "gemini", spec)


@pytest.mark.parametrize(
    ("model", "effort"),
    [
        ("gemini-2.5-flash", "low"),  # thinkingBudget
        ("gemini-2.5-flash", None),  # includeThoughts only
        ("claude-opus-4-6-thinking", "high"),  # VALIDATED mode, a capped budget
        ("gemini-3-flash", None),  # no thinkingLevel unless an effort is asked for
    ],
)
def test_translated_chat_requests_map_both_ways(model: str, effort: str | None) -> None:
    fields = {} if effort is None else {"reasoning_effort": effort}
    body = request_body(chat_spec(model, **fields))
    original = copy.deepcopy(body)
    data = protojson.request_from_json(body)
    assert body == original  # the caller's body is never modified
    out = protojson.request_to_json(data)
    assert protojson.request_from_json(out) == data
    for key in ("model", "contents", "systemInstruction", "toolConfig"):
        assert out[key] == body[key], key
    assert out["contents"][1]["parts"][-1]["functionCall"]["args"] == {"city": "Paris", "days": 3}
    generation = dict(body["generationConfig"])
    schema = generation.pop("responseSchema")
    assert out["generationConfig"] == {**generation, "responseSchema": proto_schema(schema)}
    assert out["tools"] == [
        {
            "functionDeclarations": [
                {**declaration, "parameters": proto_schema(declaration["parameters"])}
                if "parameters" in declaration
                else declaration
                for declaration in body["tools"][0]["functionDeclarations"]
            ]
        }
    ]


def test_translated_responses_request_with_web_search_maps() -> None:
    body = {
        "model": "gemini-2.5-flash",
        "instructions": "Cite sources.",
        "input": "What happened today?",
        "tools": [{"type": "web_search"}],
        "max_output_tokens": 512,
    }
    spec = parse_responses_request(body, catalogue=CATALOGUE, signatures=SignatureCache()).spec
    request = request_body(spec)
    out = round_trip(request)
    assert out["tools"] == [{"googleSearch": {}}]
    assert out == request


def test_dummy_signature_keeps_its_documented_spelling() -> None:
    call = {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": DUMMY_SIGNATURE}
    body = {"contents": [{"role": "model", "parts": [call]}]}
    data = protojson.request_from_json(body)
    part = pb.GenerateContentRequest.FromString(data).contents[0].parts[0]
    # the bytes REST decodes the URL-safe base64 to
    assert part.thought_signature == base64.urlsafe_b64decode(DUMMY_SIGNATURE)
    assert round_trip(body) == body


def test_float32_fields_print_shortest() -> None:
    body = {"generationConfig": {"temperature": 0.7, "topP": 0.123456789}}
    assert round_trip(body) == {"generationConfig": {"temperature": 0.7, "topP": 0.12345679}}


def test_struct_numbers_keep_their_json_kind() -> None:
    args = {"n": 3, "neg": -2, "half": 2.5, "huge": 2**60, "list": [1, 1.5]}
    body = {
        "contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": args}}]}]
    }
    out = round_trip(body)["contents"][0]["parts"][0]["functionCall"]["args"]
    assert out == args
    assert [type(out[k]) for k in ("n", "neg", "half", "huge")] == [int, int, float, float]
    assert type(out["list"][0]) is int  # 3, as Google prints it, not 3.0


# --- REST spellings -------------------------------------------------------------------------

LOWER_SCHEMA: JSON = {
    "type": "object",
    "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "size": {"anyOf": [{"type": "Integer"}, {"type": "number", "nullable": True}]},
        "nested": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
    },
}


def test_lowercase_schema_types_are_upper_cased_everywhere() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [
            {
                "function_declarations": [  # snake_case keys, as the parser also takes
                    {"name": "f", "parameters": LOWER_SCHEMA, "response": {"type": "string"}},
                    {"name": "g", "parametersJsonSchema": {"type": "object"}},
                ]
            }
        ],
        "generation_config": {
            "response_mime_type": "application/json",
            "response_schema": {"type": "array", "items": LOWER_SCHEMA},
        },
    }
    original = copy.deepcopy(body)
    out = round_trip(body)
    assert body == original
    upper = proto_schema(LOWER_SCHEMA)
    assert upper["properties"]["size"]["anyOf"][0]["type"] == "INTEGER"
    assert out["tools"][0]["functionDeclarations"] == [
        {"name": "f", "parameters": upper, "response": {"type": "STRING"}},
        {"name": "g", "parametersJsonSchema": {"type": "object"}},  # JSON Schema: left alone
    ]
    assert out["generationConfig"]["responseSchema"] == {"type": "ARRAY", "items": upper}


def test_other_enum_names_in_any_case() -> None:
    body = {
        "toolConfig": {"functionCallingConfig": {"mode": "any"}},
        "safetySettings": [{"category": "harm_category_harassment", "threshold": "Block_None"}],
    }
    assert round_trip(body) == {
        "toolConfig": {"functionCallingConfig": {"mode": "ANY"}},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    }


# --- refusals -------------------------------------------------------------------------------


def refusal(body: JSON) -> str:
    with pytest.raises(protojson.ProtoMappingError) as caught:
        protojson.request_from_json(body)
    return str(caught.value)


def test_unknown_fields_are_named_not_dropped() -> None:
    assert refusal({"labels": {"a": "b"}}) == (
        'Message type "GenerateContentRequest" has no field named "labels" '
        'at "GenerateContentRequest".'
    )
    schema = {"type": "object", "additionalProperties": False}
    message = refusal({"tools": [{"functionDeclarations": [{"name": "f", "parameters": schema}]}]})
    assert '"additionalProperties"' in message
    assert "GenerateContentRequest.tools[0].functionDeclarations[0].parameters" in message


def test_gemini_3_levels_and_media_resolution_have_no_public_field() -> None:
    """The public v1beta proto has no `thinkingLevel` nor Part `mediaResolution`: refused."""
    spec = chat_spec("gemini-3-flash", reasoning_effort="low")
    assert spec.generation_config is not None
    assert spec.generation_config["thinkingConfig"]["thinkingLevel"] == "low"
    assert '"thinkingLevel"' in refusal(request_body(spec))
    image = {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"},
    }
    spec = chat_spec("gemini-3-flash", messages=[{"role": "user", "content": [image]}])
    assert '"mediaResolution"' in refusal(request_body(spec))


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"contents": "hello"}, "contents"),
        ({"contents": [{"parts": [{"text": 5}]}]}, "text"),
        ({"generationConfig": {"maxOutputTokens": "lots"}}, "maxOutputTokens"),
        ({"generationConfig": {"maxOutputTokens": 2**40}}, "maxOutputTokens"),
        (
            {"tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "blob"}}]}]},
            "blob",
        ),
        ({"systemInstruction": {"parts": []}, "system_instruction": {"parts": []}}, "system"),
        ({"contents": [{"parts": [{"inlineData": {"data": "a"}}]}]}, "data"),
        ({"contents": [{"parts": [{"functionCall": {"name": "f", "args": [1]}}]}]}, "args"),
    ],
)
def test_malformed_bodies_are_refused_with_the_field(body: JSON, mentions: str) -> None:
    assert mentions in refusal(body)


def test_responses_refuse_what_protobuf_cannot_carry() -> None:
    with pytest.raises(protojson.ProtoMappingError, match="error"):
        protojson.response_from_json({"error": {"code": 429, "message": "slow down"}})
    with pytest.raises(protojson.ProtoMappingError, match="response"):
        protojson.response_from_json({"response": {"candidates": []}})  # Cloud Code envelope


def length_delimited(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def test_request_fields_unknown_to_our_schema_are_refused() -> None:
    """A newer client's field (here #4 of ThinkingConfig) would be lost on re-encoding."""
    thinking = (
        pb.ThinkingConfig(include_thoughts=True).SerializeToString() + varint(4 << 3) + b"\x02"
    )
    data = length_delimited(4, length_delimited(22, thinking))
    parsed = pb.GenerateContentRequest.FromString(data)
    assert parsed.generation_config.thinking_config.include_thoughts  # the rest parses
    with pytest.raises(protojson.ProtoMappingError, match=r"generationConfig\.thinkingConfig#4"):
        protojson.request_to_json(data)
    with pytest.raises(protojson.ProtoMappingError, match=r"GenerateContentRequest#99"):
        protojson.request_to_json(varint(99 << 3) + b"\x01")


def test_request_fields_unknown_to_our_schema_are_dropped_when_not_strict() -> None:
    thinking = (
        pb.ThinkingConfig(include_thoughts=True).SerializeToString() + varint(4 << 3) + b"\x02"
    )
    data = length_delimited(1, b"models/m") + length_delimited(4, length_delimited(22, thinking))
    expected = {
        "model": "models/m",
        "generationConfig": {"thinkingConfig": {"includeThoughts": True}},
    }
    assert protojson.request_to_json(data, strict=False) == expected
    assert protojson.request_to_json(data + varint(99 << 3) + b"\x01", strict=False) == expected
    with pytest.raises(protojson.ProtoMappingError, match="not a valid GenerateContentRequest"):
        protojson.request_to_json(b"\xff\xff\xff", strict=False)  # corrupt is still corrupt


def test_response_fields_unknown_to_our_schema_are_dropped() -> None:
    data = protojson.response_from_json({"modelVersion": "m"}) + varint(99 << 3) + b"\x01"
    assert protojson.response_to_json(data) == {"modelVersion": "m"}


# --- corrupt bytes --------------------------------------------------------------------------

DECODERS: tuple[Callable[[bytes], JSON], ...] = (
    protojson.request_to_json,
    protojson.response_to_json,
)
VALID = (
    protojson.request_from_json(request_body(chat_spec("gemini-2.5-flash"))),
    protojson.response_from_json(
        {
            "candidates": [
                {
                    "content": {"parts": [{"functionCall": {"name": "f", "args": {"a": [1, {}]}}}]},
                    "finishReason": "STOP",
                    "groundingMetadata": {"groundingSupports": [{"confidenceScores": [0.5]}]},
                }
            ],
            "usageMetadata": {"promptTokenCount": 3},
        }
    ),
)


def decodes_or_refuses(decode: Callable[[bytes], JSON], data: bytes) -> None:
    try:
        result = decode(data)
    except protojson.ProtoMappingError:
        return
    assert isinstance(result, dict)


@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_proto_mapping_error(data: bytes) -> None:
    for decode in DECODERS:
        decodes_or_refuses(decode, data)


@given(st.data())
def test_corrupted_messages_decode_or_raise_proto_mapping_error(data: st.DataObject) -> None:
    which = data.draw(st.sampled_from([0, 1]))
    message = bytearray(VALID[which])
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(message) - 1))
        action = data.draw(st.sampled_from(["flip", "drop", "insert"]))
        if action == "flip":
            message[position] = data.draw(st.integers(0, 255))
        elif action == "drop":
            del message[position]
        else:
            message.insert(position, data.draw(st.integers(0, 255)))
    decodes_or_refuses(DECODERS[which], bytes(message))


def test_non_finite_struct_numbers_are_refused() -> None:
    message = pb.GenerateContentResponse()
    call = message.candidates.add().content.parts.add().function_call
    call.name = "f"
    call.args["x"] = float("inf")
    with pytest.raises(protojson.ProtoMappingError, match="inf"):
        protojson.response_to_json(message.SerializeToString())


# --- round trips ----------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
SIGNATURE = st.binary(min_size=1, max_size=48).map(lambda b: base64.b64encode(b).decode())
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)
ARGS = st.dictionaries(TEXT, JSON_VALUES, max_size=4)
NAME = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,20}", fullmatch=True)
TEXT_PART = st.fixed_dictionaries(
    {"text": TEXT}, optional={"thought": st.just(True), "thoughtSignature": SIGNATURE}
)
CALL_PART = st.fixed_dictionaries(
    {
        "functionCall": st.fixed_dictionaries(
            {"name": NAME, "args": ARGS}, optional={"id": TEXT.filter(bool)}
        )
    },
    optional={"thoughtSignature": SIGNATURE},
)
FINISHES = [v.name for v in pb.Candidate.FinishReason.DESCRIPTOR.values if v.number]
COUNTS = st.integers(1, 2**31 - 1)
USAGE = st.fixed_dictionaries(
    {},
    optional={
        key: COUNTS
        for key in (
            "promptTokenCount",
            "cachedContentTokenCount",
            "candidatesTokenCount",
            "thoughtsTokenCount",
            "toolUsePromptTokenCount",
            "totalTokenCount",
        )
    }
    | {
        "promptTokensDetails": st.lists(
            st.fixed_dictionaries({"modality": st.just("TEXT"), "tokenCount": COUNTS}),
            min_size=1,
            max_size=2,
        )
    },
)
CANDIDATE = st.fixed_dictionaries(
    {
        "content": st.fixed_dictionaries(
            {
                "role": st.just("model"),
                "parts": st.lists(TEXT_PART | CALL_PART, min_size=1, max_size=4),
            }
        )
    },
    optional={
        "finishReason": st.sampled_from(FINISHES),
        "index": st.integers(0, 7),
        "finishMessage": TEXT,
    },
)
CHUNKS = st.fixed_dictionaries(
    {"candidates": st.lists(CANDIDATE, min_size=1, max_size=2)},
    optional={
        "usageMetadata": USAGE,
        "modelVersion": TEXT.filter(bool),
        "responseId": TEXT.filter(bool),
    },
)


@given(CHUNKS)
def test_response_round_trip(chunk: JSON) -> None:
    assert protojson.response_to_json(protojson.response_from_json(chunk)) == chunk


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from(["user", "model"]),
                "parts": st.lists(TEXT_PART | CALL_PART, min_size=1, max_size=3),
            }
        ),
        min_size=1,
        max_size=3,
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "maxOutputTokens": COUNTS,
            "topK": COUNTS,
            "seed": st.integers(-(2**31), 2**31 - 1),
            "temperature": st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0]),
            "thinkingConfig": st.fixed_dictionaries(
                {},
                optional={
                    "includeThoughts": st.booleans(),
                    "thinkingBudget": st.integers(-1, 32768),
                },
            ),
        },
    ),
)
def test_request_round_trip(contents: list[JSON], generation: JSON) -> None:
    body = {
        "model": "models/gemini-2.5-flash",
        "contents": contents,
        "generationConfig": generation,
    }
    assert round_trip(body) == body


# --- model_of -------------------------------------------------------------------------------


def google_request(**fields: Any) -> bytes:
    """A GenerateContentRequest serialized by Google's own client library."""
    message = g.GenerateContentRequest(**fields)
    data: bytes = type(message).serialize(message)
    return data


FULL_GOOGLE_REQUEST: dict[str, Any] = {
    "contents": [
        g.Content(role="user", parts=[g.Part(text="What is 2+2?")]),
        g.Content(
            role="model",
            parts=[g.Part(function_call=g.FunctionCall(name="calc", args={"expr": "2+2"}))],
        ),
    ],
    "system_instruction": g.Content(parts=[g.Part(text="Be brief.")]),
    "tools": [g.Tool(function_declarations=[g.FunctionDeclaration(name="calc")])],
    "tool_config": g.ToolConfig(
        function_calling_config=g.FunctionCallingConfig(mode=g.FunctionCallingConfig.Mode.ANY)
    ),
    "safety_settings": [
        g.SafetySetting(
            category=g.HarmCategory.HARM_CATEGORY_HARASSMENT,
            threshold=g.SafetySetting.HarmBlockThreshold.BLOCK_NONE,
        )
    ],
    "generation_config": g.GenerationConfig(temperature=0.5, max_output_tokens=64),
    "cached_content": "cachedContents/abc",
}


@pytest.mark.parametrize(
    "model", ["models/gemini-2.5-pro", "gemini-3-flash", "models/" + "x" * 200, "é" * 9000]
)
def test_model_of_a_request_serialized_by_google(model: str) -> None:
    data = google_request(model=model, **FULL_GOOGLE_REQUEST)
    assert data[:1] == b"\x0a"  # model is field 1: it comes first
    assert len(model.encode()) < 128 or data[1] & 0x80  # a length of two bytes or more
    assert protojson.model_of(data) == model


@pytest.mark.parametrize("model", ["models/gemini-2.5-flash", "models/" + "m" * 130])
def test_model_of_a_request_serialized_by_us(model: str) -> None:
    body = request_body(chat_spec("gemini-2.5-flash"))
    data = protojson.request_from_json({**body, "model": model})
    assert protojson.model_of(data) == model
    built = pb.GenerateContentRequest(model=model, cached_content="c")
    built.contents.add(role="user").parts.add(text="hi")
    assert protojson.model_of(built.SerializeToString()) == model


def test_model_of_a_request_with_fields_our_schema_lacks() -> None:
    data = google_request(model="models/m", contents=[g.Content(parts=[g.Part(text="x")])])
    assert protojson.model_of(data + varint(99 << 3) + b"\x01") == "models/m"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        google_request(contents=[g.Content(parts=[g.Part(text="no model")])]),
        google_request(model=""),  # an empty model is not written at all
        b"\x0a\x00",  # ...or written empty
        length_delimited(1, b"models/m")[:-1],  # truncated inside the model
        length_delimited(1, b"models/" + b"m" * 200)[:2],  # truncated inside the length
        b"\x0a",  # a tag alone
        b"\x0a\xff\xff\xff\xff\xff\xff\x01m",  # a length that never ends
        length_delimited(1, b"models/\xff\xfe"),  # not UTF-8
        length_delimited(2, b"models/m"),  # field 2 first
        varint(1 << 3) + b"\x07",  # field 1, but a varint
        length_delimited(4, b"") + length_delimited(1, b"models/m"),  # model not first
    ],
)
def test_model_of_is_none_without_a_leading_model(data: bytes) -> None:
    assert protojson.model_of(data) is None


@given(st.binary(max_size=300))
def test_model_of_never_raises(data: bytes) -> None:
    model = protojson.model_of(data)
    assert model is None or (isinstance(model, str) and model)


@given(
    TEXT,
    st.lists(st.lists(TEXT, min_size=1, max_size=3), max_size=3),
    st.sampled_from([None, 0.5, 1.0]),
)
def test_model_of_is_what_protobuf_reads(
    model: str, contents: list[list[str]], temperature: float | None
) -> None:
    request = pb.GenerateContentRequest(model=model)
    for texts in contents:
        content = request.contents.add(role="user")
        for text in texts:
            content.parts.add(text=text)
    if temperature is not None:
        request.generation_config.temperature = temperature
    data = request.SerializeToString()
    assert protojson.model_of(data) == (pb.GenerateContentRequest.FromString(data).model or None)
    google = google_request(
        model=model,
        contents=[g.Content(role="user", parts=[g.Part(text=t) for t in ts]) for ts in contents],
    )
    assert protojson.model_of(google) == (model or None)


# --- the interpreter sees the same chunks ---------------------------------------------------


def events(chunks: Iterable[JSON]) -> list[Event]:
    counter = itertools.count(1)
    interpreter = ChunkInterpreter(lambda: f"call_{next(counter)}")
    out: list[Event] = []
    for chunk in chunks:
        out += interpreter.feed(chunk)
    return out + interpreter.close()


def via_protobuf(chunks: Iterable[JSON]) -> list[JSON]:
    return [protojson.response_to_json(protojson.response_from_json(c)) for c in chunks]


def simulator_turn(model: str = "gemini-2.5-flash", *, search: bool = False) -> Turn:
    text = "Où est le café ?"
    request: JSON = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if search:
        request["tools"] = [{"googleSearch": {}}]
    return Turn(request, model, Flavour.GEMINI, text, Directives(), "resp-1", 120)


SCENARIOS: dict[str, tuple[Turn, Draft]] = {
    "thoughts, then text signed by gemini-3": (
        simulator_turn("gemini-3-flash"),
        Draft(
            thoughts=["**Plan**\n\nAnswer."],
            hidden_thoughts=5,
            pieces=["Hello ", "wörld. ", "Done!"],
        ),
    ),
    "parallel calls": (
        simulator_turn(),
        Draft(
            calls=[
                {"id": "c1", "name": "weather", "args": {"city": "Paris", "days": 3}},
                {"name": "clock", "args": {"zone": "CET", "precise": True, "step": 1.5, "x": None}},
            ]
        ),
    ),
    "search grounding over non-ASCII text": (
        simulator_turn(search=True),
        Draft(pieces=["Le café est ", "très bon. ", "Vraiment ? ", "Oui !"]),
    ),
    "safety stop without content": (simulator_turn(), Draft(finish="SAFETY", bare_finish=True)),
    "max tokens with a message": (
        simulator_turn(),
        Draft(pieces=["cut"], finish="MAX_TOKENS", finish_message="limit reached"),
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_simulator_chunks_through_protobuf_give_the_same_events(name: str) -> None:
    turn, draft = SCENARIOS[name]
    chunks = ChunkBuilder(turn, SignatureAuthority()).build(draft)
    converted = via_protobuf(chunks)
    assert converted == chunks  # the simulator already writes what REST would
    assert events(converted) == events(chunks)
    assert any(isinstance(e, Finish) for e in events(converted))


def test_blocked_prompt_through_protobuf() -> None:
    chunk = blocked_chunk(simulator_turn(), "PROHIBITED_CONTENT")
    assert via_protobuf([chunk]) == [chunk]
    assert events(via_protobuf([chunk])) == events([chunk])


def test_defaults_left_out_by_protobuf_change_no_event() -> None:
    """REST omits defaults too; a chunk that spells them out gives the same events."""
    spelled = {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "hi", "thought": False}]},
                "tokenCount": 0,
                "groundingMetadata": {
                    "groundingSupports": [
                        {
                            "segment": {"startIndex": 0, "endIndex": 2, "text": "hi"},
                            "groundingChunkIndices": [0],
                        }
                    ],
                    "groundingChunks": [{"web": {"uri": "https://x", "title": "x"}}],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 4, "thoughtsTokenCount": 0, "totalTokenCount": 6},
    }
    converted = via_protobuf([spelled])
    assert "thought" not in converted[0]["candidates"][0]["content"]["parts"][0]
    assert "thoughtsTokenCount" not in converted[0]["usageMetadata"]
    assert events(converted) == events([spelled])


def test_reasons_newer_than_our_enums_still_end_the_stream() -> None:
    response = pb.GenerateContentResponse()
    candidate = response.candidates.add()
    candidate.content.parts.add(text="partial")
    candidate.finish_reason = 99  # type: ignore[assignment]  # an open enum keeps the number
    chunk = protojson.response_to_json(response.SerializeToString())
    assert chunk["candidates"][0]["finishReason"] == "FINISH_REASON_99"
    assert events([chunk])[-1] == Finish("FINISH_REASON_99")
    blocked = pb.GenerateContentResponse()
    blocked.prompt_feedback.block_reason = 42  # type: ignore[assignment]
    chunk = protojson.response_to_json(blocked.SerializeToString())
    assert events([chunk]) == [Finish("PROMPT_BLOCKED", "prompt blocked: BLOCK_REASON_42")]


def test_tool_call_args_reach_the_interpreter_as_json() -> None:
    chunk = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {
                            "functionCall": {
                                "id": "x1",
                                "name": "f",
                                "args": {"n": 3, "l": [True, None]},
                            },
                            "thoughtSignature": "c2ln",
                        }
                    ]
                },
                "finishReason": "STOP",
            }
        ]
    }
    (call, finish) = events(via_protobuf([chunk]))
    assert call == ToolCall("x1", "f", {"n": 3, "l": [True, None]}, "c2ln")
    assert finish == Finish("STOP")
