"""Running one exchange from the sidecar's side: start the driver, read events, enforce time.

Three clocks bound an exchange: the match gate (the originator's request must reach the inject
addon in time), the idle timeout (the stream must not go silent) and the overall deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from zerogravity_proxy.drivers import Driver
from zerogravity_proxy.events import Event, ToolCall, Usage
from zerogravity_proxy.exchanges import Batch, Exchange, ExchangesFull, Outcome
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)


class Run:
    """One exchange in progress, as the endpoint handler sees it."""

    def __init__(self, runtime: Runtime, exchange: Exchange) -> None:
        self.runtime = runtime
        self.exchange = exchange
        self.usage: Usage | None = None

    async def batches(self) -> AsyncIterator[list[Event]]:
        """Event batches until the upstream response is over; timeouts raise OpenAIError."""
        settings = self.runtime.settings
        exchange = self.exchange
        gate_deadline = exchange.created + settings.gate_timeout
        while True:
            now = time.monotonic()
            was_matched = exchange.matched.is_set()
            if was_matched:
                timeout = min(settings.idle_timeout, exchange.deadline - now)
            else:
                timeout = min(gate_deadline, exchange.deadline) - now
            try:
                if was_matched:
                    batch = await asyncio.wait_for(exchange.queue.get(), max(timeout, 0))
                else:
                    woke_on_match, batch = await self._batch_or_match(max(timeout, 0))
                    if woke_on_match:
                        continue  # from now on the idle clock applies
            except TimeoutError:
                if (
                    not was_matched
                    and exchange.matched.is_set()
                    and time.monotonic() < exchange.deadline
                ):
                    continue  # matched while we waited on the gate: now the idle clock applies
                raise self._timeout_error() from None
            if batch is None:
                return
            for event in batch:
                if isinstance(event, ToolCall) and event.signature:
                    self.runtime.signatures.put(
                        event.id, event.signature, exchange.spec.upstream_model
                    )
                elif isinstance(event, Usage):
                    self.usage = event
            yield batch

    async def _batch_or_match(self, timeout: float) -> tuple[bool, Batch]:
        """(False, next batch), or (True, None) once matched; TimeoutError after `timeout`."""
        loop = asyncio.get_running_loop()
        get = loop.create_task(self.exchange.queue.get())
        matched = loop.create_task(self.exchange.matched.wait())
        try:
            done, _ = await asyncio.wait(
                {get, matched}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in (get, matched):
                if not waiter.done():
                    waiter.cancel()
        if get in done:
            return False, get.result()
        if matched in done:
            return True, None
        raise TimeoutError

    def _timeout_error(self) -> OpenAIError:
        settings = self.runtime.settings
        exchange = self.exchange
        if not exchange.matched.is_set():
            return OpenAIError(
                502,
                f"The upstream request was not matched within {settings.gate_timeout:g}s.",
                "api_error",
                "upstream_not_matched",
            )
        if time.monotonic() >= exchange.deadline:
            return OpenAIError(
                504,
                f"The request did not complete within {settings.request_timeout:g}s.",
                "server_error",
                "request_timeout",
            )
        return OpenAIError(
            504,
            f"The upstream stream was idle for {settings.idle_timeout:g}s.",
            "server_error",
            "upstream_idle_timeout",
        )

    def fail(self, reason: str) -> None:
        self.runtime.exchanges.finish(self.exchange, Outcome.FAILED, reason)

    def complete(self) -> None:
        if self.usage is None:
            log.warning("exchange %s completed without usage metadata", self.exchange.id)
        self.runtime.exchanges.finish(self.exchange, Outcome.COMPLETED)


@asynccontextmanager
async def run_exchange(
    runtime: Runtime, driver: Driver, spec: ExchangeSpec, *, endpoint: str
) -> AsyncIterator[Run]:
    """Open an exchange, start its driver, and guarantee it ends exactly once."""
    try:
        exchange = runtime.exchanges.open(
            spec, endpoint=endpoint, timeout=runtime.settings.request_timeout
        )
    except ExchangesFull as e:
        raise OpenAIError(
            503, f"The proxy is at capacity: {e}.", "server_error", "overloaded", retry_after=1
        ) from None
    task: asyncio.Task[None] | None = None
    run = Run(runtime, exchange)
    try:
        task = driver.start(exchange)
        yield run
    except asyncio.CancelledError:
        runtime.exchanges.finish(exchange, Outcome.CANCELLED, "client went away")
        raise
    except ConnectionResetError:
        runtime.exchanges.finish(exchange, Outcome.CANCELLED, "client went away")
        raise
    except OpenAIError as e:
        run.fail(f"{e.code or e.type}: {e.message}")
        raise
    except BaseException as e:
        run.fail(f"internal error: {e!r}")
        raise
    finally:
        if not exchange.ended:
            run.fail("ended without an outcome")
        if task is not None and not task.done():
            task.cancel()
        _log_outcome(exchange)


def _log_outcome(exchange: Exchange) -> None:
    duration = (exchange.ended_at or time.monotonic()) - exchange.created
    ttft = exchange.first_event_at - exchange.created if exchange.first_event_at else None
    level = logging.INFO if exchange.outcome is Outcome.COMPLETED else logging.WARNING
    log.log(
        level,
        "exchange %s %s model=%s outcome=%s%s duration=%.3fs ttft=%s",
        exchange.id,
        exchange.endpoint,
        exchange.spec.model,
        exchange.outcome,
        f" reason={exchange.reason!r}" if exchange.reason else "",
        duration,
        f"{ttft:.3f}s" if ttft is not None else "-",
    )
