"""The registry of live exchanges: exact keys, a deadline each, a size bound, one outcome each.

An exchange is one client request carried by one upstream Gemini request. The sidecar opens it,
the inject addon takes it when the originator's request arrives (exactly once), the capture
addon delivers its events, and whoever sees the end first finishes it. Nothing is ever looked
up by "latest" or "any": a lookup names its exchange or finds nothing.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from zerogravity_proxy.events import Event, UpstreamError
from zerogravity_proxy.gemini.spec import ExchangeSpec


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ExchangesFull(Exception):
    """More exchanges are in flight than the configured bound allows."""


# What the capture addon puts on an exchange's queue: a batch of events, or None for "the
# upstream response is over".
Batch = list[Event] | None


@dataclass(eq=False, slots=True)
class Exchange:
    id: str
    spec: ExchangeSpec
    endpoint: str
    created: float
    deadline: float
    queue: asyncio.Queue[Batch] = field(default_factory=asyncio.Queue)
    matched: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    rule: str | None = None
    first_event_at: float | None = None
    outcome: Outcome | None = None
    reason: str | None = None
    ended_at: float | None = None

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def deliver(self, events: list[Event], now: float) -> None:
        """Called from the stream tap: must never block or raise."""
        if self.outcome is None and events:
            if self.first_event_at is None:
                self.first_event_at = now
            self.queue.put_nowait(events)

    def upstream_done(self) -> None:
        if self.outcome is None:
            self.queue.put_nowait(None)


class Exchanges:
    def __init__(
        self,
        max_size: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_end: Callable[[Exchange], None] | None = None,
    ) -> None:
        self._max = max_size
        self._clock = clock
        self.on_end = on_end
        self._live: dict[str, Exchange] = {}

    def resize(self, max_size: int) -> None:
        self._max = max_size

    def open(self, spec: ExchangeSpec, *, endpoint: str, timeout: float) -> Exchange:
        if len(self._live) >= self._max:
            raise ExchangesFull(f"{len(self._live)} exchanges in flight (max_exchanges)")
        now = self._clock()
        exchange = Exchange(secrets.token_hex(16), spec, endpoint, now, now + timeout)
        self._live[exchange.id] = exchange
        return exchange

    def get(self, exchange_id: str) -> Exchange | None:
        return self._live.get(exchange_id)

    def take(self, exchange_id: str, rule: str) -> Exchange | None:
        """Match an intercepted request to its exchange; an exchange is taken at most once."""
        exchange = self._live.get(exchange_id)
        if exchange is None or exchange.matched.is_set():
            return None
        exchange.rule = rule
        exchange.matched.set()
        return exchange

    def finish(self, exchange: Exchange, outcome: Outcome, reason: str | None = None) -> bool:
        """Record the terminal outcome. The first call wins; later calls return False."""
        if exchange.outcome is not None:
            return False
        exchange.outcome = outcome
        exchange.reason = reason
        exchange.ended_at = self._clock()
        exchange.finished.set()
        self._live.pop(exchange.id, None)
        if self.on_end is not None:
            self.on_end(exchange)
        return True

    def expire(self) -> list[Exchange]:
        """Fail every exchange past its deadline (a safety net behind the sidecar's timeouts)."""
        now = self._clock()
        late = [e for e in self._live.values() if e.deadline <= now]
        for exchange in late:
            exchange.upstream_done()
            self.finish(exchange, Outcome.FAILED, "deadline exceeded")
        return late

    def abort_all(self, error: UpstreamError) -> None:
        """Tell every open exchange's consumer to end with `error` (used on shutdown)."""
        for exchange in list(self._live.values()):
            exchange.deliver([error], self._clock())
            exchange.upstream_done()

    def __iter__(self) -> Iterator[Exchange]:
        return iter(list(self._live.values()))

    def __len__(self) -> int:
        return len(self._live)
