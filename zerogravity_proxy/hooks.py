"""Custom mitmproxy hooks: how observers (metrics, audit, trace, a user's addon) see events.

An addon subscribes by defining a method named after the hook, e.g.
`def gemini_events(self, flow, exchange, events): ...`. Hooks are triggered synchronously from
the stream tap, so handlers must be quick and must not block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mitmproxy import ctx, hooks, http
from mitmproxy.addonmanager import traverse

from zerogravity_proxy.events import Event
from zerogravity_proxy.exchanges import Exchange

log = logging.getLogger(__name__)


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


class Observers:
    """Calls the addons subscribed to a hook; finds them again only when the addon chain changes.

    mitmproxy's `AddonManager.trigger` walks every addon (about 40 by default) on every call,
    some 40 µs; the tap fires per chunk, so that walk alone was a third of the daemon's CPU.
    """

    def __init__(self) -> None:
        self._registered: tuple[Any, ...] = ()
        self._subscribers: dict[str, list[Callable[..., Any]]] = {}

    def notify(self, hook: hooks.Hook) -> None:
        manager = ctx.master.addons
        registered = tuple(manager.lookup.values())  # includes sub-addons (scripts)
        if registered != self._registered:
            self._registered = registered
            self._subscribers.clear()
        chain = manager.chain
        subscribers = self._subscribers.get(hook.name)
        if subscribers is None:
            subscribers = self._subscribers[hook.name] = [
                f for addon in traverse(chain) if callable(f := getattr(addon, hook.name, None))
            ]
        if not subscribers:
            return
        args = hook.args()
        for subscriber in subscribers:
            try:
                subscriber(*args)
            except Exception:  # one observer's bug must not break the stream or the others
                log.exception("observer %r failed on %s", subscriber, hook.name)
