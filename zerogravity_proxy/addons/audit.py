"""Writes one usage record per exchange and per observed Gemini response.

Per-flow tallies come from `gemini_events` (last usage, finish, error, tool calls, content, the
model the request named). An exchange's record is written at `exchange_end`, with the
exchange's own outcome; an observed response's (no exchange) at `gemini_response_end`,
classified as the reference stream tap does (see `classify`). Hooks run on mitmproxy's event
loop: they only update a small dataclass, and `UsageStore.record` never blocks. Nothing here
raises into mitmproxy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from mitmproxy import http

from zerogravity_proxy.addons.flows import gemini_endpoint, request_model
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
from zerogravity_proxy.exchanges import Exchange, Outcome
from zerogravity_proxy.pricing import PriceTable
from zerogravity_proxy.redact import redact_url
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.store.usage import Kind, UsageRecord, UsageStore

log = logging.getLogger(__name__)

MAX_TRACKED = 4096  # tallies kept per kind; beyond, the oldest is forgotten
MAX_REASON = 300

# Our parser's own "the stream ended without a finish reason (or was empty)" error.
TRUNCATED = "STREAM_TRUNCATED"
NO_FINISH = "stream ended without a finish reason"
EMPTY = "empty upstream stream"

_CONTENT = (TextDelta, ThoughtDelta, ToolCall, Grounding)


@dataclass(slots=True)
class Tally:
    """What one Gemini response has shown so far. `first_content` is monotonic."""

    model: str | None = None
    usage: Usage | None = None
    finished: bool = False
    error: UpstreamError | None = None
    tool_calls: int = 0
    content: bool = False
    first_content: float | None = None

    def add(self, events: list[Event], now: float) -> None:
        for event in events:
            if isinstance(event, Usage):
                self.usage = event  # cumulative: the last one counts
            elif isinstance(event, Finish):
                self.finished = True
            elif isinstance(event, UpstreamError):
                if self.error is None:
                    self.error = event
            elif isinstance(event, _CONTENT):
                if isinstance(event, ToolCall):
                    self.tool_calls += 1
                if not self.content:
                    self.content = True
                    self.first_content = now

    @property
    def has_usage(self) -> bool:
        u = self.usage
        return u is not None and (u.prompt > 0 or u.candidates + u.thoughts > 0 or u.total > 0)

    @property
    def usage_missing(self) -> bool:
        """Content came without usage: its tokens, and so its cost, are unknown.

        Flagged whatever the outcome (the reference tap flags only completed streams): a cut-off
        stream with content was billed too, so its record's zero tokens are a miss as well.
        """
        return self.content and not self.has_usage


def classify(tally: Tally) -> tuple[Outcome, str | None]:
    """An observed response's outcome, as the reference stream tap decides it.

    Failed on an upstream error, on a stream that ended without a finish reason, and on an
    empty stream (the parser reports the last two as STREAM_TRUNCATED: they are told apart
    here by whether content came); completed otherwise, whatever the finish reason.
    """
    error = tally.error
    if error is not None and error.code != TRUNCATED:
        return Outcome.FAILED, f"upstream error: {error.code}: {error.message}"[:MAX_REASON]
    if not tally.finished:
        return Outcome.FAILED, NO_FINISH if tally.content else EMPTY
    return Outcome.COMPLETED, None


class Audit:
    """The usage-recording addon. With `prices` None it prices by `runtime.prices`."""

    def __init__(
        self,
        runtime: Runtime,
        store: UsageStore,
        prices: PriceTable | None = None,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self._fixed_prices = prices
        self._clock = clock
        self._monotonic = monotonic
        self._exchanges: dict[str, Tally] = {}  # by exchange id, until exchange_end
        self._observed: dict[str, Tally] = {}  # by flow id, until gemini_response_end

    @property
    def tracked(self) -> int:
        """Responses with a tally in memory (exchanges not yet ended, observed not yet over)."""
        return len(self._exchanges) + len(self._observed)

    # -- mitmproxy lifecycle --------------------------------------------------------------------

    def running(self) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._open())

    def done(self) -> asyncio.Task[None]:
        # After the sidecar's `done` (later in the chain): the exchanges it ended are recorded.
        return asyncio.get_running_loop().create_task(self._close())

    async def _open(self) -> None:
        try:
            await self.store.open()
        except Exception as e:  # usage accounting must not keep the proxy from serving
            log.error("usage records will not be kept: %s", e)

    async def _close(self) -> None:
        try:
            await self.store.close()
        except Exception as e:
            log.error("closing the usage store: %s", e)

    # -- custom hooks ---------------------------------------------------------------------------

    def gemini_events(
        self, flow: http.HTTPFlow, exchange: Exchange | None, events: list[Event]
    ) -> None:
        try:
            tally = self._tally(flow, exchange)
            if tally is not None:
                tally.add(events, self._monotonic())
        except Exception:
            log.exception("audit: gemini_events failed for %s", redact_url(flow.request.url))

    def gemini_response_end(self, flow: http.HTTPFlow, exchange: Exchange | None) -> None:
        if exchange is not None:
            return  # its record waits for exchange_end, which has the outcome
        try:
            tally = self._observed.pop(flow.id, None) or self._new_tally(flow)
            self.store.record(self._observed_record(flow, tally))
        except Exception:
            log.exception("audit: no record for observed response %s", redact_url(flow.request.url))

    def exchange_end(self, exchange: Exchange) -> None:
        try:
            tally = self._exchanges.pop(exchange.id, None) or Tally()
            self.store.record(self._exchange_record(exchange, tally))
        except Exception:
            log.exception("audit: no record for exchange %s", exchange.id)

    # -- records --------------------------------------------------------------------------------

    def _exchange_record(self, exchange: Exchange, tally: Tally) -> UsageRecord:
        now = self._monotonic()
        offset = self._clock() - now  # one offset for every time of the record
        served = tally.model or exchange.spec.upstream_model
        outcome = exchange.outcome or Outcome.FAILED
        ended = exchange.ended_at if exchange.ended_at is not None else now
        return self._record(
            exchange.id,
            "exchange",
            tally,
            endpoint=exchange.endpoint,
            requested=exchange.spec.model,
            served=served,
            driver=self.runtime.settings.driver,
            started=exchange.created + offset,
            first=None if tally.first_content is None else tally.first_content + offset,
            ended=ended + offset,
            outcome=outcome,
            reason=exchange.reason,
        )

    def _observed_record(self, flow: http.HTTPFlow, tally: Tally) -> UsageRecord:
        wall = self._clock()
        offset = wall - self._monotonic()
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)
        outcome, reason = classify(tally)
        return self._record(
            flow.id,
            "observed",
            tally,
            endpoint=None if endpoint is None else f"{endpoint.flavour}:{endpoint.method}",
            requested=tally.model,
            served=tally.model,
            driver=None,
            started=flow.request.timestamp_start,
            first=None if tally.first_content is None else tally.first_content + offset,
            ended=wall,
            outcome=outcome,
            reason=reason,
        )

    def _record(
        self,
        record_id: str,
        kind: Kind,
        tally: Tally,
        *,
        endpoint: str | None,
        requested: str | None,
        served: str | None,
        driver: str | None,
        started: float,
        first: float | None,
        ended: float,
        outcome: Outcome,
        reason: str | None,
    ) -> UsageRecord:
        usage = tally.usage or Usage()
        missing = tally.usage_missing
        cost = None
        if served is not None and not missing:
            cost = self._price_table().cost(served, usage)
        return UsageRecord(
            id=record_id,
            kind=kind,
            endpoint=endpoint,
            model_requested=requested,
            model_served=served,
            driver=driver,
            started_at=started,
            first_token_at=first,
            ended_at=ended,
            prompt_tokens=usage.prompt + usage.tool_use_prompt,
            cached_tokens=usage.cached,
            output_tokens=usage.candidates + usage.thoughts,
            reasoning_tokens=usage.thoughts,
            cost_usd=cost,
            tool_calls=tally.tool_calls,
            outcome=outcome.value,
            reason=reason,
            usage_missing=missing,
        )

    # -- state ----------------------------------------------------------------------------------

    def _tally(self, flow: http.HTTPFlow, exchange: Exchange | None) -> Tally | None:
        if exchange is not None:
            if exchange.ended:
                return None  # recorded already: late events change nothing
            table, key = self._exchanges, exchange.id
        else:
            table, key = self._observed, flow.id
        tally = table.get(key)
        if tally is None:
            if len(table) >= MAX_TRACKED:
                oldest = next(iter(table))
                del table[oldest]
                log.warning("audit: tracking %d responses; forgot %s", MAX_TRACKED, oldest)
            tally = table[key] = self._new_tally(flow)
        return tally

    def _new_tally(self, flow: http.HTTPFlow) -> Tally:
        return Tally(model=request_model(flow, self.runtime.settings.gemini_hosts))

    def _price_table(self) -> PriceTable:
        # The runtime rebuilds its table whenever the (already validated) settings change.
        return self._fixed_prices if self._fixed_prices is not None else self.runtime.prices
