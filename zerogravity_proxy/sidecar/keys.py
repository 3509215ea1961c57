"""Typed application keys shared by the sidecar's modules."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from zerogravity_proxy.drivers import Driver
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.store.responses import ResponseStore

RUNTIME = web.AppKey("runtime", Runtime)
DRIVER = web.AppKey("driver", Driver)
HTTP = web.AppKey("http", aiohttp.ClientSession)
STORE = web.AppKey("store", ResponseStore)
