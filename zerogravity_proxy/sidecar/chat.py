"""`POST /v1/chat/completions`: translate, run the exchange, render events as they arrive.

`n` > 1 runs n exchanges at once, one per choice, each with its own copy of the spec. Their
chunks are sent interleaved as they arrive (each with its choice's index); one usage chunk,
summed, comes last. An error in any choice ends the whole response and cancels the others.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from typing import Any

import orjson
from aiohttp import web

from zerogravity_proxy.drivers import Driver
from zerogravity_proxy.exchanges import Outcome
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.openai.chat import ChatRequest, parse_chat_request
from zerogravity_proxy.openai.chat_render import (
    SSE_DONE,
    ChatRender,
    combined_completion,
    sse_chunk,
    total_usage,
)
from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.runtime import Runtime
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
    if chat.n > 1:
        return await _choices(request, runtime, chat)
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


# --- n > 1 ----------------------------------------------------------------------------------

# What a choice's task reports: chunks to send, None once it has finished, or its error.
_Report = tuple[int, list[dict[str, Any]] | BaseException | None]


async def _choices(request: web.Request, runtime: Runtime, chat: ChatRequest) -> web.StreamResponse:
    """n exchanges at once; the first error ends everything (a status if nothing was sent)."""
    completion_id, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
    renders = [
        ChatRender(
            completion_id=completion_id,
            created=created,
            model=chat.spec.model,
            include_usage=False,  # one usage chunk for all the choices, sent here
            index=i,
        )
        for i in range(chat.n)
    ]
    reports: asyncio.Queue[_Report] = asyncio.Queue()
    runs: list[Run] = []
    driver = request.app[DRIVER]
    loop = asyncio.get_running_loop()
    tasks = [
        loop.create_task(
            _choice(runtime, driver, copy.deepcopy(chat.spec), render, chat.stream, runs, reports)
        )
        for render in renders
    ]
    response: web.StreamResponse | None = None
    pending: list[bytes] = []
    try:
        running = chat.n
        while running:
            index, report = await reports.get()
            if report is None:
                running -= 1
            elif isinstance(report, BaseException):
                _cancel_others(runs, index)
                raise report
            elif chat.stream:
                pending.extend(sse_chunk(chunk) for chunk in report)
                if pending:
                    response = response or await open_sse(request)
                    await response.write(b"".join(pending))
                    pending.clear()
    except OpenAIError as e:
        if not chat.stream or response is None:
            raise
        await response.write(sse_chunk(e.body()) + SSE_DONE)
        return response
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if not chat.stream:
        completion = combined_completion(renders)
        return web.Response(body=orjson.dumps(completion), content_type="application/json")
    if chat.include_usage:
        pending.append(sse_chunk(renders[0].usage_chunk(total_usage(r.usage for r in renders))))
    response = response or await open_sse(request)
    await response.write(b"".join(pending) + SSE_DONE)
    return response


async def _choice(
    runtime: Runtime,
    driver: Driver,
    spec: ExchangeSpec,
    render: ChatRender,
    stream: bool,
    runs: list[Run],
    reports: asyncio.Queue[_Report],
) -> None:
    """One choice's exchange, its chunks (or, not streaming, nothing) reported as they come.

    The exchange is complete once the answer is: the other choices may still be running.
    """
    index = render.index
    try:
        async with run_exchange(runtime, driver, spec, endpoint="chat.completions") as run:
            runs.append(run)
            async for batch in run.batches():
                chunks = [chunk for event in batch for chunk in render.feed(event)]
                if stream and chunks:
                    reports.put_nowait((index, chunks))
            if stream:
                reports.put_nowait((index, render.finish()))
            else:
                render.completion()  # raises if the answer failed or never finished
            run.complete()
    except Exception as e:  # run_exchange has recorded the failure
        reports.put_nowait((index, e))
        return
    reports.put_nowait((index, None))


def _cancel_others(runs: list[Run], failed: int) -> None:
    """End the other choices' exchanges as cancelled (their tasks are cancelled next)."""
    for run in runs:
        if not run.exchange.ended:
            run.runtime.exchanges.finish(
                run.exchange, Outcome.CANCELLED, f"choice {failed} of the request failed"
            )
