"""Typed application keys shared by the sidecar's modules."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from zerogravity_proxy.drivers import Driver
from zerogravity_proxy.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
DRIVER = web.AppKey("driver", Driver)
HTTP = web.AppKey("http", aiohttp.ClientSession)
