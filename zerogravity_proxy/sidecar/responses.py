"""The Responses API: `POST /v1/responses` and the stored-response endpoints.

A second renderer over the same exchanges as chat: the request becomes an ExchangeSpec, the
events become Responses events. With `store` (the default, as at OpenAI) the final object and
its input are kept, so `previous_response_id` can continue the conversation after a restart.
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

import orjson
from aiohttp import web

from zerogravity_proxy.openai.errors import OpenAIError, invalid_request
from zerogravity_proxy.openai.responses import parse_responses_request
from zerogravity_proxy.openai.responses_render import ResponsesRender, sse_event
from zerogravity_proxy.sidecar.consume import Run, run_exchange
from zerogravity_proxy.sidecar.images import inline_remote_images
from zerogravity_proxy.sidecar.keys import DRIVER, HTTP, RUNTIME, STORE
from zerogravity_proxy.sidecar.wire import open_sse, read_json

SSE_DONE = b"data: [DONE]\n\n"
ORDERS: dict[str, Literal["asc", "desc"]] = {"asc": "asc", "desc": "desc"}


def response_not_found(response_id: str, *, param: str = "response_id") -> OpenAIError:
    return OpenAIError(
        404,
        f"Response with id '{response_id}' not found.",
        "invalid_request_error",
        "not_found",
        param,
    )


async def create_response(request: web.Request) -> web.StreamResponse:
    runtime = request.app[RUNTIME]
    store = request.app[STORE]
    body = await read_json(request)
    previous_id = body.get("previous_response_id") if isinstance(body, dict) else None
    history: list[dict[str, Any]] = []
    if previous_id is not None:
        if not isinstance(previous_id, str):
            raise invalid_request(
                "previous_response_id must be a string.", param="previous_response_id"
            )
        found = await store.history(previous_id)
        if found is None:
            raise OpenAIError(
                400,
                f"Previous response with id '{previous_id}' not found.",
                "invalid_request_error",
                "previous_response_not_found",
                "previous_response_id",
            )
        history = found
    if runtime.settings.fetch_remote_images:
        await inline_remote_images(
            body, "input", request.app[HTTP], runtime.settings.remote_image_max_bytes
        )
    parsed = parse_responses_request(
        body, catalogue=runtime.catalogue, signatures=runtime.signatures, history=history
    )
    render = ResponsesRender(
        response_id=f"resp_{secrets.token_hex(24)}",
        created_at=int(time.time()),
        model=parsed.spec.model,
        echo=parsed.echo,
        include_encrypted=parsed.include_encrypted,
    )
    async with run_exchange(runtime, request.app[DRIVER], parsed.spec, endpoint="responses") as run:
        if parsed.stream:
            response = await _stream(request, run, render)
        else:
            response = await _whole(run, render)
    if parsed.store:
        # The stored copy always keeps the thought signatures, so a continuation can replay them.
        await store.put(
            render.response(include_encrypted=True), parsed.input_items, previous_id=previous_id
        )
    return response


async def _whole(run: Run, render: ResponsesRender) -> web.Response:
    async for batch in run.batches():
        for event in batch:
            render.feed(event)
    terminal = render.finish()[-1]
    _record_outcome(run, terminal)
    if terminal["type"] == "response.failed":
        # Without a stream to carry response.failed, the failure keeps its own status.
        error = terminal["response"]["error"]
        raise render.failure or OpenAIError(502, error["message"], "server_error", error["code"])
    return web.Response(body=orjson.dumps(render.response()), content_type="application/json")


async def _stream(request: web.Request, run: Run, render: ResponsesRender) -> web.StreamResponse:
    """Like chat: nothing is sent before the first content event, so early errors get a status."""
    response: web.StreamResponse | None = None
    pending: list[dict[str, Any]] = []
    try:
        async for batch in run.batches():
            for event in batch:
                emitted = render.feed(event)
                if emitted and response is None and not pending:
                    pending.extend(render.start())
                pending.extend(emitted)
            if pending:
                response = response or await open_sse(request)
                await response.write(b"".join(map(sse_event, pending)))
                pending.clear()
        tail = render.finish()
    except OpenAIError as e:
        if response is None and not pending:
            raise
        tail = render.fail(e)
    if response is None and not pending:
        pending.extend(render.start())
    response = response or await open_sse(request)
    await response.write(b"".join(map(sse_event, [*pending, *tail])) + SSE_DONE)
    _record_outcome(run, tail[-1])
    return response


def _record_outcome(run: Run, terminal: dict[str, Any]) -> None:
    if terminal["type"] == "response.failed":
        error = terminal["response"]["error"] or {}
        run.fail(f"{error.get('code')}: {error.get('message')}")
    else:
        run.complete()


async def retrieve_response(request: web.Request) -> web.Response:
    response_id = request.match_info["response_id"]
    stored = await request.app[STORE].get(response_id)
    if stored is None:
        raise response_not_found(response_id)
    return web.Response(body=orjson.dumps(stored), content_type="application/json")


async def delete_response(request: web.Request) -> web.Response:
    response_id = request.match_info["response_id"]
    if not await request.app[STORE].delete(response_id):
        raise response_not_found(response_id)
    return web.json_response({"id": response_id, "object": "response", "deleted": True})


async def list_input_items(request: web.Request) -> web.Response:
    response_id = request.match_info["response_id"]
    query = request.query
    try:
        limit = int(query.get("limit", "20"))
    except ValueError:
        raise invalid_request("limit must be an integer.", param="limit") from None
    if not 1 <= limit <= 100:
        raise invalid_request("limit must be between 1 and 100.", param="limit")
    order = ORDERS.get(query.get("order", "desc"))
    if order is None:
        raise invalid_request("order must be 'asc' or 'desc'.", param="order")
    after, before = query.get("after"), query.get("before")
    try:
        page = await request.app[STORE].input_items(
            response_id, limit=limit, order=order, after=after, before=before
        )
    except ValueError as e:  # a cursor that is not an item of this response
        raise invalid_request(str(e), param="after" if after else "before") from None
    if page is None:
        raise response_not_found(response_id)
    return web.Response(body=orjson.dumps(page), content_type="application/json")
