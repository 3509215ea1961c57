"""The stand-in's HTTP client for Cloud Code: HTTP/1.1 through the proxy, one session and one
TLS context per stand-in, every answer recorded as it arrives."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp

from .config import StandInConfig
from .envelope import ACCESS_TOKEN, USER_AGENT
from .sse import BodyDecoder
from .state import RequestRecord
from .tls import upstream_context


class Upstream:
    """`await open()` once, `await send(record)` per request, `await close()` at the end."""

    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(ssl=upstream_context(self.config.ca_file))
        tracing = aiohttp.TraceConfig()
        tracing.on_request_chunk_sent.append(_body_sent)
        self._session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=[tracing],
            auto_decompress=False,
            skip_auto_headers=("Accept",),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {ACCESS_TOKEN}",
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "Accept-Encoding": "gzip" if self.config.accept_gzip else "identity",
        }

    async def send(
        self,
        record: RequestRecord,
        *,
        on_headers: Callable[[], Awaitable[None]] | None = None,
        on_data: Callable[[bytes], None] | None = None,
        sent: asyncio.Event | None = None,
    ) -> None:
        """POST `record.request_body` to `record.path`, filling in the record.

        `on_headers` is awaited once a 200 answer's headers are in, before its body is read;
        `on_data` gets the decoded body as it arrives; `sent` is set once the request body is
        written (or the request is over). Failures and the turn timeout end up in the record,
        never raised.
        """
        if self._session is None:
            raise RuntimeError("the upstream client is not open")
        try:
            async with asyncio.timeout(self.config.turn_timeout):
                await self._exchange(self._session, record, on_headers, on_data, sent)
        except TimeoutError:
            record.timed_out = True
            record.error = f"no complete answer within {self.config.turn_timeout:g} s"
        except (aiohttp.ClientError, zlib.error, ValueError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        finally:
            if sent is not None:
                sent.set()

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        record: RequestRecord,
        on_headers: Callable[[], Awaitable[None]] | None,
        on_data: Callable[[bytes], None] | None,
        sent: asyncio.Event | None,
    ) -> None:
        url = self.config.base_url + record.path
        async with session.post(
            url,
            data=record.request_body,
            headers=self.headers(),
            proxy=self.config.proxy,
            trace_request_ctx=SimpleNamespace(sent=sent),
        ) as response:
            record.status = response.status
            record.content_type = response.headers.get("Content-Type")
            record.content_encoding = response.headers.get("Content-Encoding")
            decoder = BodyDecoder(record.content_encoding)
            if on_headers is not None and response.status == 200:
                await on_headers()
            async for chunk in response.content.iter_any():
                record.wire += chunk
                self._deliver(record, decoder.feed(chunk), on_data)
            self._deliver(record, decoder.finish(), on_data)
            record.complete = True

    @staticmethod
    def _deliver(
        record: RequestRecord, data: bytes, on_data: Callable[[bytes], None] | None
    ) -> None:
        if data:
            record.body += data
            if on_data is not None:
                on_data(data)


async def _body_sent(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestChunkSentParams,
) -> None:
    request_context: Any = context.trace_request_ctx
    sent = getattr(request_context, "sent", None)
    if isinstance(sent, asyncio.Event):
        sent.set()
