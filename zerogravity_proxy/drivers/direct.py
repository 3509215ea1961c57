"""The direct driver: we are the originator, with our own credentials.

It sends a minimal Gemini request through our own proxy (a plain-HTTP hop to the local listener,
cheaper than CONNECT+TLS to ourselves), tagged with the exchange id. The inject addon strips the
tag, puts the exchange's payload in and sends the request on to the upstream over its own scheme.
The response is drained here only to keep it flowing: events come from the capture addon.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from zerogravity_proxy.addons.flows import TAG_HEADER
from zerogravity_proxy.events import UpstreamError
from zerogravity_proxy.exchanges import Exchange
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)

PLACEHOLDER = [{"role": "user", "parts": [{"text": "."}]}]
SIMULATOR_KEY = "simulator"


def build_request(runtime: Runtime, exchange: Exchange) -> tuple[str, dict[str, str], bytes]:
    """URL (plain http, explicit port), headers and body of the originator's request."""
    settings = runtime.settings
    base = urlsplit(settings.upstream_base)
    port = base.port or (443 if base.scheme == "https" else 80)
    origin = f"http://{base.hostname}:{port}{base.path}"
    headers = {
        "content-type": "application/json",
        "accept-encoding": "identity",
        TAG_HEADER: exchange.id,
    }
    body: dict[str, Any]
    if settings.upstream_flavour == "gemini":
        url = f"{origin}/v1beta/models/{exchange.spec.upstream_model}:streamGenerateContent?alt=sse"
        headers["x-goog-api-key"] = settings.gemini_api_key or SIMULATOR_KEY
        body = {"contents": PLACEHOLDER}
    else:
        url = f"{origin}/v1internal:streamGenerateContent?alt=sse"
        headers["authorization"] = f"Bearer {settings.cloudcode_token or SIMULATOR_KEY}"
        # gemini-cli's envelope. The free tier must not send a project, so it is optional.
        body = {"model": exchange.spec.upstream_model, "user_prompt_id": exchange.id}
        if settings.cloudcode_project:
            body["project"] = settings.cloudcode_project
        body["request"] = {"contents": PLACEHOLDER}
    return url, headers, orjson.dumps(body)


class DirectDriver:
    def __init__(self, runtime: Runtime, session: aiohttp.ClientSession) -> None:
        self.runtime = runtime
        self.session = session

    def start(self, exchange: Exchange) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._run(exchange))

    async def _run(self, exchange: Exchange) -> None:
        url, headers, body = build_request(self.runtime, exchange)
        try:
            async with self.session.post(
                url, data=body, headers=headers, proxy=self.runtime.proxy_url
            ) as resp:
                async for _ in resp.content.iter_any():
                    pass
                status = resp.status
        except aiohttp.ClientError as e:
            self._fail_unmatched(exchange, f"could not send the request through the proxy: {e!r}")
            return
        if not exchange.matched.is_set():
            self._fail_unmatched(exchange, f"the proxy refused the request (HTTP {status})")

    @staticmethod
    def _fail_unmatched(exchange: Exchange, message: str) -> None:
        """Before a match nothing else will end the exchange, so the driver reports it."""
        if exchange.matched.is_set():
            return  # the capture addon owns the outcome from here on
        log.error("exchange %s: %s", exchange.id, message)
        exchange.deliver([UpstreamError(502, "DRIVER_FAILED", message)], time.monotonic())
        exchange.upstream_done()
