"""Taps every Gemini response as it streams and turns its bytes into events.

Events go to the flow's exchange (when the inject addon matched one) and, through the
`gemini_events` hook, to every observer. The tap runs inside mitmproxy's event loop for each
chunk: it never raises into mitmproxy, never blocks, and always forwards the bytes unchanged.
"""

from __future__ import annotations

import logging
import time

from mitmproxy import http

from zerogravity_proxy.addons.flows import (
    META_EXCHANGE,
    META_LANGUAGE_SERVER,
    META_REFUSED,
    META_SYNTHETIC,
    gemini_endpoint,
    streams_request,
)
from zerogravity_proxy.events import Event, UpstreamError, Usage
from zerogravity_proxy.exchanges import Exchange
from zerogravity_proxy.gemini.relay import GrpcLanguageServerRelay, LanguageServerRelay
from zerogravity_proxy.gemini.response import (
    GrpcResponseParser,
    ResponseParser,
    is_grpc,
    parser_for,
)
from zerogravity_proxy.hooks import GeminiEventsHook, GeminiResponseEndHook, Observers
from zerogravity_proxy.redact import redact_url
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)

META_TAP = "zerogravity.tap"


Relay = LanguageServerRelay | GrpcLanguageServerRelay


class Tap:
    """The `flow.response.stream` callable of one Gemini response."""

    __slots__ = (
        "closed",
        "exchange",
        "failure",
        "flow",
        "observers",
        "parser",
        "relay",
        "usage",
        "withheld",
    )

    def __init__(
        self,
        flow: http.HTTPFlow,
        parser: ResponseParser | GrpcResponseParser,
        exchange: Exchange | None,
        observers: Observers,
        relay: Relay | None = None,
    ) -> None:
        self.flow = flow
        self.relay = relay
        self.parser = parser
        self.exchange = exchange
        self.observers = observers
        self.closed = False
        self.withheld = False  # the relay failed: the LS gets nothing more
        self.usage: Usage | None = None
        self.failure: UpstreamError | None = None

    def __call__(self, data: bytes) -> bytes:
        if self.closed:
            return b"" if self.withheld else data
        try:
            if data:
                self._dispatch(self.parser.feed(data))
            else:
                self.close()
            if self.relay is not None:
                return self.relay.feed(data) if data else self.relay.close()
        except Exception:  # the tap must never break the proxied stream
            log.exception(
                "stream tap failed on %s; the flow continues untapped",
                redact_url(self.flow.request.url),
            )
            self.close(
                UpstreamError(502, "TAP_FAILED", "internal error while parsing the response")
            )
            if self.relay is not None:  # unvetted bytes could carry a call for the client's tool
                self.withheld = True
                return b""
        return data

    def close(self, error: UpstreamError | None = None) -> None:
        """End of the response: flush the parser (usage, truncation) and tell everyone."""
        if self.closed:
            return
        self.closed = True
        events: list[Event]
        if error is not None:
            events = [error]
        else:
            try:
                response = self.flow.response
                events = self.parser.close(response.trailers if response else None)
            except Exception:
                log.exception("stream tap failed closing %s", redact_url(self.flow.request.url))
                events = [
                    UpstreamError(502, "TAP_FAILED", "internal error while parsing the response")
                ]
        self._dispatch(events)
        if self.exchange is not None:
            self.exchange.upstream_done()
        else:
            self._log_observed()
        self.observers.notify(GeminiResponseEndHook(self.flow, self.exchange))

    def _dispatch(self, events: list[Event]) -> None:
        if not events:
            return
        if self.exchange is not None:
            self.exchange.deliver(events, time.monotonic())
        else:
            for event in events:
                if isinstance(event, Usage):
                    self.usage = event
                elif isinstance(event, UpstreamError):
                    self.failure = event
        self.observers.notify(GeminiEventsHook(self.flow, self.exchange, events))

    def _log_observed(self) -> None:
        usage = self.usage or Usage()
        outcome = f"failed ({self.failure.code})" if self.failure else "completed"
        log.info(
            "observed Gemini response %s: outcome=%s prompt_tokens=%d cached_tokens=%d "
            "output_tokens=%d reasoning_tokens=%d",
            self.flow.request.path.split("?", 1)[0],
            outcome,
            usage.prompt,
            usage.cached,
            usage.candidates + usage.thoughts,  # as usage records count them
            usage.thoughts,
        )


class Capture:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # Recognise the flow while its host is still the one the client asked for.
        if streams_request(flow, self.runtime.settings.gemini_hosts):
            flow.request.stream = True

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if flow.response is None:
            return
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)
        if endpoint is None or not endpoint.generates:
            if is_grpc(flow.response.headers.get("content-type")):
                flow.response.stream = True  # never buffer a gRPC stream we do not tap
            return
        if flow.metadata.get(META_REFUSED) or flow.metadata.get(META_SYNTHETIC):
            return  # our own answer, not a Gemini response
        exchange_id = flow.metadata.get(META_EXCHANGE)
        exchange = self.runtime.exchanges.get(exchange_id) if exchange_id else None
        headers = flow.response.headers
        parser = parser_for(flow.response.status_code, headers, grpc=endpoint.grpc)
        relay: Relay | None = None
        if flow.metadata.get(META_LANGUAGE_SERVER) and flow.response.status_code == 200:
            if isinstance(parser, GrpcResponseParser):
                relay = GrpcLanguageServerRelay(headers.get("grpc-encoding"))
            elif headers.get("content-type", "").startswith("text/event-stream"):
                relay = LanguageServerRelay()
            if relay is not None:
                headers.pop("content-length", None)  # the relay changes the body's length
        tap = Tap(flow, parser, exchange, self.runtime.observers, relay)
        flow.metadata[META_TAP] = tap
        flow.response.stream = tap

    def response(self, flow: http.HTTPFlow) -> None:
        # A response mitmproxy did not stream (an addon answered it) ends here.
        tap = flow.metadata.get(META_TAP)
        if tap is not None:
            tap.close()

    def error(self, flow: http.HTTPFlow) -> None:
        """The upstream could not be reached, or the connection died mid-response."""
        tap: Tap | None = flow.metadata.get(META_TAP)
        if tap is not None:
            if not tap.parser.finished:
                log.warning(
                    "Gemini response cut off: %s (%s)", redact_url(flow.request.url), flow.error
                )
            tap.close()
            return
        exchange_id = flow.metadata.get(META_EXCHANGE)
        exchange = self.runtime.exchanges.get(exchange_id) if exchange_id else None
        if exchange is not None and flow.error is not None:
            message = f"upstream unreachable: {flow.error.msg}"
            exchange.deliver(
                [UpstreamError(502, "UPSTREAM_UNREACHABLE", message)], time.monotonic()
            )
            exchange.upstream_done()
