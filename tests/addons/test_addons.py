"""The mitmproxy addons in a test master: Inject, Upstream, Capture and Config.

Flows are built with mitmproxy's own test helpers; hooks are called directly (so exceptions
surface) or, for whole-pipeline tests, through the addon manager as mitmproxy would.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from mitmproxy import exceptions, http
from mitmproxy.addons.proxyserver import Proxyserver
from mitmproxy.flow import Error
from mitmproxy.options import Options
from mitmproxy.proxy.layers.http._hooks import (
    HttpErrorHook,
    HttpRequestHeadersHook,
    HttpRequestHook,
    HttpResponseHeadersHook,
    HttpResponseHook,
)
from mitmproxy.test import taddons, tflow, tutils

from zerogravity_proxy.addons.capture import META_TAP, Capture, Tap
from zerogravity_proxy.addons.config import OWN, Config, to_option
from zerogravity_proxy.addons.flows import META_ENDPOINT, META_EXCHANGE, TAG_HEADER
from zerogravity_proxy.addons.inject import Inject
from zerogravity_proxy.addons.upstream import Upstream
from zerogravity_proxy.drivers.direct import build_request
from zerogravity_proxy.events import Event, Finish, TextDelta, UpstreamError, Usage
from zerogravity_proxy.exchanges import Batch, Exchange, ExchangesFull
from zerogravity_proxy.gemini.request import Endpoint
from zerogravity_proxy.gemini.response import ResponseParser
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import FIELDS, GOOGLE_API_HOSTS, Settings

JSON = dict[str, Any]

GEMINI_HOST = "generativelanguage.googleapis.com"
CLOUDCODE_HOST = "cloudcode-pa.googleapis.com"
GEN_PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
CC_PATH = "/v1internal:streamGenerateContent?alt=sse"
PLACEHOLDER: list[JSON] = [{"role": "user", "parts": [{"text": "."}]}]

SPEC = ExchangeSpec(
    model="gemini-2.5-flash",
    upstream_model="gemini-2.5-flash",
    contents=[{"role": "user", "parts": [{"text": "What is 2+2?"}]}],
    system_instruction={"parts": [{"text": "Be brief."}]},
    generation_config={"temperature": 0.5},
    labels={"client": "zerogravity"},
)

# Two SSE events with CRLF line ends, as Google's front-ends send them.
CHUNK_1 = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}
CHUNK_2 = {
    "candidates": [
        {"content": {"role": "model", "parts": [{"text": "lo"}]}, "finishReason": "STOP"}
    ],
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
}
SSE_BODY = b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in (CHUNK_1, CHUNK_2))
USAGE = Usage(prompt=3, candidates=2, total=5)
EVENTS: list[Event] = [TextDelta("Hel"), TextDelta("lo"), Finish("STOP"), USAGE]

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


# --- helpers --------------------------------------------------------------------------------


def make_flow(
    *,
    host: str = GEMINI_HOST,
    port: int = 80,
    path: str = GEN_PATH,
    headers: Sequence[tuple[str, str]] = (),
    content: bytes = b'{"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}',
) -> http.HTTPFlow:
    """A plain-HTTP request as a client sends it through the proxy (treq has no Host header)."""
    host_header = host if port == 80 else f"{host}:{port}"
    fields = [
        (b"host", host_header.encode()),
        (b"content-type", b"application/json"),
        *((k.encode(), v.encode()) for k, v in headers),
    ]
    request = tutils.treq(
        method=b"POST",
        scheme=b"http",
        host=host,
        port=port,
        path=path.encode(),
        headers=http.Headers(fields),
        content=content,
    )
    return tflow.tflow(req=request)


def tagged_flow(exchange_id: str, **kwargs: Any) -> http.HTTPFlow:
    headers = [(TAG_HEADER, exchange_id), ("accept-encoding", "gzip, br")]
    return make_flow(headers=[*headers, *kwargs.pop("headers", ())], **kwargs)


def driver_flow(runtime: Runtime, exchange: Exchange) -> http.HTTPFlow:
    """The request the direct driver sends for `exchange`, as the proxy receives it."""
    url, headers, body = build_request(runtime, exchange)
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return make_flow(
        host=parts.hostname,
        port=parts.port,
        path=f"{parts.path}?{parts.query}",
        headers=[(k, v) for k, v in headers.items() if k != "content-type"],
        content=body,
    )


def respond(
    flow: http.HTTPFlow, status: int = 200, content_type: str = "text/event-stream"
) -> None:
    """Response headers as they arrive from the upstream (no body yet)."""
    flow.response = tutils.tresp(
        status_code=status,
        reason=b"",
        headers=http.Headers(content_type=content_type),
        content=None,
    )


def stream_of(flow: http.HTTPFlow) -> Tap:
    assert flow.response is not None
    tap = flow.response.stream
    assert isinstance(tap, Tap)
    return tap


def feed(flow: http.HTTPFlow, chunks: Sequence[bytes]) -> list[bytes]:
    """Push body chunks through the stream callable, then the end-of-message call."""
    tap = stream_of(flow)
    out = [tap(chunk) for chunk in chunks]
    assert tap(b"") == b""
    return out


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def crlf_split(data: bytes) -> list[bytes]:
    """Three chunks: one ending between `\\r` and `\\n`, one ending mid-event."""
    first_cr = data.index(b"\r") + 1
    middle = first_cr + 40
    return [data[:first_cr], data[first_cr:middle], data[middle:]]


def drain(exchange: Exchange) -> list[Batch]:
    out: list[Batch] = []
    while not exchange.queue.empty():
        out.append(exchange.queue.get_nowait())
    return out


def flatten(batches: Sequence[Batch]) -> list[Event]:
    assert batches and batches[-1] is None, batches
    assert all(b is not None for b in batches[:-1])
    return [event for batch in batches[:-1] if batch is not None for event in batch]


def body_of(flow: http.HTTPFlow) -> Any:
    assert flow.request.content is not None
    return orjson.loads(flow.request.content)


def refusal(flow: http.HTTPFlow) -> tuple[int, JSON]:
    assert flow.response is not None and flow.response.content is not None
    return flow.response.status_code, orjson.loads(flow.response.content)


class Observer:
    """A user's addon subscribing to the custom hooks."""

    def __init__(self, name: str = "observer") -> None:
        self.name = name  # mitmproxy's addon name: unique per master
        self.events: list[tuple[http.HTTPFlow, Exchange | None, list[Event]]] = []
        self.ends: list[tuple[http.HTTPFlow, Exchange | None]] = []

    def gemini_events(
        self, flow: http.HTTPFlow, exchange: Exchange | None, events: list[Event]
    ) -> None:
        self.events.append((flow, exchange, list(events)))

    def gemini_response_end(self, flow: http.HTTPFlow, exchange: Exchange | None) -> None:
        self.ends.append((flow, exchange))


@dataclasses.dataclass
class Rig:
    runtime: Runtime
    inject: Inject
    upstream: Upstream
    capture: Capture
    observer: Observer
    tctx: taddons.context

    def open(self, spec: ExchangeSpec = SPEC) -> Exchange:
        return self.runtime.exchanges.open(spec, endpoint="chat.completions", timeout=60)

    async def request_hooks(self, flow: http.HTTPFlow) -> None:
        """requestheaders and request through every addon, in chain order."""
        await self.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
        await self.tctx.master.addons.trigger_event(HttpRequestHook(flow))

    async def response_hooks(self, flow: http.HTTPFlow, chunks: Sequence[bytes]) -> list[bytes]:
        await self.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))
        assert flow.response is not None
        out = feed(flow, chunks) if callable(flow.response.stream) else []
        await self.tctx.master.addons.trigger_event(HttpResponseHook(flow))
        return out


def rig_for(settings: Settings) -> Iterator[Rig]:
    runtime = Runtime(settings)
    inject, upstream, capture, observer = (
        Inject(runtime),
        Upstream(runtime),
        Capture(runtime),
        Observer(),
    )
    with taddons.context(inject, upstream, capture, observer) as tctx:
        yield Rig(runtime, inject, upstream, capture, observer, tctx)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    # Async, so that the test master runs on the test's own event loop.
    for r in rig_for(Settings()):
        yield r


# --- Inject ---------------------------------------------------------------------------------


async def test_inject_rewrites_tagged_gemini_request(rig: Rig) -> None:
    exchange = rig.open()
    flow = tagged_flow(
        exchange.id,
        headers=[("x-goog-api-key", "k")],
        content=orjson.dumps({"contents": PLACEHOLDER, "generation_config": {"x": 1}}),
    )
    rig.inject.request(flow)

    assert flow.response is None
    assert body_of(flow) == {
        "contents": SPEC.contents,
        "systemInstruction": SPEC.system_instruction,
        "generationConfig": SPEC.generation_config,
    }
    assert TAG_HEADER not in flow.request.headers
    assert flow.request.headers["accept-encoding"] == "identity"
    assert flow.request.headers["x-goog-api-key"] == "k"
    assert flow.request.headers["content-type"] == "application/json"
    assert flow.request.headers["host"] == GEMINI_HOST
    assert (flow.request.scheme, flow.request.host, flow.request.port) == (
        "https",
        GEMINI_HOST,
        443,
    )
    assert flow.request.url == f"https://{GEMINI_HOST}{GEN_PATH}"
    assert flow.metadata[META_EXCHANGE] == exchange.id
    assert flow.metadata[META_ENDPOINT] == Endpoint(
        "gemini", "streamGenerateContent", "gemini-2.5-flash"
    )
    assert exchange.matched.is_set() and exchange.rule == "tag"
    assert rig.runtime.exchanges.get(exchange.id) is exchange  # matched, still in flight


async def test_inject_rewrites_driver_request_cloudcode() -> None:
    for rig in rig_for(
        Settings(upstream_flavour="cloudcode", cloudcode_token="t", cloudcode_project="proj")
    ):
        exchange = rig.open()
        flow = driver_flow(rig.runtime, exchange)
        assert flow.request.url == f"http://{CLOUDCODE_HOST}:443{CC_PATH}"
        envelope = {k: v for k, v in body_of(flow).items() if k != "request"}
        rig.inject.request(flow)

        assert flow.response is None
        body = body_of(flow)
        assert body == {
            **envelope,
            "request": {
                "contents": SPEC.contents,
                "systemInstruction": SPEC.system_instruction,
                "generationConfig": SPEC.generation_config,
                "labels": {"client": "zerogravity"},
            },
        }
        assert body["model"] == "gemini-2.5-flash"
        assert body["project"] == "proj"
        assert TAG_HEADER not in flow.request.headers
        assert flow.request.headers["authorization"] == "Bearer t"
        assert flow.request.headers["accept-encoding"] == "identity"
        assert flow.request.url == f"https://{CLOUDCODE_HOST}{CC_PATH}"
        assert flow.request.headers["host"] == CLOUDCODE_HOST
        assert flow.metadata[META_EXCHANGE] == exchange.id
        assert exchange.matched.is_set() and exchange.rule == "tag"


async def test_inject_cloudcode_envelope_is_kept() -> None:
    for rig in rig_for(Settings(upstream_flavour="cloudcode")):
        exchange = rig.open()
        envelope: JSON = {
            "model": "gemini-3-flash",
            "project": "robotic-victory",
            "requestId": "agent/c/1/t/2",
            "userAgent": "antigravity",
            "requestType": "agent",
        }
        original = {
            **envelope,
            "request": {
                "contents": PLACEHOLDER,
                "tools": [{"googleSearch": {}}],
                "sessionId": "-1",
                "labels": {"trajectory_id": "t"},
            },
        }
        flow = tagged_flow(
            exchange.id, host=CLOUDCODE_HOST, path=CC_PATH, content=orjson.dumps(original)
        )
        rig.inject.request(flow)
        assert body_of(flow) == {
            **envelope,
            "request": {
                "contents": SPEC.contents,
                "systemInstruction": SPEC.system_instruction,
                "generationConfig": SPEC.generation_config,
                "sessionId": "-1",
                "labels": {"trajectory_id": "t", "client": "zerogravity"},
            },
        }


async def test_inject_uses_configured_upstream_scheme_and_port() -> None:
    for rig in rig_for(Settings(upstream_url="http://127.0.0.1:8999")):
        exchange = rig.open()
        flow = driver_flow(rig.runtime, exchange)
        rig.inject.request(flow)
        assert flow.response is None
        assert (flow.request.scheme, flow.request.host, flow.request.port) == (
            "http",
            "127.0.0.1",
            8999,
        )
        assert flow.metadata[META_EXCHANGE] == exchange.id


async def test_inject_empty_body_gets_the_payload(rig: Rig) -> None:
    exchange = rig.open()
    flow = tagged_flow(exchange.id, content=b"")
    rig.inject.request(flow)
    assert flow.response is None
    assert body_of(flow)["contents"] == SPEC.contents


async def test_inject_second_request_with_same_tag_is_refused(rig: Rig) -> None:
    exchange = rig.open()
    first = tagged_flow(exchange.id)
    rig.inject.request(first)
    assert first.response is None

    second = tagged_flow(exchange.id)
    content = second.request.content
    rig.inject.request(second)
    assert refusal(second) == (
        409,
        {
            "error": {
                "code": 409,
                "message": "unknown, expired or already matched exchange",
                "status": "ZEROGRAVITY",
            }
        },
    )
    assert second.response is not None
    assert second.response.headers["content-type"] == "application/json"
    assert TAG_HEADER not in second.request.headers
    assert second.request.content == content
    assert META_EXCHANGE not in second.metadata
    assert exchange.rule == "tag" and drain(exchange) == []


async def test_inject_unknown_tag_is_refused(rig: Rig) -> None:
    flow = tagged_flow("0" * 32)
    rig.inject.request(flow)
    status, body = refusal(flow)
    assert status == 409
    assert body["error"]["message"] == "unknown, expired or already matched exchange"
    assert TAG_HEADER not in flow.request.headers
    assert META_EXCHANGE not in flow.metadata


@pytest.mark.parametrize(
    "path",
    [
        "/v1beta/models/gemini-2.5-flash:countTokens",
        "/v1internal:loadCodeAssist",
        "/v1beta/models",
        "/healthz",
    ],
)
async def test_inject_tagged_non_generating_path_is_refused(rig: Rig, path: str) -> None:
    exchange = rig.open()
    flow = tagged_flow(exchange.id, path=path)
    rig.inject.request(flow)
    status, body = refusal(flow)
    assert status == 400
    assert body["error"]["message"] == f"tagged request to a non-generating path: {path}"
    assert TAG_HEADER not in flow.request.headers
    # The exchange was not consumed: its real request can still match it.
    assert not exchange.matched.is_set()
    assert rig.runtime.exchanges.take(exchange.id, "tag") is exchange


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{not json", "unexpected character"),
        (b"[1, 2]", "request body is not a JSON object"),
        (b'"text"', "request body is not a JSON object"),
    ],
)
async def test_inject_bad_body_is_refused(rig: Rig, content: bytes, detail: str) -> None:
    exchange = rig.open()
    flow = tagged_flow(exchange.id, content=content)
    rig.inject.request(flow)
    status, body = refusal(flow)
    assert status == 400
    message = body["error"]["message"]
    assert message.startswith("originator body is not a Gemini request: ")
    assert detail in message
    assert flow.request.content == content
    assert META_EXCHANGE not in flow.metadata


async def test_inject_bad_body_does_not_strand_the_exchange(rig: Rig) -> None:
    exchange = rig.open()
    flow = tagged_flow(exchange.id, content=b"{not json")
    rig.inject.request(flow)
    assert flow.response is not None and flow.response.status_code == 400
    # Unmatched, the driver sees the refusal and reports it (DirectDriver._fail_unmatched).
    assert not exchange.matched.is_set()


async def test_untagged_gemini_request_passes_byte_for_byte(rig: Rig) -> None:
    raw = b'{"contents":[{"role":"user","parts":[{"text":"hi"}]}],  "x": 1}'
    flow = make_flow(headers=[("accept-encoding", "gzip"), ("x-goog-api-key", "k")], content=raw)
    before_headers = list(flow.request.headers.fields)
    before_url = flow.request.url
    await rig.tctx.cycle(rig.inject, flow)
    assert flow.response is None
    assert flow.request.raw_content == raw
    assert list(flow.request.headers.fields) == before_headers
    assert flow.request.url == before_url
    assert META_EXCHANGE not in flow.metadata


async def test_non_gemini_host_untouched(rig: Rig) -> None:
    flow = make_flow(host="example.com", path="/v1/chat/completions")
    before_headers = list(flow.request.headers.fields)
    await rig.request_hooks(flow)
    assert flow.response is None
    assert list(flow.request.headers.fields) == before_headers
    assert flow.request.url == "http://example.com/v1/chat/completions"
    assert META_EXCHANGE not in flow.metadata


async def test_inject_ignores_finished_or_replayed_flows(rig: Rig) -> None:
    exchange = rig.open()
    replay = tagged_flow(exchange.id)
    replay.live = False
    rig.inject.request(replay)
    answered = tagged_flow(exchange.id)
    respond(answered)
    rig.inject.request(answered)
    for flow in (replay, answered):
        assert flow.request.headers[TAG_HEADER] == exchange.id
    assert not exchange.matched.is_set()


# --- Upstream -------------------------------------------------------------------------------


@pytest.fixture
async def override_rig() -> AsyncIterator[Rig]:
    for r in rig_for(Settings(upstream_override="http://127.0.0.1:9")):
        yield r


@pytest.mark.parametrize(
    ("host", "path"), [(GEMINI_HOST, GEN_PATH), (CLOUDCODE_HOST, CC_PATH), (GEMINI_HOST, "/x")]
)
async def test_upstream_redirects_google_hosts(override_rig: Rig, host: str, path: str) -> None:
    flow = make_flow(host=host, path=path)
    override_rig.upstream.request(flow)
    assert flow.request.url == f"http://127.0.0.1:9{path}"


async def test_upstream_redirects_matched_flow_after_inject(override_rig: Rig) -> None:
    exchange = override_rig.open()
    flow = tagged_flow(exchange.id)
    await override_rig.request_hooks(flow)
    assert flow.response is None
    assert flow.request.url == f"http://127.0.0.1:9{GEN_PATH}"
    assert body_of(flow)["contents"] == SPEC.contents


async def test_upstream_leaves_other_hosts_alone(override_rig: Rig) -> None:
    flow = make_flow(host="example.com", path=GEN_PATH)
    override_rig.upstream.request(flow)
    assert flow.request.url == f"http://example.com{GEN_PATH}"


async def test_upstream_without_override_leaves_google_alone(rig: Rig) -> None:
    flow = make_flow()
    rig.upstream.request(flow)
    assert flow.request.url == f"http://{GEMINI_HOST}{GEN_PATH}"


async def test_upstream_prefers_the_simulator(override_rig: Rig) -> None:
    override_rig.runtime.simulator_url = "https://127.0.0.1"
    flow = make_flow()
    override_rig.upstream.request(flow)
    assert (flow.request.scheme, flow.request.host, flow.request.port) == (
        "https",
        "127.0.0.1",
        443,
    )


async def test_upstream_ignores_answered_flows(override_rig: Rig) -> None:
    flow = make_flow()
    respond(flow)
    override_rig.upstream.request(flow)
    assert flow.request.host == GEMINI_HOST


async def test_upstream_redirects_matched_flow_to_custom_upstream_url() -> None:
    for rig in rig_for(Settings(upstream_url="https://gemini-gateway.example", simulator="on")):
        rig.runtime.simulator_url = "http://127.0.0.1:7"
        exchange = rig.open()
        flow = driver_flow(rig.runtime, exchange)
        await rig.request_hooks(flow)
        assert flow.metadata[META_EXCHANGE] == exchange.id
        assert flow.request.url == f"http://127.0.0.1:7{GEN_PATH}"


# --- Capture --------------------------------------------------------------------------------


async def matched_flow(rig: Rig) -> tuple[Exchange, http.HTTPFlow]:
    exchange = rig.open()
    flow = tagged_flow(exchange.id)
    await rig.request_hooks(flow)
    assert flow.metadata[META_EXCHANGE] == exchange.id
    return exchange, flow


@pytest.mark.parametrize(
    ("path", "tapped"),
    [
        (GEN_PATH, True),
        ("/v1beta/models/gemini-2.5-flash:generateContent", True),
        (CC_PATH, True),
        ("/v1beta/models/gemini-2.5-flash:countTokens", False),
        ("/v1internal:loadCodeAssist", False),
        ("/v1beta/models", False),
    ],
)
async def test_capture_taps_generate_endpoints_only(rig: Rig, path: str, tapped: bool) -> None:
    host = CLOUDCODE_HOST if path.startswith("/v1internal") else GEMINI_HOST
    flow = make_flow(host=host, path=path)
    respond(flow)
    rig.capture.responseheaders(flow)
    assert flow.response is not None
    assert callable(flow.response.stream) is tapped
    assert (META_TAP in flow.metadata) is tapped


async def test_capture_ignores_non_gemini_hosts(rig: Rig) -> None:
    flow = make_flow(host="example.com")
    respond(flow)
    rig.capture.responseheaders(flow)
    assert flow.response is not None and flow.response.stream is False


@pytest.mark.parametrize(
    "chunker",
    [lambda d: [d], lambda d: split(d, 1), lambda d: split(d, 7), crlf_split],
    ids=["whole", "bytes", "7", "crlf"],
)
async def test_capture_delivers_to_matched_exchange(
    rig: Rig, chunker: Any, no_errors_logged: None
) -> None:
    exchange, flow = await matched_flow(rig)
    respond(flow)
    chunks: list[bytes] = chunker(SSE_BODY)
    out = await rig.response_hooks(flow, chunks)
    assert out == chunks  # every byte forwarded unchanged
    batches = drain(exchange)
    assert flatten(batches) == EVENTS
    assert batches[-1] is None and batches.count(None) == 1
    assert exchange.first_event_at is not None
    # Observers see the same events, tagged with the exchange, then the end.
    assert [e for _, ex, events in rig.observer.events for e in events] == EVENTS
    assert all(ex is exchange and f is flow for f, ex, _ in rig.observer.events)
    assert rig.observer.ends == [(flow, exchange)]


async def test_capture_batches_follow_chunks(rig: Rig) -> None:
    exchange, flow = await matched_flow(rig)
    respond(flow)
    await rig.response_hooks(flow, crlf_split(SSE_BODY))
    assert drain(exchange) == [
        [TextDelta("Hel")],
        [TextDelta("lo"), Finish("STOP")],
        [USAGE],
        None,
    ]


async def test_capture_unmatched_flow_reaches_observers(
    rig: Rig, caplog: pytest.LogCaptureFixture, no_errors_logged: None
) -> None:
    caplog.set_level(logging.INFO, logger="zerogravity_proxy.addons.capture")
    flow = make_flow()
    await rig.request_hooks(flow)
    respond(flow)
    chunks = split(SSE_BODY, 11)
    assert await rig.response_hooks(flow, chunks) == chunks
    assert [e for _, _, events in rig.observer.events for e in events] == EVENTS
    assert all(ex is None and f is flow for f, ex, _ in rig.observer.events)
    assert rig.observer.events[-1] == (flow, None, [USAGE])
    assert rig.observer.ends == [(flow, None)]
    assert stream_of(flow).usage == USAGE
    assert (
        "observed Gemini response /v1beta/models/gemini-2.5-flash:streamGenerateContent: "
        "outcome=completed prompt_tokens=3 cached_tokens=0 output_tokens=2 reasoning_tokens=0"
    ) in caplog.messages


async def test_capture_non_200_yields_one_upstream_error(rig: Rig) -> None:
    exchange, flow = await matched_flow(rig)
    respond(flow, 429, "application/json; charset=UTF-8")
    chunks = split(RATE_LIMITED, 50)
    assert await rig.response_hooks(flow, chunks) == chunks
    assert drain(exchange) == [
        [
            UpstreamError(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                retry_delay=26.0,
                quota="rate_limit",
            )
        ],
        None,
    ]


async def test_capture_error_hook_without_tap(rig: Rig) -> None:
    exchange, flow = await matched_flow(rig)
    flow.error = Error("Connection refused")
    await rig.tctx.master.addons.trigger_event(HttpErrorHook(flow))
    assert drain(exchange) == [
        [UpstreamError(502, "UPSTREAM_UNREACHABLE", "upstream unreachable: Connection refused")],
        None,
    ]


async def test_capture_error_hook_mid_stream(rig: Rig) -> None:
    exchange, flow = await matched_flow(rig)
    respond(flow)
    rig.capture.responseheaders(flow)
    first_event = SSE_BODY[: SSE_BODY.index(b"\r\n\r\n") + 4]
    assert stream_of(flow)(first_event) == first_event
    flow.error = Error("connection reset")
    rig.capture.error(flow)
    rig.capture.error(flow)  # a second report changes nothing
    assert drain(exchange) == [
        [TextDelta("Hel")],
        [UpstreamError(502, "STREAM_TRUNCATED", "upstream stream ended without a finish reason")],
        None,
    ]
    assert rig.observer.ends == [(flow, exchange)]


async def test_capture_error_hook_unmatched_without_tap(rig: Rig) -> None:
    flow = make_flow()
    flow.error = Error("Connection refused")
    rig.capture.error(flow)
    assert rig.observer.events == [] and rig.observer.ends == []


async def test_capture_after_end_forwards_untouched(rig: Rig) -> None:
    exchange, flow = await matched_flow(rig)
    respond(flow)
    rig.capture.responseheaders(flow)
    feed(flow, [SSE_BODY])
    tap = stream_of(flow)
    assert tap(b"data: trailing\r\n\r\n") == b"data: trailing\r\n\r\n"
    rig.capture.response(flow)  # the response hook after a streamed body: already closed
    assert drain(exchange).count(None) == 1


async def test_tap_survives_a_raising_parser(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(self: ResponseParser, data: bytes) -> list[Event]:
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(ResponseParser, "feed", boom)
    exchange, flow = await matched_flow(rig)
    respond(flow)
    rig.capture.responseheaders(flow)
    chunks = split(SSE_BODY, 20)
    assert feed(flow, chunks) == chunks  # never raises, always forwards
    failure = UpstreamError(502, "TAP_FAILED", "internal error while parsing the response")
    assert drain(exchange) == [[failure], None]
    assert rig.observer.events == [(flow, exchange, [failure])]
    assert rig.observer.ends == [(flow, exchange)]
    assert any(
        r.getMessage().startswith("stream tap failed on") and r.exc_info for r in caplog.records
    )


async def test_tap_survives_a_raising_parser_close(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(self: ResponseParser) -> list[Event]:
        raise RuntimeError("parser exploded at close")

    monkeypatch.setattr(ResponseParser, "close", boom)
    exchange, flow = await matched_flow(rig)
    respond(flow)
    rig.capture.responseheaders(flow)
    assert feed(flow, [SSE_BODY]) == [SSE_BODY]
    batches = drain(exchange)
    assert batches[-1] is None
    assert batches[-2] == [
        UpstreamError(502, "TAP_FAILED", "internal error while parsing the response")
    ]


async def test_capture_taps_observed_flow_redirected_to_override(override_rig: Rig) -> None:
    # Upstream rewrites the Host header: the flow must be recognised before that.
    flow = make_flow()
    await override_rig.request_hooks(flow)
    assert flow.request.url == f"http://127.0.0.1:9{GEN_PATH}"
    respond(flow)
    await override_rig.response_hooks(flow, [SSE_BODY])
    assert [e for _, _, events in override_rig.observer.events for e in events] == EVENTS


async def test_capture_does_not_report_refusals_as_upstream_errors(rig: Rig) -> None:
    flow = tagged_flow("0" * 32)
    await rig.request_hooks(flow)
    assert flow.response is not None and flow.response.status_code == 409
    await rig.response_hooks(flow, [])
    assert rig.observer.events == []


class Holder:
    """An addon with sub-addons, as mitmproxy's Script holds a script's module."""

    def __init__(self, *addons: object) -> None:
        self.addons = list(addons)


class Broken:
    def gemini_events(
        self, flow: http.HTTPFlow, exchange: Exchange | None, events: list[Event]
    ) -> None:
        raise RuntimeError("observer bug")


async def test_a_failing_observer_breaks_nothing(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.tctx.master.addons.add(Broken())
    late = Observer("late")
    rig.tctx.master.addons.add(late)
    exchange, flow = await matched_flow(rig)
    respond(flow)
    assert await rig.response_hooks(flow, [SSE_BODY]) == [SSE_BODY]
    assert flatten(drain(exchange)) == EVENTS
    assert [e for _, _, events in late.events for e in events] == EVENTS
    assert late.ends == [(flow, exchange)]
    assert any(r.getMessage().startswith("observer ") and r.exc_info for r in caplog.records)


async def test_observers_added_later_are_found(rig: Rig) -> None:
    first = make_flow()
    respond(first)
    await rig.response_hooks(first, [SSE_BODY])
    late = Observer("late")
    rig.tctx.master.addons.add(late)
    second = make_flow()
    respond(second)
    await rig.response_hooks(second, [SSE_BODY])
    assert late.events == [(second, None, EVENTS[:3]), (second, None, [USAGE])]
    assert late.ends == [(second, None)]
    removed = rig.observer
    rig.tctx.master.addons.remove(removed)
    count = len(removed.events)
    third = make_flow()
    respond(third)
    await rig.response_hooks(third, [SSE_BODY])
    assert len(removed.events) == count
    assert len(late.events) == 4


async def test_observers_follow_a_reloaded_script(rig: Rig) -> None:
    old, new = Observer("old"), Observer("new")
    holder = Holder(old)
    manager = rig.tctx.master.addons
    manager.add(holder)
    first = make_flow()
    respond(first)
    await rig.response_hooks(first, [SSE_BODY])
    assert old.ends == [(first, None)]
    # What mitmproxy's Script.loadscript does on a reload.
    manager.remove(old)
    holder.addons = [new]
    manager.register(new)
    second = make_flow()
    respond(second)
    await rig.response_hooks(second, [SSE_BODY])
    assert new.ends == [(second, None)]
    assert old.ends == [(first, None)]


# --- Config ---------------------------------------------------------------------------------


def config_context(settings: Settings) -> tuple[Runtime, Config, taddons.context]:
    """A master whose core options agree with `settings`, as the CLI builds it."""
    settings = dataclasses.replace(settings, confdir="/nonexistent/zerogravity-confdir")
    options = Options(
        listen_host=settings.listen_host,
        listen_port=settings.listen_port,
        confdir=settings.confdir,
    )
    runtime = Runtime(settings)
    config = Config(runtime)
    # Proxyserver owns `connection_strategy`; it is loaded before our addons in mitmproxy too.
    return runtime, config, taddons.context(Proxyserver(), config, options=options)


async def test_config_registers_every_setting_with_defaults() -> None:
    _, _, tctx = config_context(Settings())
    with tctx:
        options = tctx.options
        for name in OWN:
            assert name in options, name
            assert options._options[name].default == to_option(getattr(Settings(), name)), name
            assert options._options[name].help == FIELDS[name].metadata["help"], name
        assert options.sidecar_port == 8741
        assert options.gate_timeout == "5"
        assert options.idle_timeout == "120"
        assert options.upstream_flavour == "gemini"
        assert options._options["upstream_flavour"].choices == ["gemini", "cloudcode"]
        assert options._options["sidecar_port"].choices is None
        assert options.gemini_hosts == list(GOOGLE_API_HOSTS)
        assert options.models == []
        assert options.fetch_remote_images is False
        assert options.gemini_api_key == ""
    # mitmproxy's own options keep their own registration.
    assert set(FIELDS) - {"listen_host", "listen_port", "mode", "confdir"} == OWN


async def test_config_defaults_come_from_the_runtime_settings() -> None:
    _, _, tctx = config_context(
        Settings(sidecar_port=9999, gate_timeout=0.25, models=("a", "b=gemini-3-flash"))
    )
    with tctx:
        assert tctx.options.sidecar_port == 9999
        assert tctx.options.gate_timeout == "0.25"
        assert tctx.options.models == ["a", "b=gemini-3-flash"]


async def test_config_connection_strategy_becomes_lazy() -> None:
    _, _, tctx = config_context(Settings())
    with tctx:
        assert tctx.options.connection_strategy == "lazy"


async def test_config_update_reaches_runtime_settings() -> None:
    runtime, config, tctx = config_context(Settings())
    with tctx:
        before = runtime.settings
        tctx.configure(config, gate_timeout="2.5")
        assert runtime.settings.gate_timeout == 2.5
        assert runtime.settings == dataclasses.replace(before, gate_timeout=2.5)

        tctx.configure(config, max_exchanges=1, fetch_remote_images=True)
        assert runtime.settings.max_exchanges == 1
        assert runtime.settings.fetch_remote_images is True
        runtime.exchanges.open(SPEC, endpoint="e", timeout=1)
        with pytest.raises(ExchangesFull):
            runtime.exchanges.open(SPEC, endpoint="e", timeout=1)

        tctx.configure(config, models=["fast=gemini-2.5-flash"])
        assert [m.id for m in runtime.catalogue] == ["fast"]
        fast = runtime.catalogue.get("fast")
        assert fast is not None and fast.upstream == "gemini-2.5-flash"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("gate_timeout", "-1", "gate_timeout: must be a positive number of seconds"),
        ("gate_timeout", "soon", "gate_timeout: 'soon' is not a valid float"),
        ("upstream_flavour", "vertex", "upstream_flavour: 'vertex' is not one of"),
        ("upstream_override", "127.0.0.1:9", "upstream_override: '127.0.0.1:9' is not an http"),
        ("sidecar_port", 70000, "sidecar_port: 70000 is not a port number"),
    ],
)
async def test_config_bad_value_is_refused(option: str, value: object, message: str) -> None:
    runtime, config, tctx = config_context(Settings())
    with tctx:
        before = runtime.settings
        option_before = getattr(tctx.options, option)
        with pytest.raises(exceptions.OptionsError, match=message):
            tctx.configure(config, **{option: value})
        assert runtime.settings == before
        assert getattr(tctx.options, option) == option_before


async def test_config_bad_model_entry_is_refused() -> None:
    runtime, config, tctx = config_context(Settings())
    with tctx:
        before = runtime.settings
        with pytest.raises(exceptions.OptionsError):
            tctx.configure(config, models=["=gemini-2.5-pro"])
        assert runtime.settings == before


async def test_config_round_trip_keeps_float_precision() -> None:
    runtime, config, tctx = config_context(Settings(idle_timeout=0.1234567))
    with tctx:
        tctx.configure(config, gate_timeout="2.5")
        assert runtime.settings.idle_timeout == 0.1234567


async def test_config_ignores_unrelated_options() -> None:
    runtime, config, tctx = config_context(Settings())
    with tctx:
        before = runtime.settings
        tctx.configure(config, connection_strategy="eager")
        assert runtime.settings is before


def test_runtime_apply_resizes_and_rebuilds() -> None:
    runtime = Runtime(Settings())
    assert runtime.catalogue.get("gemini-2.5-flash") is not None
    assert {m.owned_by for m in runtime.catalogue} == {"zerogravity-simulator"}
    runtime.apply(Settings(gemini_api_key="k", models=("x=gemini-3-flash",), max_exchanges=1))
    assert [m.to_openai()["owned_by"] for m in runtime.catalogue] == ["google"]
    runtime.exchanges.open(SPEC, endpoint="e", timeout=1)
    with pytest.raises(ExchangesFull):
        runtime.exchanges.open(SPEC, endpoint="e", timeout=1)
    assert runtime.upstream_override == ""
    runtime.apply(Settings(upstream_override="http://127.0.0.1:9"))
    assert runtime.upstream_override == "http://127.0.0.1:9"
    runtime.simulator_url = "http://127.0.0.1:7"
    assert runtime.upstream_override == "http://127.0.0.1:7"


async def test_queue_is_usable_from_the_loop(rig: Rig) -> None:
    """The tap runs on the loop thread: a consumer awaiting the queue sees its batches."""
    exchange, flow = await matched_flow(rig)
    respond(flow)
    rig.capture.responseheaders(flow)
    consumer = asyncio.get_running_loop().create_task(exchange.queue.get())
    await asyncio.sleep(0)
    stream_of(flow)(SSE_BODY[: SSE_BODY.index(b"\r\n\r\n") + 4])
    assert await asyncio.wait_for(consumer, 1) == [TextDelta("Hel")]
