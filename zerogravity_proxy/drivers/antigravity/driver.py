"""The antigravity driver: the language server is the originator, with its own credentials.

Per exchange: start a cascade, send the placeholder `.<cid:ID>` with the requested model, and
wait. The LS sends its own `v1internal` request through our proxy, where the inject addon finds
the marker and swaps in the client's conversation. If the client goes away first, the cascade
is cancelled so the LS stops too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp

from zerogravity_proxy.drivers.antigravity.client import (
    LanguageServerClient,
    LanguageServerError,
)
from zerogravity_proxy.drivers.antigravity.discovery import resolve_endpoint
from zerogravity_proxy.events import UpstreamError
from zerogravity_proxy.exchanges import Exchange, Outcome
from zerogravity_proxy.gemini.available import ls_enum
from zerogravity_proxy.gemini.cascade import marker
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)


class AntigravityDriver:
    def __init__(self, runtime: Runtime, session: aiohttp.ClientSession) -> None:
        self.runtime = runtime
        self.session = session
        self._client: LanguageServerClient | None = None

    def start(self, exchange: Exchange) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._run(exchange))

    async def client(self) -> LanguageServerClient:
        """The LS client, found once (from settings or a running LS) and kept.

        Discovery reads every /proc/*/cmdline: a thread's work, not the event loop's.
        """
        if self._client is None:
            settings = self.runtime.settings
            endpoint = await asyncio.to_thread(
                resolve_endpoint, settings.ls_host, settings.ls_port, settings.ls_csrf_token
            )
            self._client = LanguageServerClient(endpoint, self.session)
        return self._client

    async def _run(self, exchange: Exchange) -> None:
        cascade_id: str | None = None
        try:
            enum = ls_enum(exchange.spec.upstream_model, self.runtime.quota.models)
            if enum is None:
                _fail(
                    exchange,
                    400,
                    "INVALID_ARGUMENT",
                    f"the language server has no model for {exchange.spec.upstream_model!r}",
                )
                return
            client = await self.client()
            cascade_id = await client.start_cascade()
            # Requests of this cascade carry its id as their conversation: bind it before sending.
            self.runtime.cascades.bind([f"conv:{cascade_id}"], exchange.id)
            await client.send_message(cascade_id, marker(exchange.id), enum)
            log.debug("exchange %s: cascade %s started with %s", exchange.id, cascade_id, enum)
            await exchange.finished.wait()
        except LanguageServerError as e:
            self._client = None  # the LS may have restarted on a new port: find it again next time
            _fail(exchange, 502, "LS_UNAVAILABLE", f"Antigravity language server: {e}")
        except asyncio.CancelledError:
            live = self._client
            if cascade_id is not None and live and exchange.outcome is not Outcome.COMPLETED:
                with contextlib.suppress(LanguageServerError, asyncio.CancelledError):
                    await asyncio.shield(live.cancel(cascade_id))
            raise


def _fail(exchange: Exchange, status: int, code: str, message: str) -> None:
    """Before the LS's request arrives nothing else will end the exchange, so we report it."""
    if exchange.matched.is_set():
        return
    log.error("exchange %s: %s", exchange.id, message)
    exchange.deliver([UpstreamError(status, code, message)], time.monotonic())
    exchange.upstream_done()
