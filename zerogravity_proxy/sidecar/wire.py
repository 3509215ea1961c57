"""What every endpoint does at the HTTP edge: read a JSON body, open an SSE response."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from zerogravity_proxy.openai.errors import invalid_request
from zerogravity_proxy.sidecar.keys import RUNTIME

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


async def read_json(request: web.Request) -> Any:
    # The limit of the moment: max_body_size may be reconfigured while the app runs.
    limit = request.app[RUNTIME].settings.max_body_size
    raw = await request.clone(client_max_size=limit).read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise invalid_request(
            f"The request body is not valid JSON: {e}", code="invalid_json"
        ) from None


async def open_sse(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    return response
