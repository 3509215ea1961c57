"""`POST /v1/chat/completions`: translate, run the exchange, render events as they arrive."""

from __future__ import annotations

import secrets
import time

import orjson
from aiohttp import web

from zerogravity_proxy.openai.chat import parse_chat_request
from zerogravity_proxy.openai.chat_render import SSE_DONE, ChatRender, sse_chunk
from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.sidecar.consume import Run, run_exchange
from zerogravity_proxy.sidecar.images import inline_remote_images
from zerogravity_proxy.sidecar.keys import DRIVER, HTTP, RUNTIME
from zerogravity_proxy.sidecar.wire import open_sse, read_json

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


async def chat_completions(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    body = await read_json(request)
    if runtime.settings.fetch_remote_images:
        await inline_remote_images(
            body, "messages", request.app[HTTP], runtime.settings.remote_image_max_bytes
        )
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
                response = response or await open_sse(request)
                await response.write(b"".join(pending))
                pending.clear()
        pending.extend(sse_chunk(chunk) for chunk in render.finish())
    except OpenAIError as e:
        if response is None and not pending:
            raise
        response = response or await open_sse(request)
        await response.write(b"".join(pending) + sse_chunk(e.body()) + SSE_DONE)
        run.fail(f"{e.code or e.type}: {e.message}")
        return response
    response = response or await open_sse(request)
    await response.write(b"".join(pending) + SSE_DONE)
    run.complete()
    return response
