"""Matches originators' Gemini requests to exchanges and rewrites their payload.

Two originators: our direct driver tags its request with the exchange id; the Antigravity
language server carries the placeholder marker `.<cid:ID>` in its user turn, and its later
requests carry the cascade's conversation and trajectory ids. A matched request gets the
exchange's payload, the envelope stays the originator's. A later request of a cascade whose
exchange is already served is answered here with a finished, empty turn, so it never reaches
Google. Everything else passes untouched.

Either wire works: a gRPC request is decoded to the same REST JSON, rewritten by the same rules
and re-encoded into one gRPC frame (gemini/wire.py); our own answers use the originator's wire.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal
from urllib.parse import urlsplit

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
from zerogravity_proxy.gemini.request import Endpoint, apply_spec
from zerogravity_proxy.gemini.wire import (
    Answer,
    BodyError,
    error_answer,
    read_request,
    stream_answer,
    write_request,
)
from zerogravity_proxy.redact import redact_url
from zerogravity_proxy.runtime import Runtime

log = logging.getLogger(__name__)


def _respond(flow: http.HTTPFlow, answer: Answer) -> None:
    headers = answer.headers
    if answer.trailers is not None and not flow.request.is_http2:
        headers = {**headers, **answer.trailers}  # HTTP/1 cannot carry trailers: no real gRPC
    flow.response = http.Response.make(answer.status, answer.body, headers)
    if answer.trailers is not None and flow.request.is_http2:
        flow.response.trailers = http.Headers(
            [(name.encode(), value.encode()) for name, value in answer.trailers.items()]
        )


def _refuse(flow: http.HTTPFlow, endpoint: Endpoint | None, status: int, message: str) -> None:
    _respond(flow, error_answer(endpoint, status, message))
    flow.metadata[META_REFUSED] = True


def _body(flow: http.HTTPFlow, endpoint: Endpoint, *, strict: bool = True) -> dict[str, Any]:
    """The request as REST JSON, whichever wire it came in; BodyError with the reason."""
    content = flow.request.get_content(strict=False) or b""
    encoding = flow.request.headers.get("grpc-encoding")
    return read_request(content, endpoint, encoding, strict=strict)


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
        """Our direct driver's request (or a gRPC client's, as metadata): the tag names it."""
        endpoint = gemini_endpoint(flow, self.runtime.settings.gemini_hosts)  # the tag counts
        tag = flow.request.headers.pop(TAG_HEADER)
        if endpoint is None or not endpoint.generates:
            path = flow.request.path
            _refuse(flow, endpoint, 400, f"tagged request to a non-generating path: {path}")
            return
        try:
            body = _body(flow, endpoint)
        except BodyError as e:
            _refuse(flow, endpoint, 400, f"originator body is not a Gemini request: {e}")
            return
        exchange = self.runtime.exchanges.take(tag, rule="tag")
        if exchange is None:
            _refuse(flow, endpoint, 409, "unknown, expired or already matched exchange")
            return
        try:
            content = write_request(apply_spec(body, endpoint.flavour, exchange.spec), endpoint)
        except BodyError as e:
            self._fail(exchange, str(e))
            _refuse(flow, endpoint, 400, str(e))
            return
        flow.request.content = content
        self._claim(flow, exchange)
        if endpoint.grpc:
            return  # a gRPC client came through CONNECT: its own scheme and port apply
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
        if endpoint is None or endpoint.method != "streamGenerateContent":
            return
        if endpoint.flavour != "cloudcode" and not endpoint.grpc:
            return  # the LS speaks Cloud Code's JSON, or gRPC
        unknown = None
        try:
            body = _body(flow, endpoint)
        except BodyError as e:
            if not endpoint.grpc:
                return  # not ours to judge: it passes untouched
            try:  # fields our protobuf schema lacks must not hide a marker
                body = _body(flow, endpoint, strict=False)
            except BodyError:
                return
            unknown = str(e)
        exchanges = self.runtime.exchanges
        exchange_id = find_marker(body, endpoint.flavour)
        if exchange_id is not None:
            exchange = exchanges.take(exchange_id, rule="marker")
            if exchange is None:  # a placeholder is never worth Google's quota
                why = f"stale marker for exchange {exchange_id}"
                self._answer_locally(flow, endpoint, body, why)
            else:
                self._rewrite_for_ls(flow, endpoint, body, exchange, unknown)
            return
        owner = self.runtime.cascades.owner(cascade_keys(body))
        if owner is None:
            return
        exchange_id, key = owner
        exchange = exchanges.take(exchange_id, rule=key.split(":", 1)[0])
        if exchange is not None:
            self._rewrite_for_ls(flow, endpoint, body, exchange, unknown)
        else:
            why = f"follow-up of served exchange {exchange_id}"
            self._answer_locally(flow, endpoint, body, why)

    def _rewrite_for_ls(
        self,
        flow: http.HTTPFlow,
        endpoint: Endpoint,
        body: dict[str, Any],
        exchange: Exchange,
        unknown: str | None = None,
    ) -> None:
        """`unknown`: the originator's protobuf fields we could not read, which are dropped."""
        mode: Literal["replace", "append"] = (
            "append" if self.runtime.settings.system_prompt_mode == "append" else "replace"
        )
        try:
            apply_ls_spec(body, exchange.spec, mode=mode, flavour=endpoint.flavour)
            content = write_request(body, endpoint)
        except (CascadeRewriteError, BodyError) as e:
            self._fail(exchange, str(e))
            why = f"exchange {exchange.id} cannot be sent: {e}"
            self._answer_locally(flow, endpoint, body, why)
            return
        if unknown is not None:
            log.warning(
                "exchange %s: the LS's request loses what we cannot re-encode (%s)",
                exchange.id,
                unknown,
            )
        flow.request.content = content
        flow.metadata[META_LANGUAGE_SERVER] = True
        self.runtime.cascades.bind(cascade_keys(body), exchange.id)
        self._claim(flow, exchange)

    @staticmethod
    def _fail(exchange: Exchange, message: str) -> None:
        """The exchange cannot be sent at all: its client gets Google's 400, nothing else."""
        exchange.deliver([UpstreamError(400, "INVALID_ARGUMENT", message)], time.monotonic())
        exchange.upstream_done()

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

    def _answer_locally(
        self, flow: http.HTTPFlow, endpoint: Endpoint, body: dict[str, Any], why: str
    ) -> None:
        log.info("answering the language server locally (%s)", why)
        _respond(flow, stream_answer(endpoint, synthetic_stop(body, endpoint.flavour)))
        flow.metadata[META_SYNTHETIC] = True
