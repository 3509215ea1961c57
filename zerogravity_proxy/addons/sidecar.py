"""Runs the aiohttp sidecar on mitmproxy's own event loop, from `running` to `done`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

import aiohttp
from aiohttp import web
from mitmproxy import ctx

from zerogravity_proxy.drivers import Driver
from zerogravity_proxy.drivers.antigravity.driver import AntigravityDriver
from zerogravity_proxy.drivers.direct import DirectDriver
from zerogravity_proxy.events import UpstreamError
from zerogravity_proxy.exchanges import Exchange
from zerogravity_proxy.hooks import ExchangeEndHook
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import SettingsError
from zerogravity_proxy.sidecar.app import create_app
from zerogravity_proxy.sidecar.auth import check_bind, load_api_keys
from zerogravity_proxy.store.responses import ResponseStore

log = logging.getLogger(__name__)

SHUTDOWN = UpstreamError(503, "SHUTTING_DOWN", "The proxy is shutting down.")


class Sidecar:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.runner: web.AppRunner | None = None
        self.http: aiohttp.ClientSession | None = None
        self.sweeper: asyncio.Task[None] | None = None
        self.url: str | None = None
        self.store: ResponseStore | None = None

    def running(self) -> asyncio.Task[None]:
        # A sync hook returning a task: awaited at start-up, and safe under script reloads.
        return asyncio.get_running_loop().create_task(self._start())

    async def _start(self) -> None:
        settings = self.runtime.settings
        try:
            keys = load_api_keys(settings, os.environ)
            check_bind(settings, keys)
        except SettingsError as e:
            log.error("%s", e)  # an error during start-up: mitmproxy's ErrorCheck exits
            return
        host, port = ctx.master.addons.get("proxyserver").listen_addrs()[0][:2]
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        self.runtime.proxy_url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        self.runtime.exchanges.on_end = self._ended
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.max_exchanges),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
            trust_env=False,
        )
        self.store = ResponseStore(
            settings.state_path / "responses.sqlite3",
            retention=settings.response_retention_days * 86400,
            max_rows=settings.response_store_max,
        )
        await self.store.open()
        driver: Driver
        if settings.driver == "antigravity":
            driver = AntigravityDriver(self.runtime, self.http)
        else:
            driver = DirectDriver(self.runtime, self.http)
        app = create_app(self.runtime, driver, self.http, self.store, keys)
        self.runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,
            shutdown_timeout=settings.shutdown_timeout,
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, settings.sidecar_host, settings.sidecar_port)
        await site.start()
        bound = self.runner.addresses[0]
        host = settings.sidecar_host
        self.url = self.runtime.sidecar_url = (
            f"http://{f'[{host}]' if ':' in host else host}:{bound[1]}"
        )
        self.sweeper = asyncio.get_running_loop().create_task(self._sweep())
        log.info(
            "zerogravity-proxy ready: sidecar %s, proxy %s, upstream %s",
            self.url,
            self.runtime.proxy_url,
            self.runtime.upstream_override or self.runtime.settings.upstream_base,
        )

    def _ended(self, exchange: Exchange) -> None:
        self.runtime.observers.notify(ExchangeEndHook(exchange))

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(1)
            for exchange in self.runtime.exchanges.expire():
                log.warning("exchange %s expired past its deadline", exchange.id)

    def done(self) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._stop())

    async def _stop(self) -> None:
        if self.sweeper is not None:
            self.sweeper.cancel()
        open_exchanges = len(self.runtime.exchanges)
        if open_exchanges:
            log.warning("shutting down: ending %d open exchange(s) with an error", open_exchanges)
            self.runtime.exchanges.abort_all(SHUTDOWN)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.runtime.settings.shutdown_timeout):
                    while len(self.runtime.exchanges):
                        await asyncio.sleep(0.05)
        if self.runner is not None:
            await self.runner.cleanup()
        if self.http is not None:
            await self.http.close()
        if self.store is not None:
            await self.store.close()
