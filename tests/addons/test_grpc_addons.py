"""The gRPC path through the addons: Inject (tag and LS rules), Capture, Upstream, flows.

Flows are HTTP/2 gRPC calls to the public API's GenerativeService, as a gRPC client sends them
through the proxy; request messages are written with Google's own client types, and what we
forward is read back with them. The test master and its helpers are tests/addons/test_addons.py's.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest
from google.ai.generativelanguage_v1beta import types as g
from google.protobuf import json_format
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped, unused-ignore]
from mitmproxy import http
from mitmproxy.proxy.layers.http._hooks import (
    HttpRequestHeadersHook,
    HttpRequestHook,
    HttpResponseHeadersHook,
    HttpResponseHook,
)
from mitmproxy.test import taddons, tflow, tutils

from tests.addons.test_addons import (
    CC_PATH,
    CHUNK_1,
    CHUNK_2,
    CLOUDCODE_HOST,
    EVENTS,
    GEMINI_HOST,
    GEN_PATH,
    SPEC,
    USAGE,
    Rig,
    drain,
    flatten,
    make_flow,
    respond,
    rig_for,
    stream_of,
)
from tests.chunking import split_at
from zerogravity_proxy.addons import flows
from zerogravity_proxy.addons.capture import Capture, Tap
from zerogravity_proxy.addons.flows import (
    META_ENDPOINT,
    META_EXCHANGE,
    META_GOOGLE,
    META_LANGUAGE_SERVER,
    META_MODEL,
    META_REFUSED,
    META_SYNTHETIC,
    TAG_HEADER,
)
from zerogravity_proxy.addons.guard import META_GUARDED, Guard
from zerogravity_proxy.addons.inject import Inject
from zerogravity_proxy.addons.upstream import Upstream
from zerogravity_proxy.events import Event, Finish, TextDelta, ToolCall, UpstreamError, Usage
from zerogravity_proxy.exchanges import Exchange
from zerogravity_proxy.gemini import protojson, wire
from zerogravity_proxy.gemini.cascade import marker
from zerogravity_proxy.gemini.grpc import GRPC_CODES, GrpcMessageDecoder, encode_message
from zerogravity_proxy.gemini.request import Endpoint
from zerogravity_proxy.gemini.response import GrpcResponseParser
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings

pytestmark = pytest.mark.usefixtures("no_errors_logged")  # any ERROR log fails a test

JSON = dict[str, Any]

SERVICE = "/google.ai.generativelanguage.v1beta.GenerativeService"
STREAM_PATH = f"{SERVICE}/StreamGenerateContent"
COUNT_PATH = f"{SERVICE}/CountTokens"
OTHER_SERVICE_PATH = "/google.ai.generativelanguage.v1beta.ModelService/ListModels"
GRPC_ENDPOINT = Endpoint("gemini", "streamGenerateContent", None, grpc=True)

# The client's payload, everything protobuf can carry, enum names as protobuf prints them.
GRPC_SPEC = dataclasses.replace(
    SPEC,
    tools=[
        {
            "functionDeclarations": [
                {
                    "name": "lookup",
                    "description": "Look a word up.",
                    "parameters": {
                        "type": "OBJECT",
                        "properties": {"word": {"type": "STRING"}},
                        "required": ["word"],
                    },
                }
            ]
        }
    ],
    tool_config={"functionCallingConfig": {"mode": "AUTO"}},
    generation_config={
        "temperature": 0.5,
        "maxOutputTokens": 100,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024},
    },
)

SAFETY = [
    g.SafetySetting(
        category=g.HarmCategory.HARM_CATEGORY_HARASSMENT,
        threshold=g.SafetySetting.HarmBlockThreshold.BLOCK_NONE,
    )
]


# --- helpers --------------------------------------------------------------------------------


def google_message(**fields: Any) -> bytes:
    """A GenerateContentRequest serialized by Google's own client library."""
    message = g.GenerateContentRequest(**fields)
    data: bytes = type(message).serialize(message)
    return data


def originator_body(*, compress: bool = False, text: str = ".") -> bytes:
    """What a gRPC client sends: its model, a placeholder turn, its own config and settings."""
    message = google_message(
        model="models/gemini-2.5-pro",
        contents=[g.Content(role="user", parts=[g.Part(text=text)])],
        generation_config=g.GenerationConfig(temperature=1.0, candidate_count=1),
        safety_settings=SAFETY,
    )
    return encode_message(message, compress=compress)


def grpc_flow(
    content: bytes,
    *,
    path: str = STREAM_PATH,
    host: str = GEMINI_HOST,
    headers: Sequence[tuple[str, str]] = (),
) -> http.HTTPFlow:
    """An HTTP/2 gRPC call as mitmproxy sees it after the client's CONNECT (TLS, port 443)."""
    fields = [
        (b"content-type", b"application/grpc"),
        (b"te", b"trailers"),
        (b"grpc-accept-encoding", b"identity, deflate, gzip"),
        (b"x-goog-api-key", b"k"),
        *((k.encode(), v.encode()) for k, v in headers),
    ]
    request = tutils.treq(
        method=b"POST",
        scheme=b"https",
        host=host,
        port=443,
        authority=host.encode(),
        path=path.encode(),
        http_version=b"HTTP/2.0",
        headers=http.Headers(fields),
        content=content,
    )
    return tflow.tflow(req=request)


def grpc_respond(flow: http.HTTPFlow, *headers: tuple[str, str]) -> None:
    """gRPC response headers as they arrive from the upstream (no body, no trailers yet)."""
    fields = [
        (b"content-type", b"application/grpc"),
        *((k.encode(), v.encode()) for k, v in headers),
    ]
    flow.response = tutils.tresp(
        http_version=b"HTTP/2.0",
        status_code=200,
        reason=b"",
        headers=http.Headers(fields),
        content=None,
    )


def frames(chunks: Sequence[JSON], *, compress: bool = False) -> bytes:
    """Response chunks as GenerateContentResponse messages, one frame each."""
    return b"".join(
        encode_message(protojson.response_from_json(c), compress=compress) for c in chunks
    )


async def stream_response(
    rig: Rig, flow: http.HTTPFlow, pieces: Sequence[bytes], trailers: dict[str, str] | None
) -> list[bytes]:
    """responseheaders, the body through the stream callable, the trailers, the end."""
    trigger = rig.tctx.master.addons.trigger_event
    await trigger(HttpResponseHeadersHook(flow))
    tap = stream_of(flow)
    out = [tap(piece) for piece in pieces]
    assert flow.response is not None
    if trailers is not None:
        flow.response.trailers = http.Headers(
            [(k.encode(), v.encode()) for k, v in trailers.items()]
        )
    out.append(tap(b""))
    await trigger(HttpResponseHook(flow))
    return out


def sent_request(flow: http.HTTPFlow) -> g.GenerateContentRequest:
    """The forwarded body: exactly one uncompressed frame, read with Google's types."""
    content = flow.request.content
    assert content is not None and content[0] == 0
    decoder = GrpcMessageDecoder(None)
    (message,) = decoder.feed(content) + decoder.close()
    request: g.GenerateContentRequest = g.GenerateContentRequest.deserialize(message)
    return request


def as_json(message: g.GenerateContentRequest | g.GenerateContentResponse) -> JSON:
    printed: JSON = json_format.MessageToDict(type(message).pb(message))
    return printed


def answer_events(flow: http.HTTPFlow) -> list[Event]:
    """Our own gRPC answer, read as the client's parser would read it."""
    response = flow.response
    assert response is not None and response.content is not None
    parser = GrpcResponseParser(response.status_code, response.headers)
    return parser.feed(response.content) + parser.close(response.trailers)


def quota_trailers(message: str = "Resource has been exhausted (e.g. check quota).") -> JSON:
    """A 429 as Google's gRPC front end reports it, details built with Google's google.rpc."""
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.FromJsonString("26s")
    status = status_pb2.Status(code=8, message=message)
    status.details.add().Pack(retry)
    return {
        "grpc-status": "8",
        "grpc-message": message.replace(" ", "%20"),
        "grpc-status-details-bin": base64.b64encode(status.SerializeToString()).decode(),
    }


RATE_LIMITED = UpstreamError(
    429,
    "RESOURCE_EXHAUSTED",
    "Resource has been exhausted (e.g. check quota).",
    retry_delay=26.0,
    quota="rate_limit",
)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    # A non-default upstream scheme and port: a gRPC flow must not be given them.
    for r in rig_for(Settings(upstream_url="http://127.0.0.1:8999")):
        yield r


@pytest.fixture
async def ls_rig() -> AsyncIterator[Rig]:
    for r in rig_for(Settings(driver="antigravity")):
        yield r


@pytest.fixture
async def override_rig() -> AsyncIterator[Rig]:
    for r in rig_for(Settings(upstream_override="http://127.0.0.1:9")):
        yield r


# --- Inject: the tag rule -------------------------------------------------------------------


@pytest.mark.parametrize("compress", [False, True])
async def test_tagged_grpc_request_is_rewritten(rig: Rig, compress: bool) -> None:
    exchange = rig.open(GRPC_SPEC)
    headers = [(TAG_HEADER, exchange.id)]
    if compress:
        headers.append(("grpc-encoding", "gzip"))
    flow = grpc_flow(originator_body(compress=compress), headers=headers)
    await rig.request_hooks(flow)

    assert flow.response is None
    message = sent_request(flow)
    assert as_json(message) == {
        "model": "models/gemini-2.5-pro",  # the originator's envelope
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "contents": GRPC_SPEC.contents,  # the client's payload
        "systemInstruction": GRPC_SPEC.system_instruction,
        "tools": GRPC_SPEC.tools,
        "toolConfig": GRPC_SPEC.tool_config,
        "generationConfig": GRPC_SPEC.generation_config,
    }
    assert TAG_HEADER not in flow.request.headers
    assert flow.request.headers["content-type"] == "application/grpc"
    assert flow.request.headers["x-goog-api-key"] == "k"
    # Through CONNECT: the client's own scheme, host and port, not upstream_url's.
    assert (flow.request.scheme, flow.request.host, flow.request.port) == (
        "https",
        GEMINI_HOST,
        443,
    )
    assert flow.request.http_version == "HTTP/2.0"
    assert flow.metadata[META_EXCHANGE] == exchange.id
    assert flow.metadata[META_ENDPOINT] == GRPC_ENDPOINT
    assert exchange.matched.is_set() and exchange.rule == "tag"
    assert not flow.request.stream  # buffered, so that it could be rewritten


async def test_grpc_request_with_unknown_tag_gets_a_grpc_refusal(rig: Rig) -> None:
    body = originator_body()
    flow = grpc_flow(body, headers=[(TAG_HEADER, "0" * 32)])
    await rig.request_hooks(flow)

    response = flow.response
    assert response is not None
    assert response.status_code == 200  # gRPC clients read grpc-status, not HTTP status
    assert response.headers["content-type"] == "application/grpc"
    assert response.headers["grpc-status"] == "10"  # ABORTED
    assert GRPC_CODES[10] == "ABORTED"
    assert response.headers["grpc-message"] == "unknown, expired or already matched exchange"
    assert response.content == b"" and response.trailers is None  # trailers-only
    assert answer_events(flow) == [
        UpstreamError(409, "ABORTED", "unknown, expired or already matched exchange")
    ]
    assert flow.metadata[META_REFUSED] is True
    assert META_EXCHANGE not in flow.metadata
    assert TAG_HEADER not in flow.request.headers
    assert flow.request.content == body


async def test_spec_that_protobuf_cannot_carry_fails_the_exchange(rig: Rig) -> None:
    spec = dataclasses.replace(SPEC, generation_config={"thinkingConfig": {"thinkingLevel": "max"}})
    exchange = rig.open(spec)
    body = originator_body()
    flow = grpc_flow(body, headers=[(TAG_HEADER, exchange.id)])
    await rig.request_hooks(flow)

    assert drain(exchange) == [
        [UpstreamError(400, "INVALID_ARGUMENT", "unknown thinking level 'max'")],
        None,
    ]
    response = flow.response
    assert response is not None and response.status_code == 200
    assert response.headers["grpc-status"] == "3"  # INVALID_ARGUMENT
    assert answer_events(flow) == [
        UpstreamError(400, "INVALID_ARGUMENT", "unknown thinking level 'max'")
    ]
    assert flow.metadata[META_REFUSED] is True
    assert META_EXCHANGE not in flow.metadata
    assert flow.request.content == body  # nothing half-rewritten
    assert exchange.matched.is_set()  # taken: it cannot be matched again


async def test_spec_with_a_level_is_sent_with_its_budget(rig: Rig) -> None:
    spec = dataclasses.replace(
        SPEC,
        generation_config={"thinkingConfig": {"includeThoughts": True, "thinkingLevel": "low"}},
    )
    exchange = rig.open(spec)
    flow = grpc_flow(originator_body(), headers=[(TAG_HEADER, exchange.id)])
    await rig.request_hooks(flow)
    assert flow.response is None
    thinking = sent_request(flow).generation_config.thinking_config
    assert (thinking.include_thoughts, thinking.thinking_budget) == (True, 1024)


async def test_tagged_non_generating_grpc_call_is_refused(rig: Rig) -> None:
    exchange = rig.open()
    count = google_message(model="models/gemini-2.5-pro")  # any body: the path decides
    flow = grpc_flow(encode_message(count), path=COUNT_PATH, headers=[(TAG_HEADER, exchange.id)])
    rig.inject.request(flow)
    assert answer_events(flow) == [
        UpstreamError(
            400, "INVALID_ARGUMENT", f"tagged request to a non-generating path: {COUNT_PATH}"
        )
    ]
    assert not exchange.matched.is_set()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (originator_body() * 2, "expected one gRPC message, got 2"),
        (
            originator_body()[:-1],
            "bad gRPC framing: stream ended inside a gRPC message (50 of 51 bytes)",
        ),
        (orjson.dumps({"contents": []}), "bad gRPC framing: invalid gRPC compressed flag 123"),
    ],
    ids=["two messages", "cut short", "JSON"],
)
async def test_tagged_grpc_request_with_a_bad_body_is_refused(
    rig: Rig, content: bytes, reason: str
) -> None:
    exchange = rig.open()
    flow = grpc_flow(content, headers=[(TAG_HEADER, exchange.id)])
    rig.inject.request(flow)
    (error,) = answer_events(flow)
    assert isinstance(error, UpstreamError)
    assert (error.status, error.code) == (400, "INVALID_ARGUMENT")
    assert error.message == f"originator body is not a Gemini request: {reason}"
    assert not exchange.matched.is_set()
    assert flow.request.content == content


# --- Inject: the language server's rule -----------------------------------------------------

LS_SYSTEM = "You are Antigravity, a powerful agentic AI coding assistant."


def ls_body(text: str, *, model: str = "models/gemini-3-flash") -> bytes:
    """The LS's StreamGenerateContent in public-API form, written with Google's types."""
    return encode_message(
        google_message(
            model=model,
            system_instruction=g.Content(parts=[g.Part(text=LS_SYSTEM)]),
            contents=[
                g.Content(role="user", parts=[g.Part(text="earlier turn")]),
                g.Content(role="model", parts=[g.Part(text="earlier answer")]),
                g.Content(
                    role="user",
                    parts=[g.Part(text="<USER_REQUEST>"), g.Part(text=text)],
                ),
            ],
            tools=[
                g.Tool(
                    function_declarations=[
                        g.FunctionDeclaration(name="view_file", description="Read a file.")
                    ]
                )
            ],
            generation_config=g.GenerationConfig(
                temperature=0.4,
                max_output_tokens=65536,
                thinking_config=g.ThinkingConfig(include_thoughts=True, thinking_budget=-1),
            ),
        )
    )


GEMINI3_SPEC = dataclasses.replace(
    SPEC,
    model="gemini-3-flash",
    upstream_model="gemini-3-flash",
    generation_config={
        "temperature": 0.5,
        "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "high"},
    },
)


async def test_ls_grpc_request_with_a_marker_is_rewritten(ls_rig: Rig) -> None:
    exchange = ls_rig.open(GEMINI3_SPEC)
    flow = grpc_flow(ls_body(marker(exchange.id)))
    await ls_rig.request_hooks(flow)

    assert flow.response is None
    assert as_json(sent_request(flow)) == {
        "model": "models/gemini-3-flash",  # the LS's choice
        "contents": GEMINI3_SPEC.contents,
        "systemInstruction": GEMINI3_SPEC.system_instruction,  # replace mode
        # Gemini 3's level, which the public protobuf cannot carry, as the budget it stands for
        "generationConfig": {
            "temperature": 0.5,
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 24576},
        },
    }
    assert flow.metadata[META_LANGUAGE_SERVER] is True
    assert flow.metadata[META_EXCHANGE] == exchange.id
    assert exchange.rule == "marker"
    assert (flow.request.scheme, flow.request.host, flow.request.port) == (
        "https",
        GEMINI_HOST,
        443,
    )


async def test_ls_grpc_request_with_a_stale_marker_is_answered_locally(ls_rig: Rig) -> None:
    flow = grpc_flow(ls_body(marker("a" * 32)))
    await ls_rig.request_hooks(flow)

    response = flow.response
    assert response is not None
    assert flow.metadata[META_SYNTHETIC] is True
    assert META_EXCHANGE not in flow.metadata
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/grpc"
    assert response.trailers is not None and dict(response.trailers) == {"grpc-status": "0"}
    assert answer_events(flow) == [Finish("STOP"), Usage()]
    assert response.content is not None
    decoder = GrpcMessageDecoder(None)
    (message,) = decoder.feed(response.content) + decoder.close()  # exactly one frame
    answer = g.GenerateContentResponse.deserialize(message)
    assert answer.model_version == "gemini-3-flash"
    assert answer.candidates[0].finish_reason == g.Candidate.FinishReason.STOP


async def test_ls_grpc_request_protobuf_cannot_carry_fails_the_exchange(ls_rig: Rig) -> None:
    spec = dataclasses.replace(
        GEMINI3_SPEC, generation_config={"thinkingConfig": {"thinkingLevel": "extreme"}}
    )
    exchange = ls_rig.open(spec)
    flow = grpc_flow(ls_body(marker(exchange.id)))
    await ls_rig.request_hooks(flow)

    assert drain(exchange) == [
        [UpstreamError(400, "INVALID_ARGUMENT", "unknown thinking level 'extreme'")],
        None,
    ]
    assert flow.metadata[META_SYNTHETIC] is True  # the LS's turn ends quietly
    assert answer_events(flow) == [Finish("STOP"), Usage()]
    assert META_LANGUAGE_SERVER not in flow.metadata


async def test_ls_grpc_request_without_a_marker_passes_byte_for_byte(ls_rig: Rig) -> None:
    raw = ls_body("just a question", model="models/gemini-2.5-pro")
    flow = grpc_flow(raw)
    before_headers = list(flow.request.headers.fields)
    before_url = flow.request.url
    await ls_rig.request_hooks(flow)
    assert flow.response is None
    assert flow.request.raw_content == raw
    assert list(flow.request.headers.fields) == before_headers
    assert flow.request.url == before_url
    for key in (META_EXCHANGE, META_LANGUAGE_SERVER, META_SYNTHETIC, META_REFUSED):
        assert key not in flow.metadata


# --- Capture --------------------------------------------------------------------------------


async def matched_grpc_flow(
    rig: Rig, spec: ExchangeSpec = GRPC_SPEC
) -> tuple[Exchange, http.HTTPFlow]:
    exchange = rig.open(spec)
    flow = grpc_flow(originator_body(), headers=[(TAG_HEADER, exchange.id)])
    await rig.request_hooks(flow)
    assert flow.metadata[META_EXCHANGE] == exchange.id
    return exchange, flow


@pytest.mark.parametrize("compress", [False, True])
async def test_capture_taps_a_matched_grpc_response(rig: Rig, compress: bool) -> None:
    exchange, flow = await matched_grpc_flow(rig)
    grpc_respond(flow, *([("grpc-encoding", "gzip")] if compress else []))
    body = frames([CHUNK_1, CHUNK_2], compress=compress)
    pieces = split_at(body, [3, 9, 30])
    out = await stream_response(rig, flow, pieces, {"grpc-status": "0"})

    assert out == [*pieces, b""]  # forwarded unchanged
    assert isinstance(stream_of(flow), Tap)
    assert flatten(drain(exchange)) == EVENTS
    assert [e for _, ex, events in rig.observer.events for e in events] == EVENTS
    assert all(ex is exchange for _, ex, _ in rig.observer.events)
    assert rig.observer.ends == [(flow, exchange)]


async def test_capture_error_trailers_fail_the_exchange(rig: Rig) -> None:
    exchange, flow = await matched_grpc_flow(rig)
    grpc_respond(flow)
    with_usage = {**CHUNK_1, "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}}
    body = frames([with_usage])
    assert await stream_response(rig, flow, [body], quota_trailers()) == [body, b""]
    assert drain(exchange) == [
        [TextDelta("Hel")],
        [RATE_LIMITED, Usage(prompt=3, total=3)],
        None,
    ]


async def test_capture_trailers_only_error(rig: Rig) -> None:
    exchange, flow = await matched_grpc_flow(rig)
    grpc_respond(flow, *quota_trailers().items())
    await stream_response(rig, flow, [], None)
    assert drain(exchange) == [[RATE_LIMITED], None]


async def test_capture_grpc_stream_without_trailers_is_truncated(rig: Rig) -> None:
    exchange, flow = await matched_grpc_flow(rig)
    grpc_respond(flow)
    await stream_response(rig, flow, [frames([CHUNK_1])], None)
    assert flatten(drain(exchange)) == [
        TextDelta("Hel"),
        UpstreamError(502, "STREAM_TRUNCATED", "upstream stream ended without a finish reason"),
    ]


async def test_capture_observes_an_unmatched_grpc_response(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zerogravity_proxy.addons.capture")
    flow = grpc_flow(originator_body())
    await rig.request_hooks(flow)
    assert META_EXCHANGE not in flow.metadata
    grpc_respond(flow)
    body = frames([CHUNK_1, CHUNK_2])
    pieces = split_at(body, [11])
    assert await stream_response(rig, flow, pieces, {"grpc-status": "0"}) == [*pieces, b""]

    assert [e for _, _, events in rig.observer.events for e in events] == EVENTS
    assert all(ex is None and f is flow for f, ex, _ in rig.observer.events)
    assert rig.observer.events[-1] == (flow, None, [USAGE])
    assert rig.observer.ends == [(flow, None)]
    assert stream_of(flow).usage == USAGE
    assert (
        f"observed Gemini response {STREAM_PATH}: outcome=completed prompt_tokens=3 "
        "cached_tokens=0 output_tokens=2 reasoning_tokens=0"
    ) in caplog.messages


async def test_capture_observes_an_unmatched_grpc_failure(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="zerogravity_proxy.addons.capture")
    flow = grpc_flow(originator_body())
    await rig.request_hooks(flow)
    grpc_respond(flow)
    await stream_response(rig, flow, [frames([CHUNK_1])], quota_trailers())
    assert [e for _, _, events in rig.observer.events for e in events] == [
        TextDelta("Hel"),
        RATE_LIMITED,
    ]
    assert stream_of(flow).failure == RATE_LIMITED
    assert any(
        m.startswith(f"observed Gemini response {STREAM_PATH}: outcome=failed (RESOURCE_EXHAUSTED)")
        for m in caplog.messages
    )


CALL_CHUNK: JSON = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {"text": "Checking."},
                    {
                        "functionCall": {"id": "c1", "name": "lookup", "args": {"word": "x"}},
                        "thoughtSignature": "c2ln",
                    },
                ],
            }
        }
    ]
}
CALL_USAGE: JSON = {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}
ONLY_CALL_CHUNK: JSON = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [{"functionCall": {"id": "c2", "name": "lookup", "args": {}}}],
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": CALL_USAGE,
}


@pytest.mark.parametrize("compress", [False, True])
async def test_capture_hides_the_clients_calls_from_the_language_server(
    ls_rig: Rig, compress: bool
) -> None:
    exchange = ls_rig.open(GEMINI3_SPEC)
    flow = grpc_flow(ls_body(marker(exchange.id)))
    await ls_rig.request_hooks(flow)
    assert flow.metadata[META_LANGUAGE_SERVER] is True
    grpc_respond(flow, *([("grpc-encoding", "gzip")] if compress else []))
    body = frames([CHUNK_1, CALL_CHUNK, ONLY_CALL_CHUNK], compress=compress)
    out = await stream_response(ls_rig, flow, split_at(body, [2, 20, 77]), {"grpc-status": "0"})

    # The client gets the calls...
    assert flatten(drain(exchange)) == [
        TextDelta("Hel"),
        TextDelta("Checking."),
        ToolCall("c1", "lookup", {"word": "x"}, "c2ln"),
        ToolCall("c2", "lookup", {}, None),
        Finish("STOP"),
        USAGE,
    ]
    # ...the LS gets valid, uncompressed framing without them.
    relayed = b"".join(out)
    decoder = GrpcMessageDecoder(None)  # flag 0 only: identity must do
    messages = decoder.feed(relayed) + decoder.close()
    answers = [as_json(g.GenerateContentResponse.deserialize(m)) for m in messages]
    assert [a["candidates"][0]["content"]["parts"] for a in answers] == [
        [{"text": "Hel"}],
        [{"text": "Checking."}],
        [{"text": ""}],
    ]
    assert answers[2]["candidates"][0]["finishReason"] == "STOP"
    assert answers[2]["usageMetadata"] == CALL_USAGE
    if not compress:  # a message without a call keeps its bytes
        assert relayed.startswith(frames([CHUNK_1]))


# --- what mitmproxy streams -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "host"),
    [
        (COUNT_PATH, GEMINI_HOST),
        (f"{SERVICE}/EmbedContent", GEMINI_HOST),
        (OTHER_SERVICE_PATH, GEMINI_HOST),
        ("/grpc.health.v1.Health/Watch", GEMINI_HOST),
        (STREAM_PATH, "example.com"),  # not a Gemini host: never ours to rewrite
    ],
)
async def test_grpc_calls_we_never_rewrite_stream_both_ways(rig: Rig, path: str, host: str) -> None:
    flow = grpc_flow(b"", path=path, host=host)
    await rig.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
    assert flow.request.stream is True
    grpc_respond(flow)
    await rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))
    assert flow.response is not None and flow.response.stream is True
    assert rig.observer.events == []


async def test_generating_grpc_call_is_buffered_and_tapped(rig: Rig) -> None:
    flow = grpc_flow(originator_body())
    await rig.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
    assert flow.request.stream is False  # inject has to read the whole request
    await rig.tctx.master.addons.trigger_event(HttpRequestHook(flow))
    grpc_respond(flow)
    await rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))
    assert isinstance(stream_of(flow), Tap)


async def test_rest_calls_are_not_streamed_by_us(rig: Rig) -> None:
    flow = grpc_flow(b"{}", path="/v1beta/models/gemini-2.5-flash:countTokens")
    flow.request.headers["content-type"] = "application/json"
    await rig.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
    assert flow.request.stream is False
    flow.response = tutils.tresp(headers=http.Headers(content_type="application/json"))
    await rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))
    assert flow.response.stream is False


async def test_streamed_grpc_call_is_redirected_at_requestheaders(override_rig: Rig) -> None:
    flow = grpc_flow(b"", path=COUNT_PATH)
    await override_rig.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
    # mitmproxy connects right after requestheaders for a streamed request: already redirected,
    assert (flow.request.scheme, flow.request.host, flow.request.port) == ("http", "127.0.0.1", 9)
    assert flow.request.stream is True
    # ...and recognised from the host the client asked for.
    assert flow.metadata[META_GOOGLE] is True
    assert flow.metadata[META_ENDPOINT] == Endpoint("gemini", "countTokens", None, grpc=True)
    await override_rig.tctx.master.addons.trigger_event(HttpRequestHook(flow))
    assert flow.request.url == f"http://127.0.0.1:9{COUNT_PATH}"


async def test_buffered_grpc_call_is_redirected_at_request(override_rig: Rig) -> None:
    exchange = override_rig.open(GRPC_SPEC)
    flow = grpc_flow(originator_body(), headers=[(TAG_HEADER, exchange.id)])
    await override_rig.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
    assert flow.request.host == GEMINI_HOST  # not yet: the body may still be rewritten
    await override_rig.tctx.master.addons.trigger_event(HttpRequestHook(flow))
    assert flow.request.url == f"http://127.0.0.1:9{STREAM_PATH}"
    assert flow.metadata[META_EXCHANGE] == exchange.id
    assert as_json(sent_request(flow))["contents"] == GRPC_SPEC.contents


# --- flows.request_model --------------------------------------------------------------------

HOSTS = Settings().gemini_hosts


def model_message(model: str) -> bytes:
    return google_message(model=model, contents=[g.Content(role="user", parts=[g.Part(text="hi")])])


@pytest.mark.parametrize(
    ("content", "headers", "model"),
    [
        (encode_message(model_message("models/gemini-2.5-pro")), [], "gemini-2.5-pro"),
        (
            encode_message(model_message("models/gemini-2.5-pro"), compress=True),
            [("grpc-encoding", "gzip")],
            "gemini-2.5-pro",
        ),
        (encode_message(model_message("gemini-3-flash")), [], "gemini-3-flash"),
        (encode_message(model_message("models/")), [], None),
        (encode_message(google_message()), [], None),
        (encode_message(model_message("models/gemini-2.5-pro"), compress=True), [], None),
        (b"\x00\x00\x00\x00\x09garbage", [], None),
        (b'{"model": "gemini-2.5-pro"}', [], None),  # JSON is not what a gRPC call carries
        (b"", [], None),
    ],
)
def test_request_model_of_a_grpc_call(
    content: bytes, headers: list[tuple[str, str]], model: str | None
) -> None:
    flow = grpc_flow(content, headers=headers)
    assert flows.request_model(flow, HOSTS) == model
    assert flow.metadata[META_MODEL] == model


def test_request_model_is_cached() -> None:
    flow = grpc_flow(encode_message(model_message("models/gemini-2.5-pro")))
    assert flows.request_model(flow, HOSTS) == "gemini-2.5-pro"
    flow.request.content = encode_message(model_message("models/gemini-3-flash"))
    assert flows.request_model(flow, HOSTS) == "gemini-2.5-pro"
    undecodable = grpc_flow(b"\xff")
    assert flows.request_model(undecodable, HOSTS) is None
    undecodable.request.content = encode_message(model_message("models/gemini-3-flash"))
    assert flows.request_model(undecodable, HOSTS) is None  # None is cached too


def test_request_model_of_a_non_gemini_grpc_call() -> None:
    flow = grpc_flow(encode_message(model_message("models/gemini-2.5-pro")), host="example.com")
    assert flows.request_model(flow, HOSTS) is None


def test_request_model_despite_fields_our_schema_lacks() -> None:
    """The model is read on its own: a newer client's field (#111 here) does not hide it."""
    raw = model_message("models/gemini-2.5-pro") + b"\xf8\x06\x01"
    with pytest.raises(wire.BodyError, match="fields we do not know"):
        wire.read_request(encode_message(raw), GRPC_ENDPOINT, None)
    flow = grpc_flow(encode_message(raw))
    assert flows.request_model(flow, HOSTS) == "gemini-2.5-pro"
    gzipped = grpc_flow(encode_message(raw, compress=True), headers=[("grpc-encoding", "gzip")])
    assert flows.request_model(gzipped, HOSTS) == "gemini-2.5-pro"


# --- flows.streams_request ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type", "streams"),
    [
        (COUNT_PATH, "application/grpc", True),
        (COUNT_PATH, "application/grpc+json", True),
        (COUNT_PATH, "application/grpc+proto", True),
        (COUNT_PATH, "application/grpc+custom; charset=utf-8", True),
        (OTHER_SERVICE_PATH, "application/grpc+json", True),
        (STREAM_PATH, "application/grpc+json", False),  # a generating path: buffered
        (COUNT_PATH, "application/grpc-web", False),
        (COUNT_PATH, "application/json", False),
    ],
)
def test_streams_request(path: str, content_type: str, streams: bool) -> None:
    flow = grpc_flow(b"", path=path)
    flow.request.headers["content-type"] = content_type
    assert flows.streams_request(flow, HOSTS) is streams


@pytest.mark.parametrize("path", [COUNT_PATH, OTHER_SERVICE_PATH, STREAM_PATH])
def test_an_answered_or_tagged_grpc_request_never_streams(path: str) -> None:
    answered = grpc_flow(b"", path=path, host="example.com")
    answered.response = http.Response.make(403, b"no")
    assert not flows.streams_request(answered, HOSTS)
    tagged = grpc_flow(b"", path=path, headers=[(TAG_HEADER, "0" * 32)])
    assert not flows.streams_request(tagged, HOSTS)


async def test_tagged_non_generating_grpc_call_is_buffered_then_refused(rig: Rig) -> None:
    """Streamed, it would leave before inject could refuse it, and with its tag."""
    exchange = rig.open()
    flow = grpc_flow(encode_message(b""), path=COUNT_PATH, headers=[(TAG_HEADER, exchange.id)])
    await rig.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
    assert flow.request.stream is False
    await rig.tctx.master.addons.trigger_event(HttpRequestHook(flow))
    assert flow.metadata[META_REFUSED] is True
    assert TAG_HEADER not in flow.request.headers
    assert not exchange.matched.is_set()


@pytest.mark.parametrize("path", ["/grpc.health.v1.Health/Watch", COUNT_PATH, STREAM_PATH])
async def test_a_grpc_call_the_guard_answered_is_not_streamed(path: str) -> None:
    """The guard's 403 at requestheaders: a streamed request on an answered flow would crash
    mitmproxy's HTTP layer, so nothing after the guard may stream it."""
    runtime = Runtime(Settings())
    guard = Guard(runtime)
    with taddons.context(guard, Inject(runtime), Upstream(runtime), Capture(runtime)) as tctx:
        flow = grpc_flow(b"", path=path, host="127.0.0.1")
        flow.request.port = runtime.settings.sidecar_port
        await tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
        assert flow.metadata[META_GUARDED] == "sidecar"
        assert flow.response is not None and flow.response.status_code == 403
        assert flow.request.stream is False
        await tctx.master.addons.trigger_event(HttpRequestHook(flow))
        assert flow.response.status_code == 403
        assert flow.request.stream is False


# --- parser_for from the request ------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
async def test_trailers_only_error_without_a_grpc_content_type(
    rig: Rig, content_type: str | None
) -> None:
    """A front end's answer to a gRPC call may lack the gRPC content type; its grpc-status is
    the outcome, not an empty SSE stream (STREAM_TRUNCATED)."""
    exchange, flow = await matched_grpc_flow(rig)
    fields = [(k.encode(), v.encode()) for k, v in quota_trailers().items()]
    if content_type is not None:
        fields.append((b"content-type", content_type.encode()))
    flow.response = tutils.tresp(
        http_version=b"HTTP/2.0",
        status_code=200,
        reason=b"",
        headers=http.Headers(fields),
        content=None,
    )
    assert await stream_response(rig, flow, [], None) == [b""]
    assert isinstance(stream_of(flow).parser, GrpcResponseParser)
    assert drain(exchange) == [[RATE_LIMITED], None]


# --- the language server's rule: which wire, which fields -----------------------------------


def with_unknown_field(framed: bytes) -> bytes:
    """The one message of `framed` with a field our schema lacks (#111, varint 1) appended."""
    decoder = GrpcMessageDecoder(None)
    (message,) = decoder.feed(framed) + decoder.close()
    return encode_message(message + b"\xf8\x06\x01")


async def test_ls_grpc_request_with_an_unknown_field_is_still_matched(ls_rig: Rig) -> None:
    exchange = ls_rig.open(GEMINI3_SPEC)
    raw = with_unknown_field(ls_body(marker(exchange.id)))
    with pytest.raises(wire.BodyError, match="fields we do not know"):
        wire.read_request(raw, GRPC_ENDPOINT, None)  # the strict reading
    flow = grpc_flow(raw)
    await ls_rig.request_hooks(flow)

    assert flow.response is None
    assert flow.request.content != raw
    assert flow.metadata[META_LANGUAGE_SERVER] is True
    assert flow.metadata[META_EXCHANGE] == exchange.id
    assert exchange.matched.is_set() and exchange.rule == "marker"
    sent = as_json(sent_request(flow))
    assert sent["model"] == "models/gemini-3-flash"
    assert sent["contents"] == GEMINI3_SPEC.contents
    assert flow.request.content is not None
    assert b"\xf8\x06\x01" not in flow.request.content


def cloudcode_ls_body(text: str) -> bytes:
    """The LS's Cloud Code request (JSON, the payload in `request`)."""
    return orjson.dumps(
        {
            "project": "p",
            "model": "gemini-3-flash",
            "userAgent": "antigravity",
            "requestType": "agent",
            "request": {
                "contents": [
                    {
                        "role": "user",
                        "parts": [{"text": f"<USER_REQUEST>\n{text}\n</USER_REQUEST>"}],
                    }
                ],
                "systemInstruction": {"parts": [{"text": LS_SYSTEM}]},
            },
        }
    )


async def test_ls_cloudcode_json_with_a_marker_is_matched(ls_rig: Rig) -> None:
    exchange = ls_rig.open(GEMINI3_SPEC)
    flow = make_flow(
        host=CLOUDCODE_HOST, path=CC_PATH, content=cloudcode_ls_body(marker(exchange.id))
    )
    await ls_rig.request_hooks(flow)
    assert flow.response is None
    assert flow.metadata[META_LANGUAGE_SERVER] is True
    assert exchange.matched.is_set() and exchange.rule == "marker"
    assert orjson.loads(flow.request.content or b"")["request"]["contents"] == GEMINI3_SPEC.contents


@pytest.mark.parametrize("stale", [False, True])
async def test_public_rest_json_with_a_marker_is_not_the_language_servers(
    ls_rig: Rig, stale: bool
) -> None:
    """The LS speaks Cloud Code JSON or gRPC: a public REST call is some other client's."""
    exchange = ls_rig.open(GEMINI3_SPEC)
    text = marker("a" * 32 if stale else exchange.id)
    body = orjson.dumps({"contents": [{"role": "user", "parts": [{"text": text}]}]})
    flow = make_flow(path=GEN_PATH, content=body)
    await ls_rig.request_hooks(flow)
    assert flow.response is None
    assert flow.request.content == body
    assert not exchange.matched.is_set()
    for key in (META_EXCHANGE, META_LANGUAGE_SERVER, META_SYNTHETIC, META_REFUSED):
        assert key not in flow.metadata


# --- our own answers over HTTP/1.1 ----------------------------------------------------------


@pytest.mark.parametrize("http_version", ["HTTP/2.0", "HTTP/1.1"])
async def test_synthetic_stop_over_either_http_version(ls_rig: Rig, http_version: str) -> None:
    """HTTP/1.1 cannot carry trailers: the status goes in the headers (no real gRPC client
    speaks HTTP/1.1, but an answer must still read as the clean stop it is)."""
    flow = grpc_flow(ls_body(marker("a" * 32)))
    flow.request.http_version = http_version
    await ls_rig.request_hooks(flow)

    response = flow.response
    assert response is not None and flow.metadata[META_SYNTHETIC] is True
    assert response.headers["content-type"] == "application/grpc"
    if http_version == "HTTP/1.1":
        assert response.headers["grpc-status"] == "0"
        assert response.trailers is None
    else:
        assert "grpc-status" not in response.headers
        assert response.trailers is not None and dict(response.trailers) == {"grpc-status": "0"}
    assert answer_events(flow) == [Finish("STOP"), Usage()]


@pytest.mark.parametrize("http_version", ["HTTP/2.0", "HTTP/1.1"])
async def test_refusal_over_either_http_version_is_trailers_only(
    rig: Rig, http_version: str
) -> None:
    flow = grpc_flow(originator_body(), headers=[(TAG_HEADER, "0" * 32)])
    flow.request.http_version = http_version
    await rig.request_hooks(flow)
    response = flow.response
    assert response is not None and response.trailers is None
    assert response.headers["grpc-status"] == "10"


# --- the relay in the tap -------------------------------------------------------------------


async def ls_grpc_flow(ls_rig: Rig) -> tuple[Exchange, http.HTTPFlow]:
    exchange = ls_rig.open(GEMINI3_SPEC)
    flow = grpc_flow(ls_body(marker(exchange.id)))
    await ls_rig.request_hooks(flow)
    assert flow.metadata[META_LANGUAGE_SERVER] is True
    return exchange, flow


TAP_FAILED = UpstreamError(502, "TAP_FAILED", "internal error while parsing the response")


def explode(data: bytes) -> Any:
    raise RuntimeError("exploded")


@pytest.mark.parametrize("broken", ["relay", "parser"])
async def test_a_failing_tap_withholds_the_rest_from_the_language_server(
    ls_rig: Rig,
    broken: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unvetted bytes could carry a call for the client's tool: once the tap fails, the LS
    gets nothing more, and the client's exchange ends with TAP_FAILED."""
    exchange, flow = await ls_grpc_flow(ls_rig)
    grpc_respond(flow)
    await ls_rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))
    tap = stream_of(flow)
    assert tap.relay is not None
    first = frames([CHUNK_1])
    assert tap(first) == first

    monkeypatch.setattr(tap.relay if broken == "relay" else tap.parser, "feed", explode)
    assert tap(frames([CALL_CHUNK])) == b""
    assert tap.withheld and tap.closed
    assert tap(frames([CHUNK_2])) == b""
    assert tap(b"") == b""
    await ls_rig.tctx.master.addons.trigger_event(HttpResponseHook(flow))

    events = flatten(drain(exchange))
    assert events[0] == TextDelta("Hel")
    assert events[-1] == TAP_FAILED
    assert events.count(TAP_FAILED) == 1
    assert ls_rig.observer.ends == [(flow, exchange)]
    assert any(
        r.getMessage().startswith("stream tap failed on") and r.exc_info for r in caplog.records
    )
    caplog.clear()  # the ERROR log is this test's subject


async def test_a_failing_tap_without_a_relay_still_forwards(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exchange, flow = await matched_grpc_flow(rig)
    grpc_respond(flow)
    await rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))
    tap = stream_of(flow)
    assert tap.relay is None
    monkeypatch.setattr(tap.parser, "feed", explode)
    pieces = split_at(frames([CHUNK_1, CALL_CHUNK, CHUNK_2]), [7, 60])
    assert [tap(p) for p in pieces] == pieces
    assert tap.closed and not tap.withheld
    assert tap(b"") == b""
    assert flatten(drain(exchange)) == [TAP_FAILED]
    caplog.clear()


# --- content-length with a relay ------------------------------------------------------------


async def test_the_relay_drops_content_length_grpc(ls_rig: Rig) -> None:
    _, flow = await ls_grpc_flow(ls_rig)
    grpc_respond(flow, ("content-length", "123"))
    await ls_rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))
    assert stream_of(flow).relay is not None
    assert flow.response is not None and "content-length" not in flow.response.headers


async def test_the_relay_drops_content_length_sse(ls_rig: Rig) -> None:
    exchange = ls_rig.open(GEMINI3_SPEC)
    content = cloudcode_ls_body(marker(exchange.id))
    flow = make_flow(host=CLOUDCODE_HOST, path=CC_PATH, content=content)
    await ls_rig.request_hooks(flow)
    assert flow.metadata[META_LANGUAGE_SERVER] is True
    respond(flow)
    assert flow.response is not None
    flow.response.headers["content-length"] = "123"
    await ls_rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))
    assert stream_of(flow).relay is not None
    assert "content-length" not in flow.response.headers


async def test_content_length_stays_without_a_relay(rig: Rig, ls_rig: Rig) -> None:
    _, matched = await matched_grpc_flow(rig)  # not the LS's: no relay
    grpc_respond(matched, ("content-length", "123"))
    await rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(matched))
    assert stream_of(matched).relay is None
    assert matched.response is not None and matched.response.headers["content-length"] == "123"

    _, refused = await ls_grpc_flow(ls_rig)  # the LS's, but an error: nothing to relay
    refused.response = tutils.tresp(
        status_code=429,
        reason=b"",
        headers=http.Headers(content_type="application/json", content_length="40"),
        content=None,
    )
    await ls_rig.tctx.master.addons.trigger_event(HttpResponseHeadersHook(refused))
    assert stream_of(refused).relay is None
    assert refused.response.headers["content-length"] == "40"
