"""Feeds `Metrics` from mitmproxy's hooks and ours; runs the event-loop lag probe.

- Flows: each Google API flow (a Gemini host, or tagged by our driver) is counted once, by
  kind, when it ends (`response` or `error`). By then the inject addon has said what it did,
  whatever the addon order, and flows answered in the `request` hook (synthetic, refused) have
  had their `response` hook too. Other traffic is not counted at all.
- Tokens and cost: the last `Usage` of a response is kept on the flow and counted once at
  `gemini_response_end`, as `source="exchange"` or `"observed"`. Cost is priced by wire id.
- Exchanges: outcome, duration and time to first event at `exchange_end`.
- Upstream errors: every `UpstreamError` event, plus a generate call that failed before any
  response (no tap ever saw it).

Every hook is cheap and never raises: a metrics bug must not touch a flow or a stream.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Final

from mitmproxy import http

from zerogravity_proxy.addons.capture import META_TAP
from zerogravity_proxy.addons.flows import (
    META_EXCHANGE,
    META_REFUSED,
    META_SYNTHETIC,
    gemini_endpoint,
    google_flow,
    request_model,
)
from zerogravity_proxy.events import Event, UpstreamError, Usage
from zerogravity_proxy.exchanges import Exchange
from zerogravity_proxy.metrics import FlowKind, Metrics
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)

META_COUNTED: Final = "zerogravity.metrics.counted"  # its kind was counted
META_USAGE: Final = "zerogravity.metrics.usage"  # the last Usage of its response so far
UNREACHABLE: Final = UpstreamError(502, "UPSTREAM_UNREACHABLE", "no response from the upstream")


def _never_raises[**P](hook: Callable[P, None]) -> Callable[P, None]:
    @functools.wraps(hook)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            hook(*args, **kwargs)
        except Exception:
            log.exception("metrics hook %s failed", hook.__name__)

    return guarded


class MetricsAddon:
    def __init__(self, runtime: Runtime, metrics: Metrics) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.sampler: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @_never_raises
    def running(self) -> None:
        # Not returned: mitmproxy would wait for it, and it never ends.
        if self.sampler is None or self.sampler.done():
            self.sampler = asyncio.get_running_loop().create_task(
                self.metrics.sample_loop_lag(), name="zerogravity-loop-lag"
            )

    @_never_raises
    def configure(self, updated: set[str]) -> None:
        self.metrics.refresh()  # a new catalogue or driver: pre-initialise its series now

    @_never_raises
    def done(self) -> None:
        if self.sampler is not None:
            self.sampler.cancel()
            self.sampler = None

    # --- flows ----------------------------------------------------------------------------

    @_never_raises
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # Before any addon redirects the flow (the upstream override rewrites its host).
        gemini_endpoint(flow, self.runtime.settings.gemini_hosts)

    @_never_raises
    def response(self, flow: http.HTTPFlow) -> None:
        self._count_flow(flow)

    @_never_raises
    def error(self, flow: http.HTTPFlow) -> None:
        self._count_flow(flow)
        if (
            self._google(flow)
            and flow.response is None
            and META_TAP not in flow.metadata
            and not flow.metadata.get(META_REFUSED)
            and not flow.metadata.get(META_SYNTHETIC)
            and self._generates(flow)
        ):
            self.metrics.record_upstream_error(UNREACHABLE)

    def _count_flow(self, flow: http.HTTPFlow) -> None:
        metadata = flow.metadata
        if not self._google(flow) or metadata.get(META_COUNTED):
            return
        metadata[META_COUNTED] = True
        self.metrics.record_flow(self._kind(flow))

    def _kind(self, flow: http.HTTPFlow) -> FlowKind:
        metadata = flow.metadata
        if metadata.get(META_REFUSED):
            return "refused"
        if metadata.get(META_SYNTHETIC):
            return "synthetic"
        if metadata.get(META_EXCHANGE):
            return "rewritten"
        return "observed" if self._generates(flow) else "passed_through"

    def _google(self, flow: http.HTTPFlow) -> bool:
        return google_flow(flow, self.runtime.settings.gemini_hosts)

    def _generates(self, flow: http.HTTPFlow) -> bool:
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)
        return endpoint is not None and endpoint.generates

    # --- our hooks ------------------------------------------------------------------------

    @_never_raises
    def gemini_events(
        self, flow: http.HTTPFlow, exchange: Exchange | None, events: list[Event]
    ) -> None:
        for event in events:
            if isinstance(event, Usage):
                flow.metadata[META_USAGE] = event
            elif isinstance(event, UpstreamError):
                self.metrics.record_upstream_error(event)

    @_never_raises
    def gemini_response_end(self, flow: http.HTTPFlow, exchange: Exchange | None) -> None:
        usage: Usage | None = flow.metadata.pop(META_USAGE, None)
        if usage is None:
            return
        if exchange is not None:
            wire_id: str | None = exchange.spec.upstream_model
            cost = self._cost(wire_id, usage)
            self.metrics.record_usage(exchange.spec.model, usage, "exchange", cost)
        else:
            wire_id = request_model(flow, self.runtime.settings.gemini_hosts)
            self.metrics.record_usage(wire_id, usage, "observed", self._cost(wire_id, usage))

    @_never_raises
    def exchange_end(self, exchange: Exchange) -> None:
        self.metrics.record_exchange(exchange)

    # --- helpers --------------------------------------------------------------------------

    def _cost(self, wire_id: str | None, usage: Usage) -> float | None:
        if wire_id is None:
            return None
        try:
            return self.runtime.prices.cost(wire_id, usage)
        except Exception:
            log.exception("pricing %s failed", wire_id)
            return None
