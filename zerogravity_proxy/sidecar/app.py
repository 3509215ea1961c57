"""The sidecar application: routes and the middleware that turns every failure into OpenAI's shape."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp
import orjson
from aiohttp import web

from zerogravity_proxy.drivers import Driver
from zerogravity_proxy.metrics import handler as metrics_handler
from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.sidecar import chat, meta, responses
from zerogravity_proxy.sidecar.auth import require_api_key
from zerogravity_proxy.sidecar.keys import DRIVER, HTTP, RUNTIME, STORE
from zerogravity_proxy.sidecar.quota import QUOTA, quota
from zerogravity_proxy.sidecar.usage import USAGE, usage
from zerogravity_proxy.store.responses import ResponseStore

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: OpenAIError, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=error.status,
        body=orjson.dumps(error.body()),
        content_type="application/json",
        headers={**error.headers(), **(headers or {})},
    )


@web.middleware
async def openai_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OpenAIError as e:
        log.info("%s %s -> %d %s: %s", request.method, request.path, e.status, e.code, e.message)
        return error_response(e)
    except web.HTTPRequestEntityTooLarge as e:
        limit = request.app[RUNTIME].settings.max_body_size
        log.info("%s %s -> 413 (%s)", request.method, request.path, e.text)
        return error_response(
            OpenAIError(
                413,
                f"Request body too large: the limit is {limit} bytes.",
                code="request_too_large",
            )
        )
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status)
        allow = {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None
        return error_response(
            OpenAIError(e.status, f"{e.reason}: {request.method} {request.path}", code=code),
            allow,
        )
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(
            OpenAIError(500, "Internal error in the proxy.", "server_error", "server_error")
        )


def create_app(
    runtime: Runtime,
    driver: Driver,
    http: aiohttp.ClientSession,
    store: ResponseStore,
    keys: frozenset[str] = frozenset(),
) -> web.Application:
    access = require_api_key(keys, runtime.settings.public_paths, loopback_only=True)
    app = web.Application(
        middlewares=[access, openai_errors], client_max_size=runtime.settings.max_body_size
    )
    app[RUNTIME] = runtime
    app[DRIVER] = driver
    app[HTTP] = http
    app[STORE] = store
    app[QUOTA] = runtime.quota
    if runtime.usage is not None:
        app[USAGE] = runtime.usage
    app.router.add_post("/v1/chat/completions", chat.chat_completions)
    app.router.add_post("/v1/responses", responses.create_response)
    app.router.add_get("/v1/responses/{response_id}", responses.retrieve_response)
    app.router.add_delete("/v1/responses/{response_id}", responses.delete_response)
    app.router.add_get("/v1/responses/{response_id}/input_items", responses.list_input_items)
    app.router.add_get("/v1/models", meta.list_models)
    app.router.add_get("/v1/models/{model:.+}", meta.retrieve_model)
    app.router.add_get("/v1/quota", quota)
    app.router.add_get("/v1/usage", usage)
    app.router.add_get("/healthz", meta.healthz)
    app.router.add_get("/metrics", metrics_handler(runtime.metrics))
    return app
