"""The model catalogue and health endpoints."""

from __future__ import annotations

from aiohttp import web

from zerogravity_proxy.openai.errors import model_not_found
from zerogravity_proxy.sidecar.keys import RUNTIME


async def list_models(request: web.Request) -> web.Response:
    catalogue = request.app[RUNTIME].catalogue
    return web.json_response({"object": "list", "data": [m.to_openai() for m in catalogue]})


async def retrieve_model(request: web.Request) -> web.Response:
    name = request.match_info["model"]
    model = request.app[RUNTIME].catalogue.get(name)
    if model is None:
        raise model_not_found(name)
    return web.json_response(model.to_openai())


async def healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    if runtime.simulator_url:
        mode, url = "simulator", runtime.simulator_url
    elif settings.upstream_override:
        mode, url = "override", settings.upstream_override
    else:
        mode, url = "google", settings.upstream_base
    return web.json_response(
        {
            "status": "ok",
            "simulator": mode == "simulator",
            "upstream": {"mode": mode, "flavour": settings.upstream_flavour, "url": url},
            "driver": settings.driver,
            "proxy": runtime.proxy_url,
            "exchanges_in_flight": len(runtime.exchanges),
        }
    )
