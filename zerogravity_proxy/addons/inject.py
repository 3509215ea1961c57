"""Matches originators' Gemini requests to exchanges and rewrites their payload.

Matching here is by the direct driver's tag header. A matched request gets the exchange's
payload (see `gemini.request.apply_spec`); unmatched Gemini traffic and everything else pass
untouched.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import orjson
from mitmproxy import http

from zerogravity_proxy.addons.flows import META_EXCHANGE, META_REFUSED, TAG_HEADER, gemini_endpoint
from zerogravity_proxy.gemini.request import apply_spec
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)


def _refuse(flow: http.HTTPFlow, status: int, message: str) -> None:
    body = orjson.dumps({"error": {"code": status, "message": message, "status": "ZEROGRAVITY"}})
    flow.response = http.Response.make(status, body, {"content-type": "application/json"})
    flow.metadata[META_REFUSED] = True


class Inject:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        tag = flow.request.headers.get(TAG_HEADER)
        if tag is None:
            return
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)
        del flow.request.headers[TAG_HEADER]
        if endpoint is None or not endpoint.generates:
            _refuse(flow, 400, f"tagged request to a non-generating path: {flow.request.path}")
            return
        try:
            body = orjson.loads(flow.request.content or b"{}")
            if not isinstance(body, dict):
                raise TypeError("request body is not a JSON object")
        except (orjson.JSONDecodeError, TypeError) as e:
            _refuse(flow, 400, f"originator body is not a Gemini request: {e}")
            return
        exchange = self.runtime.exchanges.take(tag, rule="tag")
        if exchange is None:
            _refuse(flow, 409, "unknown, expired or already matched exchange")
            return
        flow.request.content = orjson.dumps(apply_spec(body, endpoint.flavour, exchange.spec))
        # Our tap decodes any encoding, but identity keeps the hot path free of decompression.
        flow.request.headers["accept-encoding"] = "identity"
        flow.metadata[META_EXCHANGE] = exchange.id
        # The driver reaches us over plain HTTP; the upstream's own scheme and port apply beyond.
        base = urlsplit(self.runtime.settings.upstream_base)
        flow.request.scheme = base.scheme
        flow.request.port = base.port or (443 if base.scheme == "https" else 80)
        log.debug(
            "exchange %s matched by tag: %s %s", exchange.id, endpoint.method, flow.request.url
        )
