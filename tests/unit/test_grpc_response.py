"""GrpcResponseParser and parser_for: gRPC responses give exactly the events SSE gives.

The same chunks (the simulator's and a few by hand) are sent as SSE through ResponseParser and
as framed protobuf messages, cut anywhere and optionally gzip-compressed, through
GrpcResponseParser; the events must match. The outcome comes from the trailers (or, for a
trailers-only answer, the headers), built here with Google's own `google.rpc` types.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import pytest
from google.ai.generativelanguage_v1beta import types as g
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped, unused-ignore]
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chunking import split_at
from tests.events import assert_well_formed
from zerogravity_proxy.events import (
    Event,
    Finish,
    Grounding,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    UpstreamError,
    Usage,
)
from zerogravity_proxy.gemini import protojson
from zerogravity_proxy.gemini.grpc import encode_message, percent_encode
from zerogravity_proxy.gemini.response import (
    GrpcResponseParser,
    ResponseParser,
    is_grpc,
    parser_for,
)
from zerogravity_proxy.simulator.chunks import ChunkBuilder
from zerogravity_proxy.simulator.directives import Directives
from zerogravity_proxy.simulator.draft import Draft, Turn
from zerogravity_proxy.simulator.plan import Flavour
from zerogravity_proxy.simulator.signatures import SignatureAuthority

JSON = dict[str, Any]
GRPC = {"content-type": "application/grpc"}
GRPC_GZIP = {"content-type": "application/grpc", "grpc-encoding": "gzip"}
OK = {"grpc-status": "0"}
TRUNCATED = UpstreamError(502, "STREAM_TRUNCATED", "upstream stream ended without a finish reason")


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"call_{next(counter)}"


def sse_events(chunks: Sequence[Mapping[str, Any]]) -> list[Event]:
    """What the JSON path makes of the chunks: the reference."""
    parser = ResponseParser(200, "text/event-stream", None, new_call_id=ids())
    body = b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)
    return parser.feed(body) + parser.close()


def framed(chunks: Sequence[Mapping[str, Any]], compress: Sequence[bool] = ()) -> bytes:
    """Each chunk as one GenerateContentResponse message, gzip-compressed where asked."""
    flags = [*compress, *[False] * len(chunks)]
    return b"".join(
        encode_message(protojson.response_from_json(chunk), compress=flag)
        for chunk, flag in zip(chunks, flags, strict=False)
    )


def grpc_events(
    pieces: Sequence[bytes],
    trailers: Mapping[str, str] | None = OK,
    headers: Mapping[str, str] = GRPC,
    status: int = 200,
    **kwargs: int,
) -> list[Event]:
    parser = GrpcResponseParser(status, headers, new_call_id=ids(), **kwargs)
    events: list[Event] = []
    for piece in pieces:
        events += parser.feed(piece)
    return events + parser.close(trailers)


def turn(model: str = "gemini-2.5-flash", *, search: bool = False) -> Turn:
    text = "Où est le café ?"
    request: JSON = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if search:
        request["tools"] = [{"googleSearch": {}}]
    return Turn(request, model, Flavour.GEMINI, text, Directives(), "resp-1", 120)


def simulated(t: Turn, draft: Draft) -> list[JSON]:
    return ChunkBuilder(t, SignatureAuthority()).build(draft)


HAND_CHUNKS: list[JSON] = [
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "Thinking über 🎉", "thought": True, "thoughtSignature": "c2ln"}
                    ],
                }
            }
        ]
    },
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "Grüße"}]}}]},
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {"name": "lookup", "args": {"q": "x", "n": 3}},
                            "thoughtSignature": "c2lnMg==",
                        },
                        {"functionCall": {"id": "own-id", "name": "clock", "args": {}}},
                    ],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 30,
            "cachedContentTokenCount": 10,
            "candidatesTokenCount": 7,
            "thoughtsTokenCount": 5,
            "totalTokenCount": 42,
        },
    },
]

SCENARIOS: dict[str, list[JSON]] = {
    "thoughts with signatures, text, calls with args": HAND_CHUNKS,
    "simulated thoughts and text signed by gemini-3": simulated(
        turn("gemini-3-flash"),
        Draft(thoughts=["**Plan**\n\nAnswer."], hidden_thoughts=5, pieces=["Hello ", "wörld."]),
    ),
    "simulated parallel calls": simulated(
        turn(),
        Draft(
            calls=[
                {"id": "c1", "name": "weather", "args": {"city": "Paris", "days": 3}},
                {"name": "clock", "args": {"zone": "CET", "precise": True, "x": None}},
            ]
        ),
    ),
    "simulated search grounding": simulated(
        turn(search=True), Draft(pieces=["Le café est ", "très bon. ", "Oui !"])
    ),
    "simulated max tokens with a message": simulated(
        turn(), Draft(pieces=["cut"], finish="MAX_TOKENS", finish_message="limit reached")
    ),
    "simulated safety stop without content": simulated(
        turn(), Draft(finish="SAFETY", bare_finish=True)
    ),
}


def test_scenarios_cover_every_kind_of_event() -> None:
    kinds = {type(e) for chunks in SCENARIOS.values() for e in sse_events(chunks)}
    assert kinds == {TextDelta, ThoughtDelta, ToolCall, Grounding, Usage, Finish}
    assert ThoughtDelta("Thinking über 🎉", "c2ln") in sse_events(HAND_CHUNKS)


# --- the same events as SSE -----------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_one_feed_gives_the_sse_events(name: str) -> None:
    chunks = SCENARIOS[name]
    expected = sse_events(chunks)
    assert grpc_events([framed(chunks)]) == expected
    assert not any(isinstance(e, UpstreamError) for e in expected)


@settings(max_examples=150)
@given(
    st.sampled_from(sorted(SCENARIOS)),
    st.lists(st.booleans(), max_size=8),
    st.lists(st.integers(min_value=0, max_value=4000), max_size=20),
)
def test_any_chunking_and_compression_gives_the_sse_events(
    name: str, compress: list[bool], cuts: list[int]
) -> None:
    chunks = SCENARIOS[name]
    body = framed(chunks, compress)
    headers = GRPC_GZIP if any(compress) else GRPC
    assert grpc_events(split_at(body, cuts), headers=headers) == sse_events(chunks)


def test_events_arrive_with_their_message() -> None:
    parser = GrpcResponseParser(200, GRPC, new_call_id=ids())
    first = framed(HAND_CHUNKS[:1])
    assert parser.feed(first[:7]) == []
    assert parser.feed(first[7:]) == [ThoughtDelta("Thinking über 🎉", "c2ln")]
    before = parser.finished
    assert parser.feed(framed(HAND_CHUNKS[1:])) == [
        TextDelta("Grüße"),
        ToolCall("call_1", "lookup", {"q": "x", "n": 3}, "c2lnMg=="),
        ToolCall("own-id", "clock", {}, None),
        Finish("STOP"),
    ]
    assert (before, parser.finished) == (False, True)
    assert parser.close(OK) == [Usage(prompt=30, cached=10, candidates=7, thoughts=5, total=42)]
    assert parser.close(OK) == []
    assert parser.feed(framed(HAND_CHUNKS[1:2])) == []


def test_googles_own_messages_give_the_same_events() -> None:
    """Messages serialized by google-ai-generativelanguage, not by our protojson."""
    messages = [
        g.GenerateContentResponse(
            candidates=[
                g.Candidate(
                    content=g.Content(
                        role="model",
                        parts=[g.Part(text="Let me see.", thought=True, thought_signature=b"sig")],
                    )
                )
            ]
        ),
        g.GenerateContentResponse(
            candidates=[
                g.Candidate(
                    content=g.Content(
                        role="model",
                        parts=[
                            g.Part(text="Answer"),
                            g.Part(
                                function_call=g.FunctionCall(
                                    id="c9", name="f", args={"path": "/a", "deep": {"n": 2}}
                                )
                            ),
                        ],
                    ),
                    finish_reason=g.Candidate.FinishReason.STOP,
                )
            ],
            usage_metadata=g.GenerateContentResponse.UsageMetadata(
                prompt_token_count=4, candidates_token_count=2, total_token_count=6
            ),
        ),
    ]
    raw = [type(m).serialize(m) for m in messages]
    chunks = [
        json_format.MessageToDict(g.GenerateContentResponse.pb(m)) for m in messages
    ]  # what REST would have printed
    body = b"".join(encode_message(r, compress=i == 1) for i, r in enumerate(raw))
    events = grpc_events(split_at(body, [3, 40]), headers=GRPC_GZIP)
    assert events == sse_events(chunks)
    assert events == [
        ThoughtDelta("Let me see.", base64.b64encode(b"sig").decode()),
        TextDelta("Answer"),
        ToolCall("c9", "f", {"path": "/a", "deep": {"n": 2}}, None),
        Finish("STOP"),
        Usage(prompt=4, candidates=2, total=6),
    ]


# --- the outcome: trailers ------------------------------------------------------------------

QUOTA_MESSAGE = "Resource has been exhausted (e.g. check quota). 100% used"
QUOTA_ERROR: JSON = {
    "error": {
        "code": 429,
        "message": QUOTA_MESSAGE,
        "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"}],
    }
}
QUOTA_EVENT = UpstreamError(429, "RESOURCE_EXHAUSTED", QUOTA_MESSAGE, 26.0, "rate_limit")


def quota_trailers() -> dict[str, str]:
    """QUOTA_ERROR as Google's gRPC front end sends it, built with Google's `google.rpc`."""
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromJsonString("26s")
    status = status_pb2.Status(code=8, message=QUOTA_MESSAGE)
    status.details.add().Pack(retry)
    return {
        "grpc-status": "8",
        "grpc-message": percent_encode(QUOTA_MESSAGE),
        "grpc-status-details-bin": base64.b64encode(status.SerializeToString())
        .decode()
        .rstrip("="),
    }


UNFINISHED = HAND_CHUNKS[:2]
UNFINISHED_WITH_USAGE = [
    *HAND_CHUNKS[:1],
    {**HAND_CHUNKS[1], "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 9}},
]


@pytest.mark.parametrize("chunks", [UNFINISHED, UNFINISHED_WITH_USAGE, HAND_CHUNKS])
def test_error_trailers_after_content_match_a_json_error_chunk(chunks: list[JSON]) -> None:
    expected = sse_events([*chunks, QUOTA_ERROR])
    events = grpc_events(split_at(framed(chunks), [5, 50]), quota_trailers())
    assert events == expected
    content = [e for e in events if not isinstance(e, UpstreamError | Usage)]
    assert events[: len(content)] == content  # content first, then the error, then usage
    assert events[len(content)] == QUOTA_EVENT
    assert events[len(content) + 1 :] == [e for e in expected if isinstance(e, Usage)]


def test_error_trailers_keep_the_usage_last() -> None:
    events = grpc_events([framed(UNFINISHED_WITH_USAGE)], quota_trailers())
    assert events == [
        ThoughtDelta("Thinking über 🎉", "c2ln"),
        TextDelta("Grüße"),
        QUOTA_EVENT,
        Usage(prompt=3, total=9),
    ]


@pytest.mark.parametrize("trailers", [None, {}, {"x-other": "1"}])
def test_trailers_only_error_comes_from_the_headers(trailers: dict[str, str] | None) -> None:
    headers = {**GRPC, **quota_trailers()}
    assert grpc_events([], trailers, headers) == [QUOTA_EVENT]


def test_trailers_win_over_headers() -> None:
    headers = {**GRPC, "grpc-status": "8", "grpc-message": "from the headers"}
    events = grpc_events([framed(HAND_CHUNKS)], OK, headers)
    assert events == sse_events(HAND_CHUNKS)


def test_status_without_details_keeps_code_and_message() -> None:
    trailers = {"grpc-status": "14", "grpc-message": "Connection%20reset"}
    events = grpc_events([framed(UNFINISHED)], trailers)
    assert events[-1] == UpstreamError(503, "UNAVAILABLE", "Connection reset")
    assert events[:-1] == sse_events(UNFINISHED)[:-1]


@pytest.mark.parametrize("trailers", [None, {}, {"x-other": "1"}])
def test_no_status_after_an_unfinished_stream_is_truncated_like_json(
    trailers: dict[str, str] | None,
) -> None:
    assert grpc_events([framed(UNFINISHED)], trailers) == sse_events(UNFINISHED)
    assert sse_events(UNFINISHED)[-1] == TRUNCATED


def test_ok_after_an_unfinished_stream_is_truncated_too() -> None:
    assert grpc_events([framed(UNFINISHED_WITH_USAGE)], OK) == [
        *sse_events(UNFINISHED_WITH_USAGE)[:2],
        Usage(prompt=3, total=9),
        TRUNCATED,
    ]


@pytest.mark.parametrize("trailers", [None, OK])
def test_empty_stream_is_truncated(trailers: dict[str, str] | None) -> None:
    assert grpc_events([], trailers) == [
        UpstreamError(502, "STREAM_TRUNCATED", "upstream stream was empty")
    ]


def test_message_cut_off_by_eof_is_a_truncation() -> None:
    body = framed(HAND_CHUNKS)
    cut = body[: len(framed(HAND_CHUNKS[:2])) + 9]  # inside the third message
    assert grpc_events([cut], None) == sse_events(UNFINISHED)
    assert grpc_events([cut], OK) == sse_events(UNFINISHED)


def test_finished_stream_without_a_status_fails_as_a_grpc_client_would() -> None:
    """A gRPC call without `grpc-status` failed, whatever came before (clients say INTERNAL)."""
    events = grpc_events([framed(HAND_CHUNKS)], None)
    complete = sse_events(HAND_CHUNKS)
    missing = UpstreamError(
        502, "UPSTREAM_PROTOCOL_ERROR", "gRPC response ended without grpc-status"
    )
    assert events == [*complete[:-1], missing, complete[-1]]  # the error, then the usage


def test_non_200_with_a_grpc_status_is_read_as_grpc() -> None:
    """A front end's 429 that carries gRPC headers is the gRPC error a client sees."""
    headers = {"content-type": "application/grpc", "grpc-status": "8", "grpc-message": "slow down"}
    parser = GrpcResponseParser(429, headers)
    events = parser.feed(b"") + parser.close(None)
    assert events == [UpstreamError(429, "RESOURCE_EXHAUSTED", "slow down", None, "rate_limit")]


@pytest.mark.parametrize("status", [429, 503, 400])
@pytest.mark.parametrize("content_type", [GRPC, {}], ids=["grpc", "no content-type"])
@pytest.mark.parametrize("trailers", [None, {}])
def test_non_200_with_a_grpc_status_and_details_keeps_the_retry_delay(
    status: int, content_type: dict[str, str], trailers: dict[str, str] | None
) -> None:
    """Status 8 with RetryInfo in the headers of a non-200: Google's quota error, whatever the
    HTTP status says; the status of the event is the gRPC code's."""
    headers = {**content_type, **quota_trailers()}
    assert grpc_events([], trailers, headers, status) == [QUOTA_EVENT]
    html = b"<html><body>Too Many Requests</body></html>"  # a front end's body: not read
    assert grpc_events(split_at(html, [9]), trailers, headers, status) == [QUOTA_EVENT]


# --- not gRPC at all, and broken gRPC -------------------------------------------------------

RATE_LIMITED = orjson.dumps(
    {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"}],
        }
    }
)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, RATE_LIMITED),
        (503, b"upstream connect error or disconnect/reset before headers"),
        (502, b"<html><head><title>502 Bad Gateway</title></head></html>"),
        (404, b""),
    ],
)
def test_non_200_is_read_as_an_error_body(status: int, body: bytes) -> None:
    events = grpc_events(split_at(body, [10]), OK, status=status)
    parser = ResponseParser(status, "text/plain", None)
    assert events == parser.feed(body) + parser.close()
    assert len(events) == 1 and isinstance(events[0], UpstreamError)
    assert events[0].status == status


@pytest.mark.parametrize("grpc_status", [{"grpc-status": "0"}, {"grpc-status": " 0 "}, {}])
def test_non_200_with_status_0_or_none_in_the_headers_is_an_error_body(
    grpc_status: dict[str, str],
) -> None:
    headers = {**GRPC, **grpc_status}
    events = grpc_events(split_at(RATE_LIMITED, [7]), None, headers, 429)
    parser = ResponseParser(429, "application/json", None)
    assert events == parser.feed(RATE_LIMITED) + parser.close()
    assert [(e.status, e.code, e.retry_delay) for e in events if isinstance(e, UpstreamError)] == [
        (429, "RESOURCE_EXHAUSTED", 26.0)
    ]


def test_non_200_error_body_is_capped() -> None:
    events = grpc_events([b"x" * 6, b"y" * 6, b"z" * 6], None, status=400, max_error_body=10)
    assert events == [UpstreamError(400, "HTTP_400", "400 Bad Request: xxxxxxyyyy")]


def protocol_error(message: str) -> UpstreamError:
    return UpstreamError(502, "UPSTREAM_PROTOCOL_ERROR", f"malformed gRPC response: {message}")


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (b"\x02\x00\x00\x00\x01x", "invalid gRPC compressed flag 2"),
        (
            b"\x01\x00\x00\x00\x03abc",
            "compressed gRPC message with grpc-encoding 'identity'",
        ),
    ],
)
def test_corrupt_frame_is_one_protocol_error_and_nothing_after(
    corrupt: bytes, message: str
) -> None:
    parser = GrpcResponseParser(200, GRPC, new_call_id=ids())
    assert parser.feed(framed(UNFINISHED_WITH_USAGE)) == sse_events(UNFINISHED_WITH_USAGE)[:2]
    assert parser.feed(corrupt) == [protocol_error(message)]
    assert parser.finished
    assert parser.feed(framed(HAND_CHUNKS[2:])) == []
    assert parser.close(quota_trailers()) == []  # no usage, no truncation, no trailer error


def test_corrupt_gzip_message_is_a_protocol_error() -> None:
    events = grpc_events([b"\x01\x00\x00\x00\x04oops"], OK, GRPC_GZIP)
    assert len(events) == 1
    error = events[0]
    assert isinstance(error, UpstreamError)
    assert (error.status, error.code) == (502, "UPSTREAM_PROTOCOL_ERROR")
    assert error.message.startswith("malformed gRPC response: corrupt gzip gRPC message")


def test_oversized_message_is_a_protocol_error() -> None:
    events = grpc_events([framed(HAND_CHUNKS)], OK, max_event_size=64)
    assert len(events) == 1
    assert isinstance(events[0], UpstreamError)
    assert events[0].code == "UPSTREAM_PROTOCOL_ERROR"
    assert "exceeds 64 bytes" in events[0].message


@pytest.mark.parametrize(
    "message",
    [
        b"\xff\xff\xff",  # not protobuf at all
        b"\x0a\x07\x0a\x05\x0a\x03\x12\x01\xff",  # a part's text that is not UTF-8
        b"\x0a\x05\x12\x03\x0a",  # a candidate whose content is cut short
    ],
)
def test_unmappable_message_is_a_protocol_error(message: bytes) -> None:
    parser = GrpcResponseParser(200, GRPC, new_call_id=ids())
    events = parser.feed(framed(UNFINISHED) + encode_message(message))
    assert events[:-1] == sse_events(UNFINISHED)[:-1]
    error = events[-1]
    assert isinstance(error, UpstreamError)
    assert (error.status, error.code) == (502, "UPSTREAM_PROTOCOL_ERROR")
    assert error.message.startswith(
        "malformed gRPC response: not a valid GenerateContentResponse"
    ), error.message
    assert parser.close(OK) == []


def test_fields_newer_than_our_schema_are_ignored() -> None:
    unknown_field = b"\xb8\x3e\x01"  # field 999, varint 1
    raw = protojson.response_from_json(HAND_CHUNKS[1]) + unknown_field
    assert grpc_events([encode_message(raw)], OK) == [TextDelta("Grüße"), TRUNCATED]


# --- robustness -----------------------------------------------------------------------------

_TRAILER_NAMES = st.sampled_from(
    ["grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "x-other"]
)
_TRAILERS = st.none() | st.dictionaries(
    _TRAILER_NAMES | st.text(max_size=10),
    st.sampled_from(
        ["0", "8", "14", "99", "-1", " 3 ", "", quota_trailers()["grpc-status-details-bin"]]
    )
    | st.text(max_size=40),
    max_size=5,
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid stream with a random slice replaced by random bytes."""
    body = framed(draw(st.sampled_from(list(SCENARIOS.values()))), draw(st.lists(st.booleans())))
    start = draw(st.integers(min_value=0, max_value=len(body)))
    end = draw(st.integers(min_value=start, max_value=min(len(body), start + 40)))
    return body[:start] + draw(st.binary(max_size=20)) + body[end:]


@settings(max_examples=300)
@given(
    mutated() | st.binary(max_size=300),
    st.sampled_from([200, 200, 429, 503]),
    st.dictionaries(
        st.sampled_from(
            ["grpc-encoding", "grpc-status", "grpc-message", "grpc-status-details-bin"]
        ),
        st.sampled_from(["gzip", "deflate", "snappy", "8", "0"]) | st.text(max_size=20),
    ),
    _TRAILERS,
    st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
)
def test_garbage_never_raises(
    body: bytes,
    status: int,
    headers: dict[str, str],
    trailers: dict[str, str] | None,
    cuts: list[int],
) -> None:
    events = grpc_events(
        split_at(body, cuts), trailers, {**GRPC, **headers}, status, max_event_size=1024
    )
    assert_well_formed(events, http_status=status)
    # Every stream ends somehow: a finish or an error.
    assert any(isinstance(e, Finish | UpstreamError) for e in events)


# --- parser_for -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/grpc",
        "application/grpc+proto",
        "application/grpc; charset=utf-8",
        "Application/GRPC",
        " application/grpc+PROTO ;x=y",
    ],
)
def test_parser_for_grpc(content_type: str) -> None:
    parser = parser_for(200, {"content-type": content_type})
    assert isinstance(parser, GrpcResponseParser)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/grpc-web",
        "application/grpc-web+proto",
        "application/grpc-web-text",
        "application/grpc+json",
        "text/event-stream",
        "application/json; charset=UTF-8",
        None,
    ],
)
def test_parser_for_everything_else(content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    parser = parser_for(200, headers)
    assert isinstance(parser, ResponseParser)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/json", "text/html; charset=utf-8", "application/grpc"],
)
def test_parser_for_a_grpc_call_is_grpc_whatever_the_content_type(
    content_type: str | None,
) -> None:
    """An error may come without a gRPC content type: the request says it is a gRPC call."""
    headers = {} if content_type is None else {"content-type": content_type}
    assert isinstance(parser_for(200, headers, grpc=True), GrpcResponseParser)
    assert isinstance(parser_for(503, headers, grpc=True), GrpcResponseParser)


def test_trailers_only_answer_without_a_content_type() -> None:
    headers = {"grpc-status": "8", "grpc-message": "slow%20down"}
    grpc_parser = parser_for(200, headers, grpc=True)
    assert grpc_parser.feed(b"") + grpc_parser.close(None) == [
        UpstreamError(429, "RESOURCE_EXHAUSTED", "slow down", None, "rate_limit")
    ]
    json_parser = parser_for(200, headers)  # what reading it by its content type gave
    assert json_parser.feed(b"") + json_parser.close() == [
        UpstreamError(502, "STREAM_TRUNCATED", "upstream stream was empty")
    ]


@pytest.mark.parametrize(
    ("content_type", "grpc"),
    [
        ("application/grpc", True),
        ("application/grpc+proto", True),
        ("application/grpc+json", True),
        ("application/grpc+custom-codec", True),
        ("Application/GRPC; charset=utf-8", True),
        (" application/grpc+JSON ;x=y", True),
        ("application/grpc-web", False),
        ("application/grpc-web+proto", False),
        ("application/grpc-web-text", False),
        ("application/grpcfoo", False),
        ("text/plain", False),
        ("application/json", False),
        ("", False),
        (None, False),
    ],
)
def test_is_grpc(content_type: str | None, grpc: bool) -> None:
    assert is_grpc(content_type) is grpc


def test_parser_for_hands_the_headers_on() -> None:
    grpc_parser = parser_for(200, GRPC_GZIP)  # the encoding reaches the message decoder
    events = grpc_parser.feed(framed(HAND_CHUNKS, [True, True, True])) + grpc_parser.close(OK)
    reference = sse_events(HAND_CHUNKS)
    assert len(events) == len(reference)
    call = events[2]
    assert isinstance(call, ToolCall) and call.id.startswith("call_")  # minted: no id came
    assert events[:2] + events[3:] == reference[:2] + reference[3:]
    json_parser = parser_for(429, {"content-type": "application/json", "content-encoding": "br"})
    assert isinstance(json_parser, ResponseParser)
    assert json_parser.feed(b"not brotli") + json_parser.close() == [
        UpstreamError(429, "HTTP_429", "429 Too Many Requests", None, "rate_limit")
    ]
