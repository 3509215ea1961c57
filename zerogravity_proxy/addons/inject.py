"""Matches originators' Gemini requests to exchanges and rewrites their payload.

Two originators: our direct driver tags its request with the exchange id; the Antigravity
language server carries the placeholder marker `.<cid:ID>` in its user turn, and its later
requests carry the cascade's conversation and trajectory ids. A matched request gets the
exchange's payload, the envelope stays the originator's. A later request of a cascade whose
exchange is already served is answered here with a finished, empty turn, so it never reaches
Google. Everything else passes untouched.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from mitmproxy import http

from zerogravity_proxy.addons.flows import (
    META_EXCHANGE,
    META_LANGUAGE_SERVER,
    META_REFUSED,
    META_SYNTHETIC,
    TAG_HEADER,
    gemini_endpoint,
)
from zerogravity_proxy.events import UpstreamError
from zerogravity_proxy.exchanges import Exchange
from zerogravity_proxy.gemini.cascade import (
    CascadeRewriteError,
    apply_ls_spec,
    cascade_keys,
    find_marker,
    synthetic_stop,
)
from zerogravity_proxy.gemini.request import apply_spec
from zerogravity_proxy.redact import redact_url
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)


def _refuse(flow: http.HTTPFlow, status: int, message: str) -> None:
    body = orjson.dumps({"error": {"code": status, "message": message, "status": "ZEROGRAVITY"}})
    flow.response = http.Response.make(status, body, {"content-type": "application/json"})
    flow.metadata[META_REFUSED] = True


def _json_body(flow: http.HTTPFlow) -> dict[str, Any]:
    """The request body as a JSON object; ValueError (with the reason) for anything else."""
    body = orjson.loads(flow.request.content or b"{}")  # JSONDecodeError is a ValueError
    if not isinstance(body, dict):
        raise ValueError("request body is not a JSON object")
    return body


class Inject:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        if TAG_HEADER in flow.request.headers:
            self._tagged(flow)
        elif self.runtime.settings.driver == "antigravity":
            self._language_server(flow)

    def _tagged(self, flow: http.HTTPFlow) -> None:
        """Our direct driver's request: the tag names the exchange."""
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)  # the tag counts
        tag = flow.request.headers.pop(TAG_HEADER)
        if endpoint is None or not endpoint.generates:
            _refuse(flow, 400, f"tagged request to a non-generating path: {flow.request.path}")
            return
        try:
            body = _json_body(flow)
        except ValueError as e:
            _refuse(flow, 400, f"originator body is not a Gemini request: {e}")
            return
        exchange = self.runtime.exchanges.take(tag, rule="tag")
        if exchange is None:
            _refuse(flow, 409, "unknown, expired or already matched exchange")
            return
        flow.request.content = orjson.dumps(apply_spec(body, endpoint.flavour, exchange.spec))
        self._claim(flow, exchange)
        # The driver reaches us over plain HTTP; the upstream's own scheme and port apply beyond.
        base = urlsplit(self.runtime.settings.upstream_base)
        flow.request.scheme = base.scheme
        flow.request.port = base.port or (443 if base.scheme == "https" else 80)

    def _language_server(self, flow: http.HTTPFlow) -> None:
        """The LS's agent call: matched by marker, else by the cascade's ids, else left alone.

        Only `streamGenerateContent` is the cascade's turn; the LS's unary `generateContent`
        calls are housekeeping (titles and the like, which may quote the user's message and so
        our marker) and pass untouched.
        """
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)
        if endpoint is None or endpoint.flavour != "cloudcode":
            return
        if endpoint.method != "streamGenerateContent":
            return
        try:
            body = _json_body(flow)
        except ValueError:
            return  # not ours to judge: it passes untouched
        exchanges = self.runtime.exchanges
        exchange_id = find_marker(body)
        if exchange_id is not None:
            exchange = exchanges.take(exchange_id, rule="marker")
            if exchange is None:  # a placeholder is never worth Google's quota
                self._answer_locally(flow, body, f"stale marker for exchange {exchange_id}")
            else:
                self._rewrite_for_ls(flow, body, exchange)
            return
        owner = self.runtime.cascades.owner(cascade_keys(body))
        if owner is None:
            return
        exchange_id, key = owner
        exchange = exchanges.take(exchange_id, rule=key.split(":", 1)[0])
        if exchange is not None:
            self._rewrite_for_ls(flow, body, exchange)
        else:
            self._answer_locally(flow, body, f"follow-up of served exchange {exchange_id}")

    def _rewrite_for_ls(
        self, flow: http.HTTPFlow, body: dict[str, Any], exchange: Exchange
    ) -> None:
        mode: Literal["replace", "append"] = (
            "append" if self.runtime.settings.system_prompt_mode == "append" else "replace"
        )
        try:
            apply_ls_spec(body, exchange.spec, mode=mode)
        except CascadeRewriteError as e:
            exchange.deliver([UpstreamError(400, "INVALID_ARGUMENT", str(e))], time.monotonic())
            exchange.upstream_done()
            self._answer_locally(flow, body, f"exchange {exchange.id} cannot be sent: {e}")
            return
        flow.request.content = orjson.dumps(body)
        flow.metadata[META_LANGUAGE_SERVER] = True
        self.runtime.cascades.bind(cascade_keys(body), exchange.id)
        self._claim(flow, exchange)

    def _claim(self, flow: http.HTTPFlow, exchange: Exchange) -> None:
        # Our tap decodes any encoding, but identity keeps the hot path free of decompression.
        flow.request.headers["accept-encoding"] = "identity"
        flow.metadata[META_EXCHANGE] = exchange.id
        log.debug(
            "exchange %s matched by %s: %s",
            exchange.id,
            exchange.rule,
            redact_url(flow.request.url),
        )

    def _answer_locally(self, flow: http.HTTPFlow, body: dict[str, Any], why: str) -> None:
        log.info("answering the language server locally (%s)", why)
        flow.response = http.Response.make(
            200, synthetic_stop(body), {"content-type": "text/event-stream"}
        )
        flow.metadata[META_SYNTHETIC] = True
