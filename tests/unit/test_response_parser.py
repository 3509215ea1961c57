"""ResponseParser: the whole bytes-to-events path, its encodings, errors and robustness."""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Callable
from typing import Any

import brotli
import orjson
import pytest
import zstandard
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
from zerogravity_proxy.gemini.response import ResponseParser

JSON = dict[str, Any]
SSE = "text/event-stream"


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"call_{next(counter)}"


def parse_chunks(
    chunks: list[bytes],
    status: int = 200,
    content_type: str | None = SSE,
    encoding: str | None = None,
    **kwargs: int,
) -> list[Event]:
    parser = ResponseParser(status, content_type, encoding, new_call_id=ids(), **kwargs)
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.close()


def parse(data: bytes, *args: Any, **kwargs: Any) -> list[Event]:
    return parse_chunks([data], *args, **kwargs)


def sse(*chunks: Any, eol: bytes = b"\n") -> bytes:
    return b"".join(b"data: " + orjson.dumps(c) + eol + eol for c in chunks)


def json_array(*chunks: Any) -> bytes:
    return (
        b"[" + b"\n,\r\n".join(orjson.dumps(c, option=orjson.OPT_INDENT_2) for c in chunks) + b"]"
    )


CLOUDCODE_SSE = (
    b'data: {"response":{"candidates":[{"content":{"role":"model","parts":[{"text":"Looking at '
    b'the file first.","thought":true}]}}],"modelVersion":"gemini-3-flash","responseId":"eBNcat8X5'
    b'evPsg_lhqyQAg"},"traceId":"55650653afd3c738"}\n\n'
    b'data: {"response":{"candidates":[{"content":{"role":"model","parts":[{"thoughtSignature":"Eq'
    b'ADCp0DAXLI2nx...","functionCall":{"name":"view_file","args":{"AbsolutePath":"/a"}}}]},"finis'
    b'hReason":"STOP"}],"usageMetadata":{"promptTokenCount":11291,"candidatesTokenCount":64,"thoug'
    b'htsTokenCount":16,"totalTokenCount":11371},"modelVersion":"gemini-3-flash","responseId":"eBN'
    b'cat8X5evPsg_lhqyQAg"},"traceId":"55650653afd3c738"}\n\n'
)
CLOUDCODE_EVENTS: list[Event] = [
    ThoughtDelta("Looking at the file first."),
    ToolCall("call_1", "view_file", {"AbsolutePath": "/a"}, "EqADCp0DAXLI2nx..."),
    Finish("STOP"),
    Usage(prompt=11291, candidates=64, thoughts=16, total=11371),
]

GEMINI_CHUNKS: list[JSON] = [
    {"candidates": [{"content": {"parts": [{"text": "Thinking über 🎉", "thought": True}]}}]},
    {"candidates": [{"content": {"parts": [{"text": "Grüße"}]}}]},
    {
        "candidates": [
            {
                "content": {"parts": [{"text": "", "thoughtSignature": "c2ln"}]},
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
    },
]
GEMINI_EVENTS: list[Event] = [
    ThoughtDelta("Thinking über 🎉"),
    TextDelta("Grüße"),
    TextDelta("", "c2ln"),
    Finish("STOP"),
    Usage(prompt=3, candidates=2, total=5),
]

RATE_LIMIT_429 = (
    b'{"error":{"code":429,"message":"You have exhausted your capacity on this model. Your quota '
    b'will reset after 0s.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.co'
    b'm/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"cloudcode-pa.googleapis.co'
    b'm","metadata":{"model":"claude-opus-4-6-thinking","quotaResetDelay":"479.417207ms","quotaRes'
    b'etTimeStamp":"2026-04-20T09:19:49Z","uiMessage":"true"}},{"@type":"type.googleapis.com/googl'
    b'e.rpc.RetryInfo","retryDelay":"0.479417207s"}]}}'
)
RATE_LIMIT_EVENT = UpstreamError(
    429,
    "RESOURCE_EXHAUSTED",
    "You have exhausted your capacity on this model. Your quota will reset after 0s.",
    0.479417207,
    "rate_limit",
)

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_cloudcode_sse(eol: bytes) -> None:
    assert parse(CLOUDCODE_SSE.replace(b"\n", eol)) == CLOUDCODE_EVENTS


def test_cloudcode_sse_in_one_byte_chunks() -> None:
    data = CLOUDCODE_SSE.replace(b"\n", b"\r\n")
    assert parse_chunks([data[i : i + 1] for i in range(len(data))]) == CLOUDCODE_EVENTS


def test_events_arrive_with_their_chunk() -> None:
    parser = ResponseParser(200, "text/event-stream; charset=UTF-8", None, new_call_id=ids())
    first, second = CLOUDCODE_SSE.split(b"\n\n", 1)
    assert parser.feed(first + b"\n\n") == [ThoughtDelta("Looking at the file first.")]
    before = parser.finished
    assert parser.feed(second) == CLOUDCODE_EVENTS[1:3]
    assert (before, parser.finished) == (False, True)
    assert parser.close() == CLOUDCODE_EVENTS[3:]


@pytest.mark.parametrize("encoding", sorted(COMPRESSORS))
def test_content_encodings(encoding: str) -> None:
    body = COMPRESSORS[encoding](CLOUDCODE_SSE)
    assert parse_chunks(split_at(body, [1, 7, 30]), encoding=encoding.upper()) == CLOUDCODE_EVENTS


@pytest.mark.parametrize("encoding", [None, "", "identity"])
def test_identity_encodings(encoding: str | None) -> None:
    assert parse(CLOUDCODE_SSE, encoding=encoding) == CLOUDCODE_EVENTS


@pytest.mark.parametrize("content_type", ["application/json; charset=UTF-8", None])
def test_streamed_json_array(content_type: str | None) -> None:
    assert parse(json_array(*GEMINI_CHUNKS), content_type=content_type) == GEMINI_EVENTS


def test_public_gemini_sse() -> None:
    assert parse(sse(*GEMINI_CHUNKS)) == GEMINI_EVENTS


def test_unary_json_object() -> None:
    body = orjson.dumps({"response": GEMINI_CHUNKS[2], "traceId": "t"})
    assert parse(body, content_type="application/json") == GEMINI_EVENTS[2:]


def test_error_status_with_sse_content_type_is_one_json_error() -> None:
    assert parse_chunks([RATE_LIMIT_429[:50], RATE_LIMIT_429[50:]]) == [RATE_LIMIT_EVENT]


def test_array_wrapped_error_body() -> None:
    body = b"[" + RATE_LIMIT_429 + b"]"
    assert parse(gzip.compress(body), 429, "application/json", "gzip") == [RATE_LIMIT_EVENT]


def test_mitmproxy_502_page() -> None:
    page = b"<html>\n<head>\n    <title>502 Bad Gateway</title>\n</head>\n</html>"
    assert parse(page, 502, "text/html") == [
        UpstreamError(502, "UPSTREAM_UNREACHABLE", "502 Bad Gateway")
    ]


def test_error_body_is_capped() -> None:
    events = parse_chunks([b"x" * 6, b"y" * 6, b"z" * 6], 400, "text/plain", max_error_body=10)
    assert events == [UpstreamError(400, "HTTP_400", "400 Bad Request: xxxxxxyyyy")]


def test_error_body_that_fails_to_decompress_keeps_the_status() -> None:
    events = parse(b"not gzip at all", 429, "application/json", "gzip")
    assert events == [UpstreamError(429, "HTTP_429", "429 Too Many Requests", None, "rate_limit")]


def test_mid_stream_error_chunk() -> None:
    body = sse(
        {**GEMINI_CHUNKS[1], "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 4}},
        {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}},
        GEMINI_CHUNKS[2],
    )
    parser = ResponseParser(200, SSE, None, new_call_id=ids())
    assert parser.feed(body) == [
        TextDelta("Grüße"),
        UpstreamError(500, "INTERNAL", "Internal error encountered."),
    ]
    assert parser.finished
    assert parser.feed(b"data: not json\n\n") == []
    assert parser.close() == [Usage(prompt=3, total=4)]


def test_bare_json_error_lines_inside_a_200_stream() -> None:
    pretty = orjson.dumps(orjson.loads(b"[" + RATE_LIMIT_429 + b"]"), option=orjson.OPT_INDENT_2)
    assert parse(sse(GEMINI_CHUNKS[1]) + pretty + b"\n") == [TextDelta("Grüße"), RATE_LIMIT_EVENT]


def test_stream_cut_between_events_is_truncated() -> None:
    assert parse(sse(*GEMINI_CHUNKS[:2])) == [
        *GEMINI_EVENTS[:2],
        UpstreamError(502, "STREAM_TRUNCATED", "upstream stream ended without a finish reason"),
    ]


@pytest.mark.parametrize("content_type", [SSE, "application/json"])
def test_stream_cut_inside_a_payload_is_truncated(content_type: str) -> None:
    body = sse(*GEMINI_CHUNKS) if content_type == SSE else json_array(*GEMINI_CHUNKS)
    cut = body.index(b"thoughtSignature")
    assert parse(body[:cut], content_type=content_type) == [
        *GEMINI_EVENTS[:2],
        UpstreamError(502, "STREAM_TRUNCATED", "upstream stream ended without a finish reason"),
    ]


def test_stream_without_final_blank_line_is_complete() -> None:
    assert parse(sse(*GEMINI_CHUNKS).rstrip(b"\n")) == GEMINI_EVENTS


@pytest.mark.parametrize("content_type", [SSE, "application/json"])
def test_empty_200_body(content_type: str) -> None:
    assert parse(b"", content_type=content_type) == [
        UpstreamError(502, "STREAM_TRUNCATED", "upstream stream was empty")
    ]


def test_blocked_prompt() -> None:
    blocked = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
    }
    assert parse(sse(blocked)) == [
        Finish("PROMPT_BLOCKED", "prompt blocked: SAFETY"),
        Usage(prompt=8, total=8),
    ]


def test_grounding_passes_through() -> None:
    chunk = {
        "candidates": [
            {
                "content": {"parts": [{"text": "Ja."}]},
                "finishReason": "STOP",
                "groundingMetadata": {"webSearchQueries": ["q"]},
            }
        ]
    }
    assert parse(sse(chunk)) == [TextDelta("Ja."), Grounding(("q",), (), ()), Finish("STOP")]


def protocol_error(message: str) -> UpstreamError:
    return UpstreamError(502, "UPSTREAM_PROTOCOL_ERROR", message)


def test_invalid_json_payload_is_a_protocol_error_and_parser_goes_inert() -> None:
    parser = ResponseParser(200, SSE, None, new_call_id=ids())
    events = parser.feed(sse(GEMINI_CHUNKS[1]) + b"data: {oops\n\n")
    assert events[0] == TextDelta("Grüße")
    error = events[1]
    assert isinstance(error, UpstreamError)
    assert (error.status, error.code) == (502, "UPSTREAM_PROTOCOL_ERROR")
    assert error.message.startswith("invalid JSON in upstream response: ")
    assert len(events) == 2
    assert parser.finished
    assert parser.feed(sse(GEMINI_CHUNKS[2])) == []
    assert parser.close() == []


def test_payload_that_is_not_an_object() -> None:
    assert parse(b"data: 42\n\n") == [
        protocol_error("malformed upstream response: payload is not a JSON object")
    ]


def test_oversized_event() -> None:
    assert parse(b"data: " + b"a" * 100, max_event_size=64) == [
        protocol_error("malformed upstream response: SSE line exceeds 64 bytes")
    ]


def test_malformed_json_array() -> None:
    assert parse(b'[{"a": 1} {"b": 2}]', content_type="application/json") == [
        protocol_error("malformed upstream response: unexpected '{' in JSON stream (SEPARATOR)")
    ]


def test_unsupported_content_encoding() -> None:
    assert parse(CLOUDCODE_SSE, encoding="compress") == [
        protocol_error("malformed upstream response: unsupported content-encoding 'compress'")
    ]


def test_corrupt_gzip() -> None:
    assert parse(b"definitely not gzip", encoding="gzip") == [
        protocol_error(
            "cannot decompress upstream response: "
            "Error -3 while decompressing data: incorrect header check"
        )
    ]


def test_empty_feeds_are_ignored() -> None:
    parser = ResponseParser(200, SSE, None, new_call_id=ids())
    assert parser.feed(b"") == []
    assert parser.feed(CLOUDCODE_SSE) == CLOUDCODE_EVENTS[:3]
    assert parser.close() == CLOUDCODE_EVENTS[3:]
    assert parser.close() == []


# --- properties -----------------------------------------------------------------------------

_cuts = st.lists(st.integers(min_value=0, max_value=3000), max_size=20)
_bodies = st.sampled_from(
    [
        (CLOUDCODE_SSE, SSE, CLOUDCODE_EVENTS),
        (CLOUDCODE_SSE.replace(b"\n", b"\r\n"), SSE, CLOUDCODE_EVENTS),
        (CLOUDCODE_SSE.replace(b"\n", b"\r"), SSE, CLOUDCODE_EVENTS),
        (sse(*GEMINI_CHUNKS, eol=b"\r\n"), SSE, GEMINI_EVENTS),
        (json_array(*GEMINI_CHUNKS), "application/json", GEMINI_EVENTS),
    ]
)


@given(_bodies, st.sampled_from([None, *sorted(COMPRESSORS)]), _cuts)
def test_any_chunking_gives_the_same_events(
    case: tuple[bytes, str, list[Event]], encoding: str | None, cuts: list[int]
) -> None:
    body, content_type, expected = case
    if encoding is not None:
        body = COMPRESSORS[encoding](body)
    assert parse(body, content_type=content_type, encoding=encoding) == expected
    chunks = split_at(body, cuts)
    assert parse_chunks(chunks, content_type=content_type, encoding=encoding) == expected


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid body with a random slice replaced by random bytes (mitmproxy's fuzz recipe)."""
    body = draw(st.sampled_from([CLOUDCODE_SSE, json_array(*GEMINI_CHUNKS), RATE_LIMIT_429]))
    start = draw(st.integers(min_value=0, max_value=len(body)))
    end = draw(st.integers(min_value=start, max_value=min(len(body), start + 40)))
    return body[:start] + draw(st.binary(max_size=20)) + body[end:]


@settings(max_examples=300)
@given(
    mutated() | st.binary(max_size=200),
    st.sampled_from([200, 400, 429, 502]),
    st.sampled_from([SSE, "application/json", None]),
    st.sampled_from([None, "gzip", "br", "zstd", "compress"]),
    st.booleans(),
    _cuts,
)
def test_garbage_never_raises(
    body: bytes,
    status: int,
    content_type: str | None,
    encoding: str | None,
    compress: bool,
    cuts: list[int],
) -> None:
    if compress and encoding in COMPRESSORS:
        body = COMPRESSORS[encoding](body)
    events = parse_chunks(split_at(body, cuts), status, content_type, encoding, max_event_size=256)
    assert_well_formed(events, http_status=status)


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "application/json"])
def test_unlabelled_sse_is_still_sse(content_type: str | None) -> None:
    """Some upstreams (and fakes of them) stream SSE without saying so: the body decides."""
    body = b'data: {"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":"STOP"}]}\r\n\r\n'
    parser = ResponseParser(200, content_type, None)
    events = [*parser.feed(body[:7]), *parser.feed(body[7:]), *parser.close()]
    assert events == [TextDelta("Hi"), Finish("STOP")]
