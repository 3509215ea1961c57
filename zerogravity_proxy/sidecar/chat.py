"""`POST /v1/chat/completions`: translate, run the exchange, render events as they arrive."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
from aiohttp import web

from zerogravity_proxy.openai.chat import parse_chat_request
from zerogravity_proxy.openai.chat_render import SSE_DONE, ChatRender, sse_chunk
from zerogravity_proxy.openai.errors import OpenAIError, invalid_request
from zerogravity_proxy.sidecar.consume import Run, run_exchange
from zerogravity_proxy.sidecar.images import inline_remote_images
from zerogravity_proxy.sidecar.keys import DRIVER, HTTP, RUNTIME

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


async def chat_completions(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    body = await read_json(request)
    if runtime.settings.fetch_remote_images:
        await inline_remote_images(body, request.app[HTTP], runtime.settings.remote_image_max_bytes)
    chat = parse_chat_request(body, catalogue=runtime.catalogue, signatures=runtime.signatures)
    render = ChatRender(
        completion_id=f"chatcmpl-{secrets.token_hex(12)}",
        created=int(time.time()),
        model=chat.spec.model,
        include_usage=chat.include_usage,
    )
    async with run_exchange(
        runtime, request.app[DRIVER], chat.spec, endpoint="chat.completions"
    ) as run:
        if chat.stream:
            return await _stream(request, run, render)
        async for batch in run.batches():
            for event in batch:
                render.feed(event)
        completion = render.completion()
        run.complete()
        return web.Response(body=orjson.dumps(completion), content_type="application/json")


async def _stream(request: web.Request, run: Run, render: ChatRender) -> web.StreamResponse:
    """Stream chunks; an error before the first chunk gets its own status, after it an error event.

    Waiting for the first event before sending headers costs nothing (the first event is the
    first thing we could send anyway) and lets a 429 reach the client as a real 429.
    """
    response: web.StreamResponse | None = None
    pending: list[bytes] = []
    try:
        async for batch in run.batches():
            for event in batch:
                pending.extend(sse_chunk(chunk) for chunk in render.feed(event))
            if pending:
                response = response or await _prepare(request)
                await response.write(b"".join(pending))
                pending.clear()
        pending.extend(sse_chunk(chunk) for chunk in render.finish())
    except OpenAIError as e:
        if response is None and not pending:
            raise
        response = response or await _prepare(request)
        await response.write(b"".join(pending) + sse_chunk(e.body()) + SSE_DONE)
        run.fail(f"{e.code or e.type}: {e.message}")
        return response
    response = response or await _prepare(request)
    await response.write(b"".join(pending) + SSE_DONE)
    run.complete()
    return response


async def _prepare(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers=SSE_HEADERS)
    await response.prepare(request)
    return response
