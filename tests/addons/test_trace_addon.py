from __future__ import annotations

from pathlib import Path

from mitmproxy import http
from mitmproxy.test import tflow

from zerogravity_proxy.addons.flows import META_EXCHANGE
from zerogravity_proxy.addons.trace import Trace
from zerogravity_proxy.events import TextDelta, UpstreamError
from zerogravity_proxy.exchanges import Outcome
from zerogravity_proxy.gemini.grpc import encode_message
from zerogravity_proxy.gemini.protojson import request_from_json
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings
from zerogravity_proxy.trace import TraceStore

SPEC = ExchangeSpec("m", "gemini-2.5-flash", [{"role": "user", "parts": [{"text": "hi"}]}])


async def test_late_events_of_an_ended_exchange_start_no_trace(tmp_path: Path) -> None:
    runtime = Runtime(Settings(trace=True, state_dir=str(tmp_path)))
    trace = Trace(runtime)
    exchange = runtime.exchanges.open(SPEC, endpoint="chat.completions", timeout=60)
    trace.gemini_events(tflow.tflow(), exchange, [TextDelta("a")])
    runtime.exchanges.on_end = trace.exchange_end
    runtime.exchanges.finish(exchange, Outcome.CANCELLED, "client went away")
    # The cut upstream is reported after the cancel: it must not open a trace nobody closes.
    trace.gemini_events(tflow.tflow(), exchange, [UpstreamError(502, "STREAM_TRUNCATED", "cut")])
    assert trace._open == {}
    done = trace.done()
    assert done is not None
    await done
    written = TraceStore(runtime.settings.state_path / "traces", 10).list()
    assert [(t["id"], t["outcome"]) for t in written] == [(exchange.id, "cancelled")]


def grpc_flow(message: bytes) -> http.HTTPFlow:
    flow = tflow.tflow()
    flow.request.host = "generativelanguage.googleapis.com"
    flow.request.path = (
        "/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent"
    )
    flow.request.http_version = "HTTP/2.0"
    flow.request.headers["content-type"] = "application/grpc"
    flow.request.content = encode_message(message, compress=True)
    flow.request.headers["grpc-encoding"] = "gzip"
    return flow


def test_a_grpc_upstream_request_is_traced_as_the_rest_json_it_stands_for(tmp_path: Path) -> None:
    runtime = Runtime(Settings(trace=True, state_dir=str(tmp_path)))
    trace = Trace(runtime)
    exchange = runtime.exchanges.open(SPEC, endpoint="chat.completions", timeout=60)
    body = {
        "model": "models/gemini-2.5-flash",
        "contents": [
            {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBO"}}]}
        ],
    }
    flow = grpc_flow(request_from_json(body))
    flow.metadata[META_EXCHANGE] = exchange.id
    trace.request(flow)
    traced = trace._open[exchange.id]["upstream_request"]["body"]
    assert traced["model"] == "models/gemini-2.5-flash"
    [part] = traced["contents"][0]["parts"]
    assert part["inlineData"]["mimeType"] == "image/png"
    assert part["inlineData"]["data"] != "iVBO"  # inline media is blanked as for JSON


def test_an_unreadable_grpc_body_is_traced_by_its_size(tmp_path: Path) -> None:
    runtime = Runtime(Settings(trace=True, state_dir=str(tmp_path)))
    trace = Trace(runtime)
    exchange = runtime.exchanges.open(SPEC, endpoint="chat.completions", timeout=60)
    flow = grpc_flow(b"\xff\xff")
    flow.request.headers.pop("grpc-encoding")
    flow.request.content = b"\x00\x00\x00\x00\x02\xff\xff"
    flow.metadata[META_EXCHANGE] = exchange.id
    trace.request(flow)
    assert trace._open[exchange.id]["upstream_request"]["body"] == "<7 bytes, not a Gemini request>"
