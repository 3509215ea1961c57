"""Where Gemini traffic goes: Google, or (offline, in tests) the simulator or an override URL."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from mitmproxy import http

from zerogravity_proxy.addons.flows import META_EXCHANGE, google_flow, streams_request
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.simulator import Simulator

log = logging.getLogger(__name__)


class Upstream:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.simulator: Simulator | None = None

    def running(self) -> asyncio.Task[None] | None:
        # A sync hook returning a task: awaited at start-up, and safe under script reloads.
        if not self.runtime.settings.use_simulator:
            return None
        return asyncio.get_running_loop().create_task(self._start_simulator())

    async def _start_simulator(self) -> None:
        self.simulator = Simulator()
        port = await self.simulator.start("127.0.0.1", 0)
        self.runtime.simulator_url = f"http://127.0.0.1:{port}"
        log.warning(
            "SIMULATOR MODE: no upstream credentials (%s flavour), so Gemini traffic goes to the "
            "built-in simulator at %s. Set %s to reach Google.",
            self.runtime.settings.upstream_flavour,
            self.runtime.simulator_url,
            "GEMINI_API_KEY"
            if self.runtime.settings.upstream_flavour == "gemini"
            else "ZEROGRAVITY_CLOUDCODE_TOKEN and ZEROGRAVITY_CLOUDCODE_PROJECT",
        )

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # A streamed request is sent on as soon as its headers are in: redirect it now.
        if streams_request(flow, self.runtime.settings.gemini_hosts):
            self.request(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        target = self.runtime.upstream_override
        if not target:
            return
        ours = META_EXCHANGE in flow.metadata  # a matched exchange, whatever its upstream_url
        if not ours and not google_flow(flow, self.runtime.settings.gemini_hosts):
            return
        url = urlsplit(target)
        flow.request.scheme = url.scheme
        flow.request.host = url.hostname or "127.0.0.1"
        flow.request.port = url.port or (443 if url.scheme == "https" else 80)

    def done(self) -> asyncio.Task[None] | None:
        if self.simulator is None:
            return None
        simulator, self.simulator = self.simulator, None
        self.runtime.simulator_url = None
        return asyncio.get_running_loop().create_task(simulator.stop())
