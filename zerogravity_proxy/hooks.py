"""Custom mitmproxy hooks: how observers (metrics, audit, trace, a user's addon) see events.

An addon subscribes by defining a method named after the hook, e.g.
`def gemini_events(self, flow, exchange, events): ...`. Hooks are triggered synchronously from
the stream tap, so handlers must be quick and must not block.
"""

from __future__ import annotations

from dataclasses import dataclass

from mitmproxy import hooks, http

from zerogravity_proxy.events import Event
from zerogravity_proxy.exchanges import Exchange


@dataclass
class GeminiEventsHook(hooks.Hook):
    """Events parsed from one chunk of a Gemini response; `exchange` is None when unmatched."""

    flow: http.HTTPFlow
    exchange: Exchange | None
    events: list[Event]


@dataclass
class GeminiResponseEndHook(hooks.Hook):
    """A Gemini response is over (completely, or cut off: then the last events say so)."""

    flow: http.HTTPFlow
    exchange: Exchange | None


@dataclass
class ExchangeEndHook(hooks.Hook):
    """An exchange reached its one terminal outcome (see `exchange.outcome` and `.reason`)."""

    exchange: Exchange
