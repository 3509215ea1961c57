"""The metrics addon in a test master, next to the real Inject, Upstream and Capture addons.

Flows go through the addon manager as mitmproxy would drive them; the sidecar's part (ending
an exchange, which fires `exchange_end`) is played by the test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import orjson
import pytest
from mitmproxy import http
from mitmproxy.flow import Error
from mitmproxy.proxy.layers.http._hooks import (
    HttpErrorHook,
    HttpRequestHeadersHook,
    HttpRequestHook,
    HttpResponseHeadersHook,
    HttpResponseHook,
)
from mitmproxy.test import taddons

from tests.addons.test_addons import (
    CC_PATH,
    CLOUDCODE_HOST,
    RATE_LIMITED,
    SPEC,
    SSE_BODY,
    feed,
    make_flow,
    respond,
    tagged_flow,
)
from zerogravity_proxy.addons.capture import Capture
from zerogravity_proxy.addons.inject import Inject
from zerogravity_proxy.addons.metrics import META_USAGE, MetricsAddon
from zerogravity_proxy.addons.upstream import Upstream
from zerogravity_proxy.events import Usage
from zerogravity_proxy.exchanges import Exchange, Outcome
from zerogravity_proxy.gemini.cascade import marker
from zerogravity_proxy.hooks import ExchangeEndHook
from zerogravity_proxy.metrics import FLOW_KINDS, Metrics
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings

FLASH = "gemini-2.5-flash"
THINKING_SSE = (
    b"data: "
    + orjson.dumps(
        {
            "candidates": [{"content": {"parts": [{"text": "ok"}]}, "finishReason": "STOP"}],
            "usageMetadata": {
                "promptTokenCount": 100,
                "cachedContentTokenCount": 40,
                "candidatesTokenCount": 5,
                "thoughtsTokenCount": 20,
                "totalTokenCount": 125,
            },
        }
    )
    + b"\r\n\r\n"
)


def error_body(code: int, status: str, *details: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {"error": {"code": code, "message": "m", "status": status, "details": list(details)}}
    )


QUOTA_EXHAUSTED = error_body(
    429,
    "RESOURCE_EXHAUSTED",
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED"},
)


class Prices:
    """A PriceTable stand-in: one cent per thousand prompt tokens, unknown models unpriced."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def cost(self, model: str, usage: Usage) -> float | None:
        self.asked.append(model)
        return usage.prompt / 100_000 if model.startswith("gemini") else None


@dataclasses.dataclass
class Rig:
    runtime: Runtime
    metrics: Metrics
    addon: MetricsAddon
    tctx: taddons.context

    def value(self, name: str, **labels: str) -> float | None:
        return self.metrics.registry.get_sample_value(name, labels)

    def kinds(self) -> dict[str, float | None]:
        return {k: self.value("zerogravity_intercepted_flows_total", kind=k) for k in FLOW_KINDS}

    def open(self) -> Exchange:
        return self.runtime.exchanges.open(SPEC, endpoint="chat.completions", timeout=60)

    async def through(
        self,
        flow: http.HTTPFlow,
        chunks: Sequence[bytes] = (),
        status: int | None = 200,
        content_type: str = "text/event-stream",
    ) -> None:
        """The whole life of a flow: request hooks, then (unless answered) a response."""
        trigger = self.tctx.master.addons.trigger_event
        await trigger(HttpRequestHeadersHook(flow))
        await trigger(HttpRequestHook(flow))
        if flow.response is None and status is not None:
            respond(flow, status, content_type)
        if flow.response is not None:
            await trigger(HttpResponseHeadersHook(flow))
            if callable(flow.response.stream):
                feed(flow, chunks)
            await trigger(HttpResponseHook(flow))


def rig_for(settings: Settings) -> Iterator[Rig]:
    runtime = Runtime(settings)
    setattr(runtime, "prices", Prices())  # noqa: B010 (the field arrives with pricing)
    metrics = Metrics(runtime)
    addon = MetricsAddon(runtime, metrics)
    # What the sidecar does: an exchange's end fires the exchange_end hook.
    runtime.exchanges.on_end = lambda exchange: runtime.observers.notify(ExchangeEndHook(exchange))
    with taddons.context(Inject(runtime), Upstream(runtime), Capture(runtime), addon) as tctx:
        yield Rig(runtime, metrics, addon, tctx)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    for r in rig_for(Settings()):
        yield r


@pytest.fixture
async def ls_rig() -> AsyncIterator[Rig]:
    for r in rig_for(Settings(driver="antigravity")):
        yield r


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


# --- tokens ---------------------------------------------------------------------------------


async def test_observed_flow_counts_as_observed(rig: Rig) -> None:
    flow = make_flow()
    await rig.through(flow, [SSE_BODY[:30], SSE_BODY[30:]])
    labels = {"model": FLASH, "source": "observed"}
    assert rig.value("zerogravity_input_tokens_total", **labels) == 3
    assert rig.value("zerogravity_output_tokens_total", **labels) == 2
    assert rig.value("zerogravity_cached_input_tokens_total", **labels) == 0
    assert rig.value("zerogravity_estimated_cost_usd_total", **labels) == pytest.approx(3e-5)
    assert rig.value("zerogravity_input_tokens_total", model=FLASH, source="exchange") == 0
    assert META_USAGE not in flow.metadata  # nothing is kept past the response
    assert rig.kinds()["observed"] == 1


async def test_output_includes_thoughts(rig: Rig) -> None:
    await rig.through(make_flow(), [THINKING_SSE])
    labels = {"model": FLASH, "source": "observed"}
    assert rig.value("zerogravity_input_tokens_total", **labels) == 100
    assert rig.value("zerogravity_cached_input_tokens_total", **labels) == 40
    assert rig.value("zerogravity_output_tokens_total", **labels) == 25
    assert rig.value("zerogravity_reasoning_output_tokens_total", **labels) == 20


async def test_observed_cloudcode_model_comes_from_the_body() -> None:
    for rig in rig_for(Settings(upstream_flavour="cloudcode")):
        body = {"model": "gemini-3-flash", "project": "p", "request": {"contents": []}}
        await rig.through(
            make_flow(host=CLOUDCODE_HOST, path=CC_PATH, content=orjson.dumps(body)), [SSE_BODY]
        )
        body["model"] = "gemini-99-secret"
        await rig.through(
            make_flow(host=CLOUDCODE_HOST, path=CC_PATH, content=orjson.dumps(body)), [SSE_BODY]
        )
        await rig.through(
            make_flow(host=CLOUDCODE_HOST, path=CC_PATH, content=b"not json"), [SSE_BODY]
        )
        assert (
            rig.value("zerogravity_input_tokens_total", model="gemini-3-flash", source="observed")
            == 3
        )
        assert rig.value("zerogravity_input_tokens_total", model="other", source="observed") == 6
        # Priced by the real wire id, whatever the label says.
        prices = getattr(rig.runtime, "prices")  # noqa: B009
        assert prices.asked == ["gemini-3-flash", "gemini-99-secret"]
        assert rig.value(
            "zerogravity_estimated_cost_usd_total", model="other", source="observed"
        ) == pytest.approx(3e-5)


async def test_exchange_tokens_and_outcome(rig: Rig) -> None:
    exchange = rig.open()
    flow = tagged_flow(exchange.id)
    await rig.through(flow, [SSE_BODY])
    assert flow.metadata.get("zerogravity.exchange") == exchange.id
    labels = {"model": FLASH, "source": "exchange"}
    assert rig.value("zerogravity_input_tokens_total", **labels) == 3
    assert rig.value("zerogravity_output_tokens_total", **labels) == 2
    assert rig.value("zerogravity_input_tokens_total", model=FLASH, source="observed") is None
    assert rig.kinds()["rewritten"] == 1

    base = {"endpoint": "chat.completions", "model": FLASH, "driver": "direct"}
    assert rig.value("zerogravity_exchanges_total", outcome="completed", **base) == 0
    assert rig.value("zerogravity_exchanges_in_flight") == 1
    rig.runtime.exchanges.finish(exchange, Outcome.COMPLETED)
    assert rig.value("zerogravity_exchanges_total", outcome="completed", **base) == 1
    assert rig.value("zerogravity_exchanges_in_flight") == 0
    hist = {"endpoint": "chat.completions", "model": FLASH}
    assert rig.value("zerogravity_exchange_duration_seconds_count", **hist) == 1
    assert rig.value("zerogravity_time_to_first_token_seconds_count", **hist) == 1


async def test_cancelled_exchange_without_events_has_no_ttft(rig: Rig) -> None:
    exchange = rig.open()
    rig.runtime.exchanges.finish(exchange, Outcome.CANCELLED, "client went away")
    rig.runtime.exchanges.finish(exchange, Outcome.FAILED)  # a second end changes nothing
    base = {"endpoint": "chat.completions", "model": FLASH, "driver": "direct"}
    assert rig.value("zerogravity_exchanges_total", outcome="cancelled", **base) == 1
    assert rig.value("zerogravity_exchanges_total", outcome="failed", **base) == 0
    hist = {"endpoint": "chat.completions", "model": FLASH}
    assert rig.value("zerogravity_exchange_duration_seconds_count", **hist) == 1
    assert rig.value("zerogravity_time_to_first_token_seconds_count", **hist) is None


# --- intercepted flows ----------------------------------------------------------------------


async def test_intercepted_kinds(rig: Rig) -> None:
    await rig.through(tagged_flow(rig.open().id), [SSE_BODY])  # rewritten
    await rig.through(tagged_flow("0" * 32))  # refused: unknown exchange
    await rig.through(make_flow(), [SSE_BODY])  # observed
    await rig.through(
        make_flow(host=CLOUDCODE_HOST, path="/v1internal:loadCodeAssist"),
        status=200,
        content_type="application/json",
    )
    await rig.through(make_flow(path="/v1beta/models"), content_type="application/json")
    await rig.through(make_flow(path="/favicon.ico"), content_type="image/x-icon")
    await rig.through(make_flow(host="example.com"))  # not Google: not counted at all
    await rig.through(make_flow(host="example.com", path="/v1beta/models/x:generateContent"))
    assert rig.kinds() == {
        "rewritten": 1,
        "synthetic": 0,
        "refused": 1,
        "observed": 1,
        "passed_through": 3,
    }


async def test_synthetic_answer_counts_as_synthetic(ls_rig: Rig) -> None:
    body = {
        "model": "gemini-3-flash",
        "request": {"contents": [{"role": "user", "parts": [{"text": marker("a" * 32)}]}]},
    }
    flow = make_flow(host=CLOUDCODE_HOST, path=CC_PATH, content=orjson.dumps(body))
    await ls_rig.through(flow)
    assert flow.response is not None and flow.response.status_code == 200
    assert ls_rig.kinds()["synthetic"] == 1
    assert sum(v or 0 for v in ls_rig.kinds().values()) == 1


async def test_a_flow_is_counted_once(rig: Rig) -> None:
    flow = make_flow()
    await rig.through(flow, [SSE_BODY])
    flow.error = Error("client disconnected")  # after its response: mitmproxy reports both
    await rig.tctx.master.addons.trigger_event(HttpErrorHook(flow))
    assert rig.kinds()["observed"] == 1
    assert rig.value("zerogravity_upstream_errors_total", status="502", **{"class": "server"}) == 0


# --- upstream errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (429, RATE_LIMITED, "rate_limit"),
        (429, QUOTA_EXHAUSTED, "quota"),
        (400, error_body(400, "INVALID_ARGUMENT"), "invalid_argument"),
        (503, error_body(503, "UNAVAILABLE"), "server"),
        (403, error_body(403, "PERMISSION_DENIED"), "other"),
    ],
)
async def test_upstream_error_classes(rig: Rig, status: int, body: bytes, cls: str) -> None:
    await rig.through(
        tagged_flow(rig.open().id), [body[:10], body[10:]], status, "application/json"
    )
    await rig.through(make_flow(), [body], status, "application/json")  # observed errors count too
    assert rig.value("zerogravity_upstream_errors_total", status=str(status), **{"class": cls}) == 2
    assert rig.value("zerogravity_input_tokens_total", model="other", source="observed") is None


async def test_unreachable_upstream_counts_once(rig: Rig) -> None:
    flow = tagged_flow(rig.open().id)
    trigger = rig.tctx.master.addons.trigger_event
    await trigger(HttpRequestHeadersHook(flow))
    await trigger(HttpRequestHook(flow))
    flow.error = Error("Connection refused")
    await trigger(HttpErrorHook(flow))
    assert rig.value("zerogravity_upstream_errors_total", status="502", **{"class": "server"}) == 1
    assert rig.kinds()["rewritten"] == 1


async def test_cut_off_stream_counts_once(rig: Rig) -> None:
    flow = make_flow()
    trigger = rig.tctx.master.addons.trigger_event
    await trigger(HttpRequestHeadersHook(flow))
    await trigger(HttpRequestHook(flow))
    respond(flow)
    await trigger(HttpResponseHeadersHook(flow))
    assert flow.response is not None and callable(flow.response.stream)
    flow.response.stream(SSE_BODY[:20])
    flow.error = Error("connection reset")
    await trigger(HttpErrorHook(flow))  # the tap reports STREAM_TRUNCATED
    assert rig.value("zerogravity_upstream_errors_total", status="502", **{"class": "server"}) == 1
    assert rig.kinds()["observed"] == 1


async def test_failing_non_generate_call_is_no_upstream_error(rig: Rig) -> None:
    flow = make_flow(path="/v1beta/models")
    await rig.tctx.master.addons.trigger_event(HttpRequestHeadersHook(flow))
    flow.error = Error("Connection refused")
    await rig.tctx.master.addons.trigger_event(HttpErrorHook(flow))
    assert rig.value("zerogravity_upstream_errors_total", status="502", **{"class": "server"}) == 0
    assert rig.kinds()["passed_through"] == 1


# --- lifecycle and robustness ---------------------------------------------------------------


async def test_running_starts_the_loop_lag_sampler_and_done_stops_it(rig: Rig) -> None:
    rig.addon.running()
    sampler = rig.addon.sampler
    assert sampler is not None and not sampler.done()
    rig.addon.running()  # idempotent
    assert rig.addon.sampler is sampler
    rig.addon.done()
    await asyncio.sleep(0)
    assert sampler.cancelled() and rig.addon.sampler is None


async def test_hooks_never_raise(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*args: object) -> None:
        raise RuntimeError("metrics bug")

    monkeypatch.setattr(rig.metrics, "record_flow", boom)
    monkeypatch.setattr(rig.metrics, "record_usage", boom)
    flow = make_flow()
    rig.addon.requestheaders(flow)
    rig.addon.gemini_events(flow, None, [Usage(prompt=1)])
    rig.addon.gemini_response_end(flow, None)
    rig.addon.response(flow)
    failures = [r for r in caplog.records if r.getMessage().startswith("metrics hook")]
    assert len(failures) == 2 and all(r.exc_info for r in failures)
    caplog.clear()  # logged, as they should be: not a test failure


async def test_failing_prices_do_not_lose_tokens(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def cost(self, model: str, usage: Usage) -> float | None:
            raise ValueError("bad price table")

    setattr(rig.runtime, "prices", Broken())  # noqa: B010
    await rig.through(make_flow(), [SSE_BODY])
    assert rig.value("zerogravity_input_tokens_total", model=FLASH, source="observed") == 3
    assert rig.value("zerogravity_estimated_cost_usd_total", model=FLASH, source="observed") == 0
    assert any(r.getMessage().startswith("pricing ") for r in caplog.records)
    caplog.clear()


async def test_without_prices_no_cost(rig: Rig) -> None:
    setattr(rig.runtime, "prices", None)  # noqa: B010
    await rig.through(make_flow(), [SSE_BODY])
    assert rig.value("zerogravity_input_tokens_total", model=FLASH, source="observed") == 3
    assert rig.value("zerogravity_estimated_cost_usd_total", model=FLASH, source="observed") == 0
