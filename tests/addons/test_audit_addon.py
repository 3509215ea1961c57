"""The Audit addon in a test master with the real Inject and Capture: one usage record per
exchange and per observed Gemini response, with the stream tap's classification."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from mitmproxy import http
from mitmproxy.flow import Error
from mitmproxy.proxy.layers.http._hooks import (
    HttpRequestHeadersHook,
    HttpRequestHook,
    HttpResponseHeadersHook,
    HttpResponseHook,
)
from mitmproxy.test import taddons

from tests.addons.test_addons import (
    CC_PATH,
    CHUNK_1,
    CHUNK_2,
    CLOUDCODE_HOST,
    RATE_LIMITED,
    SPEC,
    SSE_BODY,
    make_flow,
    respond,
    tagged_flow,
)
from zerogravity_proxy.addons import audit as audit_module
from zerogravity_proxy.addons import flows as flows_module
from zerogravity_proxy.addons.audit import Audit, Tally, classify
from zerogravity_proxy.addons.capture import Capture
from zerogravity_proxy.addons.flows import envelope_model
from zerogravity_proxy.addons.inject import Inject
from zerogravity_proxy.addons.upstream import Upstream
from zerogravity_proxy.events import Finish, TextDelta, UpstreamError, Usage
from zerogravity_proxy.exchanges import Exchange, Exchanges, Outcome
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.hooks import ExchangeEndHook
from zerogravity_proxy.pricing import Price, PriceTable
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings
from zerogravity_proxy.store.responses import StoreError
from zerogravity_proxy.store.usage import UsageStore

JSON = dict[str, Any]
T0 = 1_700_000_000.0
FLASH_COST = 5.9e-06  # SSE_BODY's 3 prompt + 2 output tokens on gemini-2.5-flash


def sse(*chunks: JSON) -> bytes:
    return b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)


class Clocks:
    """A wall clock and a monotonic clock, both set by hand."""

    def __init__(self) -> None:
        self.now = T0
        self.mono = 100.0

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono


@dataclasses.dataclass
class Rig:
    runtime: Runtime
    audit: Audit
    capture: Capture
    store: UsageStore
    clocks: Clocks
    tctx: taddons.context

    def open(self, spec: ExchangeSpec = SPEC) -> Exchange:
        return self.runtime.exchanges.open(spec, endpoint="chat.completions", timeout=60)

    def finish(self, exchange: Exchange, outcome: Outcome, reason: str | None = None) -> None:
        assert self.runtime.exchanges.finish(exchange, outcome, reason)

    async def request(self, flow: http.HTTPFlow) -> None:
        await self.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
        await self.tctx.master.addons.trigger_event(HttpRequestHook(flow))

    async def headers(
        self, flow: http.HTTPFlow, status: int = 200, content_type: str = "text/event-stream"
    ) -> None:
        respond(flow, status, content_type)
        await self.tctx.master.addons.trigger_event(HttpResponseHeadersHook(flow))

    def chunks(self, flow: http.HTTPFlow, chunks: Sequence[bytes]) -> None:
        assert flow.response is not None and callable(flow.response.stream)
        for chunk in chunks:
            flow.response.stream(chunk)

    async def end(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None and callable(flow.response.stream)
        flow.response.stream(b"")
        await self.tctx.master.addons.trigger_event(HttpResponseHook(flow))

    async def respond(
        self,
        flow: http.HTTPFlow,
        chunks: Sequence[bytes],
        status: int = 200,
        content_type: str = "text/event-stream",
    ) -> None:
        await self.headers(flow, status, content_type)
        self.chunks(flow, chunks)
        await self.end(flow)

    async def observe(self, body: bytes, **kwargs: Any) -> http.HTTPFlow:
        """An unmatched Gemini request and its whole response."""
        flow = make_flow()
        await self.request(flow)
        await self.respond(flow, [body] if body else [], **kwargs)
        return flow

    async def records(self) -> list[JSON]:
        await self.store.flush()
        return list(reversed(await self.store.recent(100)))  # oldest first


def rig_for(settings: Settings, tmp_path: Path, prices: PriceTable | None) -> Rig:
    runtime = Runtime(settings)
    clocks = Clocks()
    runtime.exchanges = Exchanges(settings.max_exchanges, clock=clocks.monotonic)
    runtime.exchanges.on_end = lambda e: runtime.observers.notify(ExchangeEndHook(e))
    store = UsageStore(tmp_path / "usage.sqlite3", retention=86400, clock=clocks.wall)
    audit = Audit(runtime, store, prices, clock=clocks.wall, monotonic=clocks.monotonic)
    capture = Capture(runtime)
    tctx = taddons.context(Inject(runtime), Upstream(runtime), capture, audit)
    return Rig(runtime, audit, capture, store, clocks, tctx)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    # Async, so that the test master runs on the test's own event loop.
    r = rig_for(Settings(), tmp_path, PriceTable())
    with r.tctx:
        yield r
    await r.store.close()


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    yield
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# --- exchanges ------------------------------------------------------------------------------


async def test_one_record_per_exchange(rig: Rig, no_errors_logged: None) -> None:
    exchange = rig.open(dataclasses.replace(SPEC, model="fast"))  # created at mono 100
    flow = tagged_flow(exchange.id)
    await rig.request(flow)
    await rig.headers(flow)
    rig.clocks.mono = 100.5
    rig.chunks(flow, [SSE_BODY])  # first content at 100.5
    await rig.end(flow)
    assert await rig.records() == []  # an exchange's record waits for its outcome
    rig.clocks.mono = 101.0
    rig.finish(exchange, Outcome.COMPLETED)  # ended at 101 = T0 on the wall clock
    assert await rig.records() == [
        {
            "id": exchange.id,
            "kind": "exchange",
            "endpoint": "chat.completions",
            "model_requested": "fast",
            "model_served": "gemini-2.5-flash",
            "driver": "direct",
            "started_at": T0 - 1.0,
            "first_token_at": T0 - 0.5,
            "ended_at": T0,
            "prompt_tokens": 3,
            "cached_tokens": 0,
            "output_tokens": 2,
            "reasoning_tokens": 0,
            "cost_usd": FLASH_COST,
            "tool_calls": 0,
            "outcome": "completed",
            "reason": None,
            "usage_missing": False,
        }
    ]
    assert rig.audit.tracked == 0


async def test_the_cloud_code_envelope_names_the_served_model(rig: Rig) -> None:
    exchange = rig.open()
    envelope = {"model": "gemini-3-pro-high", "project": "p", "request": {"contents": []}}
    flow = tagged_flow(
        exchange.id, host=CLOUDCODE_HOST, path=CC_PATH, content=orjson.dumps(envelope)
    )
    await rig.request(flow)
    await rig.respond(flow, [sse({"response": CHUNK_1}, {"response": CHUNK_2})])
    rig.finish(exchange, Outcome.COMPLETED)
    [record] = await rig.records()
    assert (record["model_requested"], record["model_served"]) == (
        "gemini-2.5-flash",
        "gemini-3-pro-high",
    )
    assert (record["prompt_tokens"], record["output_tokens"]) == (3, 2)
    assert record["cost_usd"] == 3e-05  # 3 * $2 + 2 * $12 per million


async def test_a_failed_exchange_keeps_its_outcome_and_reason(rig: Rig) -> None:
    exchange = rig.open()
    flow = tagged_flow(exchange.id)
    await rig.request(flow)
    await rig.respond(flow, [RATE_LIMITED], 429, "application/json")
    rig.finish(exchange, Outcome.FAILED, "upstream 429 RESOURCE_EXHAUSTED")
    [record] = await rig.records()
    assert {k: record[k] for k in ("outcome", "reason", "usage_missing", "cost_usd")} == {
        "outcome": "failed",
        "reason": "upstream 429 RESOURCE_EXHAUSTED",
        "usage_missing": False,
        "cost_usd": 0.0,
    }
    assert record["first_token_at"] is None


async def test_an_exchange_that_never_matched(rig: Rig) -> None:
    exchange = rig.open()
    rig.clocks.mono = 105.0
    rig.finish(exchange, Outcome.FAILED, "gate timeout")
    [record] = await rig.records()
    assert record == {
        "id": exchange.id,
        "kind": "exchange",
        "endpoint": "chat.completions",
        "model_requested": "gemini-2.5-flash",
        "model_served": "gemini-2.5-flash",  # the spec's upstream model
        "driver": "direct",
        "started_at": T0 - 5.0,
        "first_token_at": None,
        "ended_at": T0,
        "prompt_tokens": 0,
        "cached_tokens": 0,
        "output_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": 0.0,
        "tool_calls": 0,
        "outcome": "failed",
        "reason": "gate timeout",
        "usage_missing": False,
    }


async def test_a_cancelled_exchange_with_content_but_no_usage(rig: Rig) -> None:
    exchange = rig.open()
    flow = tagged_flow(exchange.id)
    await rig.request(flow)
    await rig.headers(flow)
    rig.chunks(flow, [sse(CHUNK_1)])
    rig.finish(exchange, Outcome.CANCELLED, "client disconnected")
    # The upstream goes on after the client left: nothing more is recorded or kept.
    rig.chunks(flow, [sse(CHUNK_2)])
    await rig.end(flow)
    [record] = await rig.records()
    assert {k: record[k] for k in ("outcome", "reason", "usage_missing", "cost_usd")} == {
        "outcome": "cancelled",
        "reason": "client disconnected",
        "usage_missing": True,
        "cost_usd": None,
    }
    assert record["output_tokens"] == 0
    assert rig.audit.tracked == 0


async def test_prices_follow_the_settings(tmp_path: Path) -> None:
    r = rig_for(Settings(prices=("gemini-2.5-flash=1/0.5/2",)), tmp_path, None)
    with r.tctx:
        await r.observe(SSE_BODY)
        r.runtime.apply(
            dataclasses.replace(r.runtime.settings, prices=("gemini-2.5-flash=10/1/20",))
        )
        await r.observe(SSE_BODY)
        costs = [rec["cost_usd"] for rec in await r.records()]
    await r.store.close()
    assert costs == [7e-06, 7e-05]  # 3 * 1 + 2 * 2, then 3 * 10 + 2 * 20, per million


# --- observed responses ---------------------------------------------------------------------


async def test_one_record_per_observed_response(rig: Rig, no_errors_logged: None) -> None:
    rig.clocks.now = T0 + 3.0
    flow = await rig.observe(SSE_BODY)
    assert await rig.records() == [
        {
            "id": flow.id,
            "kind": "observed",
            "endpoint": "gemini:streamGenerateContent",
            "model_requested": "gemini-2.5-flash",
            "model_served": "gemini-2.5-flash",
            "driver": None,
            "started_at": flow.request.timestamp_start,
            "first_token_at": T0 + 3.0,
            "ended_at": T0 + 3.0,
            "prompt_tokens": 3,
            "cached_tokens": 0,
            "output_tokens": 2,
            "reasoning_tokens": 0,
            "cost_usd": FLASH_COST,
            "tool_calls": 0,
            "outcome": "completed",
            "reason": None,
            "usage_missing": False,
        }
    ]
    assert rig.audit.tracked == 0


async def test_observed_tool_calls_thoughts_and_cached_tokens(rig: Rig) -> None:
    parts = [
        {"text": "planning", "thought": True},
        {"functionCall": {"name": "a", "args": {}}},
        {"functionCall": {"name": "b", "args": {"x": 1}}},
    ]
    chunk = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
        "usageMetadata": {
            "promptTokenCount": 10,
            "cachedContentTokenCount": 4,
            "candidatesTokenCount": 5,
            "thoughtsTokenCount": 7,
            "toolUsePromptTokenCount": 2,
            "totalTokenCount": 24,
        },
    }
    await rig.observe(sse(chunk))
    [record] = await rig.records()
    assert {k: record[k] for k in record if k.endswith(("tokens", "calls", "usd"))} == {
        "prompt_tokens": 12,
        "cached_tokens": 4,
        "output_tokens": 12,
        "reasoning_tokens": 7,
        "tool_calls": 2,
        # (10 - 4 + 2) * 0.30 + 4 * 0.03 + (5 + 7) * 2.50, per million
        "cost_usd": 3.252e-05,
    }


NO_USAGE_STOP = {
    "candidates": [
        {"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}
    ]
}


@pytest.mark.parametrize(
    ("body", "status", "outcome", "reason", "usage_missing", "cost"),
    [
        (SSE_BODY, 200, "completed", None, False, FLASH_COST),
        (
            RATE_LIMITED,
            429,
            "failed",
            "upstream error: RESOURCE_EXHAUSTED: Resource has been exhausted (e.g. check quota).",
            False,
            0.0,
        ),
        (sse(CHUNK_1), 200, "failed", "stream ended without a finish reason", True, None),
        (b"", 200, "failed", "empty upstream stream", False, 0.0),
        (sse(NO_USAGE_STOP), 200, "completed", None, True, None),
    ],
    ids=["completed", "upstream-error", "no-finish", "empty", "usage-missing"],
)
async def test_observed_classification(
    rig: Rig,
    body: bytes,
    status: int,
    outcome: str,
    reason: str | None,
    usage_missing: bool,
    cost: float | None,
) -> None:
    content_type = "text/event-stream" if status == 200 else "application/json"
    await rig.observe(body, status=status, content_type=content_type)
    [record] = await rig.records()
    assert (record["outcome"], record["reason"], record["usage_missing"], record["cost_usd"]) == (
        outcome,
        reason,
        usage_missing,
        cost,
    )


async def test_an_observed_response_cut_off_mid_stream(rig: Rig) -> None:
    flow = make_flow()
    await rig.request(flow)
    await rig.headers(flow)
    rig.chunks(flow, [sse(CHUNK_1)])
    flow.error = Error("connection reset")
    rig.capture.error(flow)
    [record] = await rig.records()
    assert (record["outcome"], record["reason"], record["usage_missing"]) == (
        "failed",
        "stream ended without a finish reason",
        True,
    )


async def test_an_observed_cloud_code_response(rig: Rig) -> None:
    # `model` not the first key: the body is parsed.
    body = {"project": "p", "model": "claude-sonnet-4-6", "request": {"contents": []}}
    flow = make_flow(host=CLOUDCODE_HOST, path=CC_PATH, content=orjson.dumps(body))
    await rig.request(flow)
    await rig.respond(flow, [sse({"response": CHUNK_1}, {"response": CHUNK_2})])
    [record] = await rig.records()
    assert record["endpoint"] == "cloudcode:streamGenerateContent"
    assert record["model_served"] == record["model_requested"] == "claude-sonnet-4-6"
    assert record["cost_usd"] == 3.9e-05  # 3 * $3 + 2 * $15 per million


def test_classify_follows_the_reference_order() -> None:
    error = UpstreamError(500, "INTERNAL", "boom")
    truncated = UpstreamError(502, "STREAM_TRUNCATED", "upstream stream was empty")
    done = Tally(finished=True, content=True, usage=Usage(prompt=1))
    assert classify(done) == (Outcome.COMPLETED, None)
    # An upstream error wins over a finish.
    assert classify(dataclasses.replace(done, error=error)) == (
        Outcome.FAILED,
        "upstream error: INTERNAL: boom",
    )
    assert classify(Tally(error=truncated)) == (Outcome.FAILED, "empty upstream stream")
    assert classify(Tally(content=True, error=truncated)) == (
        Outcome.FAILED,
        "stream ended without a finish reason",
    )
    long = UpstreamError(500, "INTERNAL", "x" * 1000)
    reason = classify(Tally(error=long))[1]
    assert reason is not None and len(reason) == audit_module.MAX_REASON


def test_tally_counts() -> None:
    tally = Tally()
    tally.add([TextDelta("a")], 5.0)
    tally.add([TextDelta("b"), Usage(prompt=1), Usage(prompt=9, candidates=2), Finish("STOP")], 6.0)
    assert (tally.first_content, tally.usage, tally.finished) == (
        5.0,
        Usage(prompt=9, candidates=2),
        True,
    )
    assert not tally.usage_missing
    assert Tally(content=True, usage=Usage()).usage_missing  # all-zero usage is no usage


@pytest.mark.parametrize(
    ("body", "model"),
    [
        (b'{"model":"gemini-3-flash","request":{}}', "gemini-3-flash"),
        (b' { "model" : "m1", "x": 1}', "m1"),
        (b'{"request":{"model":"inner"},"model":"outer"}', "outer"),
        (b'{"request":{"model":"inner"}}', None),
        (b'{"model": 5}', None),
        (b"[1, 2]", None),
        (b"not json", None),
        (b"", None),
    ],
)
def test_envelope_model(body: bytes, model: str | None) -> None:
    assert envelope_model(body) == model


def test_envelope_model_does_not_parse_huge_bodies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flows_module, "MAX_MODEL_PARSE", 10)
    assert envelope_model(b'{"request":{},"model":"m"}') is None
    assert envelope_model(b'{"model":"m","request":{"contents":[]}}') == "m"


# --- bounds and robustness ------------------------------------------------------------------


async def test_per_flow_state_is_bounded(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_module, "MAX_TRACKED", 2)
    flows = [make_flow() for _ in range(3)]
    for flow in flows:
        rig.audit.gemini_events(flow, None, [TextDelta("x")])
    assert rig.audit.tracked == 2
    for flow in flows:
        rig.audit.gemini_response_end(flow, None)
    assert rig.audit.tracked == 0
    records = await rig.records()
    # The forgotten tally is rebuilt empty at the end: recorded, as an empty stream.
    assert [(r["id"], r["reason"]) for r in records] == [
        (flows[0].id, "empty upstream stream"),
        (flows[1].id, "stream ended without a finish reason"),
        (flows[2].id, "stream ended without a finish reason"),
    ]


async def test_hooks_never_raise(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rig.store, "record", broken)
    monkeypatch.setattr(Tally, "add", broken)
    flow = make_flow()
    exchange = rig.open()
    rig.audit.gemini_events(flow, None, [TextDelta("x")])
    rig.audit.gemini_response_end(flow, None)
    rig.finish(exchange, Outcome.COMPLETED)  # exchange_end through the observers
    rig.audit.exchange_end(exchange)  # and directly
    failures = [r.getMessage() for r in caplog.records if r.exc_info]
    assert len(failures) == 4 and all(m.startswith("audit: ") for m in failures)


async def test_running_opens_and_done_closes_the_store(rig: Rig) -> None:
    await rig.audit.running()
    assert rig.store.path.exists()
    await rig.audit.done()
    with pytest.raises(StoreError, match="closed"):
        await rig.store.flush()


async def test_an_unusable_store_does_not_stop_the_proxy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "file").write_text("")
    store = UsageStore(tmp_path / "file" / "usage.sqlite3", retention=60)
    audit = Audit(Runtime(Settings()), store, PriceTable({"m": Price(1, 1, 1)}))
    await audit.running()
    assert "usage records will not be kept" in caplog.text
    await audit.done()
