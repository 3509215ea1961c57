"""gemini/wire.py: request bodies and our own answers on either wire, JSON or gRPC + protobuf.

What we encode is checked against Google's own client types (google-ai-generativelanguage):
a rewritten gRPC request must be the GenerateContentRequest Google's library reads, and the
answers we make must parse back, through our own parsers, to what they claim to be.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from google.ai.generativelanguage_v1beta import types as g
from google.protobuf import json_format

from zerogravity_proxy.events import Event, Finish, UpstreamError, Usage
from zerogravity_proxy.gemini import protojson
from zerogravity_proxy.gemini.cascade import synthetic_stop
from zerogravity_proxy.gemini.grpc import (
    GRPC_CODES,
    GRPC_HTTP_STATUS,
    GrpcMessageDecoder,
    encode_message,
)
from zerogravity_proxy.gemini.request import Endpoint, recognise
from zerogravity_proxy.gemini.response import GrpcResponseParser, parser_for
from zerogravity_proxy.gemini.wire import (
    Answer,
    BodyError,
    error_answer,
    grpc_message,
    read_request,
    stream_answer,
    write_request,
)

JSON = dict[str, Any]


def endpoint(path: str) -> Endpoint:
    found = recognise(path)
    assert found is not None
    return found


GRPC = endpoint("/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent")
PUBLIC = endpoint("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
CLOUDCODE = endpoint("/v1internal:streamGenerateContent?alt=sse")

# A request as our translation writes it: history with a signed call and its result, tools,
# tool config and a generation config. Enum names are spelled as protobuf prints them, so the
# body survives a round trip unchanged.
REQUEST: JSON = {
    "model": "models/gemini-2.5-flash",
    "contents": [
        {"role": "user", "parts": [{"text": "What is 2+2? Grüße 🎉"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"id": "c1", "name": "calc", "args": {"expr": "2+2"}},
                    "thoughtSignature": "c2ln",
                }
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"id": "c1", "name": "calc", "response": {"result": 4}}}
            ],
        },
    ],
    "systemInstruction": {"parts": [{"text": "Be brief."}]},
    "tools": [
        {
            "functionDeclarations": [
                {
                    "name": "calc",
                    "description": "Evaluate an expression.",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {"expr": {"type": "STRING"}},
                        "required": ["expr"],
                    },
                }
            ]
        }
    ],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["calc"]}},
    "generationConfig": {
        "temperature": 0.5,
        "maxOutputTokens": 256,
        "stopSequences": ["END"],
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024},
    },
}


def google_request(data: bytes) -> g.GenerateContentRequest:
    """One uncompressed gRPC frame, decoded by Google's own GenerateContentRequest."""
    assert data[0] == 0  # not compressed
    decoder = GrpcMessageDecoder(None)
    (message,) = decoder.feed(data) + decoder.close()
    request: g.GenerateContentRequest = g.GenerateContentRequest.deserialize(message)
    return request


def as_json(message: g.GenerateContentRequest | g.GenerateContentResponse) -> JSON:
    """What Google's REST front end would print for a message (camelCase, enum names)."""
    printed: JSON = json_format.MessageToDict(type(message).pb(message))
    return printed


def framed(body: JSON, *, compress: bool = False) -> bytes:
    return encode_message(protojson.request_from_json(body), compress=compress)


# --- read_request ---------------------------------------------------------------------------


@pytest.mark.parametrize("wire", [PUBLIC, CLOUDCODE])
def test_read_json(wire: Endpoint) -> None:
    assert read_request(orjson.dumps(REQUEST), wire, None) == REQUEST
    assert read_request(b"", wire, None) == {}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "unexpected character"),
        (b"[1, 2]", "request body is not a JSON object"),
        (b'"text"', "request body is not a JSON object"),
        (b"null", "request body is not a JSON object"),
    ],
)
def test_read_json_errors(content: bytes, reason: str) -> None:
    with pytest.raises(BodyError, match=reason):
        read_request(content, PUBLIC, None)


def test_read_grpc() -> None:
    assert read_request(framed(REQUEST), GRPC, None) == REQUEST


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", " gzip "])
def test_read_compressed_grpc(encoding: str) -> None:
    assert read_request(framed(REQUEST, compress=True), GRPC, encoding) == REQUEST


def test_read_grpc_written_by_google() -> None:
    message = g.GenerateContentRequest(
        model="models/gemini-2.5-pro",
        contents=[g.Content(role="user", parts=[g.Part(text="hi")])],
        generation_config=g.GenerationConfig(
            temperature=0.25, thinking_config=g.ThinkingConfig(thinking_budget=512)
        ),
    )
    data = encode_message(type(message).serialize(message), compress=True)
    assert read_request(data, GRPC, "gzip") == {
        "model": "models/gemini-2.5-pro",
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "generationConfig": {"temperature": 0.25, "thinkingConfig": {"thinkingBudget": 512}},
    }


def unknown_field(body: JSON) -> bytes:
    return encode_message(protojson.request_from_json(body) + b"\xb8\x3e\x01")  # field 999


@pytest.mark.parametrize(
    ("content", "encoding", "reason"),
    [
        (framed(REQUEST)[:-3], None, "bad gRPC framing: stream ended inside a gRPC message"),
        (b"\x00\x00\x00", None, "bad gRPC framing: stream ended inside a gRPC message prefix"),
        (b"\x07" + framed(REQUEST)[1:], None, "bad gRPC framing: invalid gRPC compressed flag 7"),
        (
            framed(REQUEST, compress=True),
            None,
            "bad gRPC framing: compressed gRPC message with grpc-encoding 'identity'",
        ),
        (
            b"\x01\x00\x00\x00\x05junk!",
            "gzip",
            "bad gRPC framing: corrupt gzip gRPC message",
        ),
        (framed(REQUEST) + framed(REQUEST), None, "expected one gRPC message, got 2"),
        (b"", None, "expected one gRPC message, got 0"),
        (encode_message(b"\xff\xff\xff"), None, "not a valid GenerateContentRequest"),
        (
            unknown_field({"model": "models/m"}),
            None,
            "GenerateContentRequest has fields we do not know",
        ),
    ],
)
def test_read_grpc_errors(content: bytes, encoding: str | None, reason: str) -> None:
    with pytest.raises(BodyError) as caught:
        read_request(content, GRPC, encoding)
    assert str(caught.value).startswith(reason), str(caught.value)


def test_read_grpc_not_strict_drops_unknown_fields() -> None:
    """For a reader that only looks, or replaces the payload anyway (the LS rule)."""
    # generationConfig (4) { thinkingConfig (22) { includeThoughts: true, #4: 2 } }, merged
    # into REQUEST's own: known fields unchanged, one unknown field deep inside.
    nested = b"\x22\x07\xb2\x01\x04\x08\x01\x20\x02"
    deep = encode_message(protojson.request_from_json(REQUEST) + nested)
    for content in (unknown_field(REQUEST), deep):
        with pytest.raises(BodyError, match="fields we do not know"):
            read_request(content, GRPC, None)
        assert read_request(content, GRPC, None, strict=False) == REQUEST


@pytest.mark.parametrize(
    "content",
    [
        framed(REQUEST)[:-3],
        b"\x07" + framed(REQUEST)[1:],
        framed(REQUEST) + framed(REQUEST),
        encode_message(b"\xff\xff\xff"),
    ],
    ids=["cut short", "bad flag", "two messages", "not protobuf"],
)
def test_read_grpc_not_strict_still_refuses_what_is_not_a_request(content: bytes) -> None:
    with pytest.raises(BodyError):
        read_request(content, GRPC, None, strict=False)


@pytest.mark.parametrize("compress", [False, True])
def test_grpc_message_is_the_one_message_as_sent(compress: bool) -> None:
    raw = protojson.request_from_json(REQUEST) + b"\xb8\x3e\x01"  # unknown fields stay
    content = encode_message(raw, compress=compress)
    assert grpc_message(content, "gzip" if compress else None) == raw
    assert grpc_message(encode_message(b""), None) == b""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (framed(REQUEST)[:-3], "bad gRPC framing: stream ended inside a gRPC message"),
        (framed(REQUEST, compress=True), "bad gRPC framing: compressed gRPC message"),
        (framed(REQUEST) * 2, "expected one gRPC message, got 2"),
        (b"", "expected one gRPC message, got 0"),
    ],
)
def test_grpc_message_errors(content: bytes, reason: str) -> None:
    with pytest.raises(BodyError) as caught:
        grpc_message(content, None)
    assert str(caught.value).startswith(reason), str(caught.value)


def test_a_grpc_body_is_not_json_and_a_json_body_is_not_grpc() -> None:
    with pytest.raises(BodyError):
        read_request(orjson.dumps(REQUEST), GRPC, None)
    with pytest.raises(BodyError):
        read_request(framed(REQUEST), PUBLIC, None)


# --- write_request --------------------------------------------------------------------------


@pytest.mark.parametrize("wire", [PUBLIC, CLOUDCODE])
def test_write_json(wire: Endpoint) -> None:
    assert orjson.loads(write_request(REQUEST, wire)) == REQUEST


def test_write_grpc_is_one_frame_googles_client_reads() -> None:
    data = write_request(REQUEST, GRPC)
    message = google_request(data)
    assert message.model == "models/gemini-2.5-flash"
    assert message.contents[1].parts[0].function_call.args["expr"] == "2+2"
    assert message.contents[1].parts[0].thought_signature == b"sig"  # "c2ln" in base64
    assert message.tools[0].function_declarations[0].parameters.type_ == g.Type.OBJECT
    assert message.tool_config.function_calling_config.mode == g.FunctionCallingConfig.Mode.ANY
    assert message.generation_config.thinking_config.thinking_budget == 1024
    assert as_json(message) == REQUEST
    assert read_request(data, GRPC, None) == REQUEST  # and back


def test_write_grpc_accepts_rest_spellings() -> None:
    rest = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "tools": [
            {
                "function_declarations": [
                    {"name": "f", "parameters": {"type": "object", "properties": {}}}
                ]
            }
        ],
    }
    message = google_request(write_request(rest, GRPC))
    assert message.tools[0].function_declarations[0].parameters.type_ == g.Type.OBJECT


def test_write_grpc_refuses_what_protobuf_cannot_carry() -> None:
    body = {**REQUEST, "generationConfig": {"temperature": 0.5, "fooBar": 1}}
    with pytest.raises(BodyError) as caught:
        write_request(body, GRPC)
    message = str(caught.value)
    assert message.startswith("the request cannot be sent over gRPC: ")
    assert "fooBar" in message


# --- what the public protobuf has no field for ----------------------------------------------


def with_thinking(thinking: JSON) -> JSON:
    return {**REQUEST, "generationConfig": {"temperature": 0.5, "thinkingConfig": thinking}}


@pytest.mark.parametrize(
    ("level", "budget"),
    [("minimal", 128), ("low", 1024), ("medium", 8192), ("high", 24576), ("HIGH", 24576)],
)
def test_thinking_level_becomes_its_budget(level: str, budget: int) -> None:
    body = with_thinking({"includeThoughts": True, "thinkingLevel": level})
    before = copy.deepcopy(body)
    message = google_request(write_request(body, GRPC))
    assert as_json(message)["generationConfig"] == {
        "temperature": 0.5,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": budget},
    }
    assert body == before  # the caller's body is not touched


@pytest.mark.parametrize("budget", [0, 300, -1])
def test_an_explicit_budget_wins_over_the_level(budget: int) -> None:
    body = with_thinking({"thinkingLevel": "high", "thinkingBudget": budget})
    message = google_request(write_request(body, GRPC))
    thinking = message.generation_config.thinking_config
    assert "thinking_budget" in thinking and thinking.thinking_budget == budget


@pytest.mark.parametrize("level", ["extreme", "", 3, None])
def test_an_unknown_level_is_refused(level: object) -> None:
    body = with_thinking({"thinkingLevel": level})
    with pytest.raises(BodyError, match=r"^unknown thinking level "):
        write_request(body, GRPC)


def test_media_resolution_is_left_out() -> None:
    image = {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    contents = [
        {"role": "user", "parts": [{"text": "old"}]},
        {
            "role": "user",
            "parts": [
                {"text": "What is this?"},
                {**image, "mediaResolution": {"level": "MEDIA_RESOLUTION_HIGH"}},
            ],
        },
    ]
    body = {"contents": contents}
    before = copy.deepcopy(body)
    message = google_request(write_request(body, GRPC))
    assert as_json(message)["contents"] == [
        {"role": "user", "parts": [{"text": "old"}]},
        {"role": "user", "parts": [{"text": "What is this?"}, image]},
    ]
    assert body == before


def test_json_keeps_level_and_resolution() -> None:
    """Only protobuf lacks the fields: the REST wire sends them as they are."""
    body = with_thinking({"thinkingLevel": "low"})
    body["contents"] = [{"role": "user", "parts": [{"text": "x", "mediaResolution": {}}]}]
    assert orjson.loads(write_request(body, PUBLIC)) == body


# --- our own answers ------------------------------------------------------------------------


def parsed(answer: Answer) -> list[Event]:
    """The answer as the originator's parser reads it (gRPC: trailers and all)."""
    parser = parser_for(answer.status, answer.headers)
    events = parser.feed(answer.body)
    return events + parser.close(answer.trailers)


@pytest.mark.parametrize("wire", [PUBLIC, CLOUDCODE, None])
def test_error_answer_json(wire: Endpoint | None) -> None:
    answer = error_answer(wire, 409, "unknown, expired or already matched exchange")
    assert answer == Answer(
        409,
        {"content-type": "application/json"},
        orjson.dumps(
            {
                "error": {
                    "code": 409,
                    "message": "unknown, expired or already matched exchange",
                    "status": "ZEROGRAVITY",
                }
            }
        ),
    )
    assert parsed(answer) == [
        UpstreamError(409, "ZEROGRAVITY", "unknown, expired or already matched exchange")
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, 3),
        (401, 16),
        (403, 7),
        (404, 5),
        (409, 10),
        (429, 8),
        (499, 1),
        (500, 13),
        (503, 14),
        (418, 2),
        (502, 2),
        (504, 4),
    ],
)
def test_error_answer_grpc_is_trailers_only(status: int, code: int) -> None:
    answer = error_answer(GRPC, status, "refused")
    assert answer == Answer(
        200,
        {"content-type": "application/grpc", "grpc-status": str(code), "grpc-message": "refused"},
        b"",
        None,
    )
    name = GRPC_CODES[code]
    quota = "rate_limit" if status == 429 else None
    assert parsed(answer) == [UpstreamError(GRPC_HTTP_STATUS[name], name, "refused", None, quota)]
    if code != 2:  # the HTTP status survives the trip through gRPC
        assert GRPC_HTTP_STATUS[name] == status


def test_error_answer_grpc_message_is_percent_encoded() -> None:
    message = "ünknown: 100% sure\r\nnext line"
    answer = error_answer(GRPC, 400, message)
    assert answer.headers["grpc-message"] == "%C3%BCnknown: 100%25 sure%0D%0Anext line"
    assert answer.headers["grpc-message"].isascii()
    assert parsed(answer) == [UpstreamError(400, "INVALID_ARGUMENT", message)]


LS_BODY: JSON = {
    "model": "models/gemini-3-flash",
    "contents": [{"role": "user", "parts": [{"text": "hello"}]}],
}


@pytest.mark.parametrize(
    ("wire", "content_type"),
    [(GRPC, "application/grpc"), (PUBLIC, "text/event-stream"), (CLOUDCODE, "text/event-stream")],
)
def test_stream_answer_parses_back_to_a_clean_stop(wire: Endpoint, content_type: str) -> None:
    chunk = synthetic_stop(LS_BODY, wire.flavour)
    answer = stream_answer(wire, chunk)
    assert (answer.status, answer.headers) == (200, {"content-type": content_type})
    events = parsed(answer)
    assert events == [Finish("STOP"), Usage()]
    if wire.grpc:
        assert answer.trailers == {"grpc-status": "0"}
        assert isinstance(parser_for(200, answer.headers), GrpcResponseParser)
    else:
        assert answer.trailers is None
        assert answer.body == b"data: " + orjson.dumps(chunk) + b"\n\n"


def test_stream_answer_grpc_is_what_googles_client_reads() -> None:
    chunk = synthetic_stop(LS_BODY, "gemini")
    answer = stream_answer(GRPC, chunk)
    assert answer.body[0] == 0
    decoder = GrpcMessageDecoder(None)
    (message,) = decoder.feed(answer.body) + decoder.close()
    response = g.GenerateContentResponse.deserialize(message)
    assert response.model_version == "gemini-3-flash"
    assert response.candidates[0].finish_reason == g.Candidate.FinishReason.STOP
    assert response.response_id == chunk["responseId"]
    assert not any("function_call" in part for c in response.candidates for part in c.content.parts)
