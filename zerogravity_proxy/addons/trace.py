"""Writes an opt-in debug trace of each exchange (see `zerogravity_proxy.trace`)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from typing import Any

from mitmproxy import http

from zerogravity_proxy.addons.flows import META_EXCHANGE, gemini_endpoint
from zerogravity_proxy.events import Event
from zerogravity_proxy.exchanges import Exchange
from zerogravity_proxy.gemini.wire import BodyError, read_request
from zerogravity_proxy.redact import redact_headers, redact_url
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.trace import TraceStore, blank_media

log = logging.getLogger(__name__)

MAX_EVENTS = 10_000  # a trace is for reading; a runaway stream must not grow it without bound


def _unix(monotonic: float | None) -> float | None:
    return None if monotonic is None else time.time() - (time.monotonic() - monotonic)


class Trace:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._open: dict[str, dict[str, Any]] = {}
        self._writes: set[asyncio.Task[Any]] = set()

    @property
    def enabled(self) -> bool:
        return self.runtime.settings.trace

    def _trace(self, exchange_id: str) -> dict[str, Any]:
        return self._open.setdefault(exchange_id, {"id": exchange_id, "events": []})

    def request(self, flow: http.HTTPFlow) -> None:
        """The upstream request as it leaves (after the inject and upstream addons)."""
        exchange_id = flow.metadata.get(META_EXCHANGE)
        if not self.enabled or not exchange_id or flow.response is not None:
            return
        exchange = self.runtime.exchanges.get(exchange_id)
        if exchange is None or exchange.ended:
            return
        content = flow.request.get_content(strict=False) or b""
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)
        body: Any = f"<{len(content)} bytes, not a Gemini request>"
        if endpoint is not None:
            encoding = flow.request.headers.get("grpc-encoding")
            with contextlib.suppress(BodyError):  # either wire, as REST JSON
                body = blank_media(read_request(content, endpoint, encoding, strict=False))
        self._trace(exchange_id)["upstream_request"] = {
            "method": flow.request.method,
            "url": redact_url(flow.request.url),
            "headers": redact_headers(dict(flow.request.headers)),
            "body": body,
        }

    def gemini_events(
        self, flow: http.HTTPFlow, exchange: Exchange | None, events: list[Event]
    ) -> None:
        # Late events of an ended exchange (a cut upstream reported after a cancel) start no trace.
        if not self.enabled or exchange is None or exchange.ended:
            return
        trace = self._trace(exchange.id)
        room = MAX_EVENTS - len(trace["events"])
        for event in events[:room]:
            trace["events"].append({"type": type(event).__name__, **dataclasses.asdict(event)})

    def exchange_end(self, exchange: Exchange) -> None:
        trace = self._open.pop(exchange.id, None)
        if not self.enabled:
            return
        trace = trace or {"id": exchange.id, "events": []}
        spec = exchange.spec
        trace.update(
            endpoint=exchange.endpoint,
            model=spec.model,
            upstream_model=spec.upstream_model,
            matched_by=exchange.rule,
            outcome=str(exchange.outcome),
            reason=exchange.reason,
            started_at=_unix(exchange.created),
            first_event_at=_unix(exchange.first_event_at),
            ended_at=_unix(exchange.ended_at),
            client={
                "contents": [content.get("role") for content in spec.contents],
                "system_instruction": spec.system_instruction is not None,
                "tools": [
                    declaration.get("name")
                    for tool in spec.tools or []
                    for declaration in tool.get("functionDeclarations", [])
                ],
                "tool_config": spec.tool_config,
                "generation_config": spec.generation_config,
                "labels": spec.labels,
            },
        )
        store = TraceStore(
            self.runtime.settings.state_path / "traces", self.runtime.settings.trace_max
        )
        ended_ms = int((trace["ended_at"] or time.time()) * 1000)
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(store.write, trace, ended_ms)
        )
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[Any]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not write a trace: %s", task.exception())

    def done(self) -> asyncio.Task[Any] | None:
        """Let pending trace writes land before the daemon exits (a task: safe on reload)."""
        if not self._writes:
            return None
        return asyncio.get_running_loop().create_task(asyncio.wait(set(self._writes), timeout=5))
