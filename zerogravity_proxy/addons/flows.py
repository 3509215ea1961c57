"""What the addons agree on about a flow: is it Gemini traffic, and whose exchange is it."""

from __future__ import annotations

import re
from collections.abc import Collection

import orjson
from mitmproxy import http

from zerogravity_proxy.gemini.protojson import model_of
from zerogravity_proxy.gemini.request import Endpoint, recognise
from zerogravity_proxy.gemini.response import is_grpc
from zerogravity_proxy.gemini.wire import BodyError, grpc_message

# The direct driver's tag. The inject addon strips it before the request leaves.
TAG_HEADER = "x-zerogravity-exchange"

META_GOOGLE = "zerogravity.google"  # a Google API flow (see google_flow)
META_ENDPOINT = "zerogravity.endpoint"
META_EXCHANGE = "zerogravity.exchange"
META_REFUSED = "zerogravity.refused"  # the inject addon refused the flow itself
META_SYNTHETIC = "zerogravity.synthetic"  # the inject addon answered the LS itself
META_LANGUAGE_SERVER = "zerogravity.language_server"  # the originator is the Antigravity LS
META_MODEL = "zerogravity.model"  # the model the request names (see request_model)

MAX_MODEL_PARSE = 4 * 1024 * 1024  # larger bodies are not parsed for their `model`

# `{"model":"…"` as the first key of a body: the envelope's model without parsing the body.
_FIRST_KEY_MODEL = re.compile(rb'\A\s*\{\s*"model"\s*:\s*"([^"\\]{1,200})"')


def google_flow(flow: http.HTTPFlow, hosts: Collection[str]) -> bool:
    """A flow to a known Google API host, or our driver's tagged request (decided once, before
    any addon redirects it)."""
    if META_GOOGLE not in flow.metadata:
        request = flow.request
        flow.metadata[META_GOOGLE] = request.pretty_host in hosts or TAG_HEADER in request.headers
    google: bool = flow.metadata[META_GOOGLE]
    return google


def streams_request(flow: http.HTTPFlow, hosts: Collection[str]) -> bool:
    """A gRPC call we never rewrite: its request streams, as client-streaming and bidi calls
    need. Known at `requestheaders`, when mitmproxy decides whether to buffer the body."""
    headers = flow.request.headers
    if flow.response is not None or not is_grpc(headers.get("content-type")):
        return False  # already answered (the guard), or not gRPC
    if TAG_HEADER in headers:
        return False  # a tagged call is ours to answer, and its tag must not leave
    endpoint = gemini_endpoint(flow, hosts)
    return endpoint is None or not endpoint.generates


def gemini_endpoint(flow: http.HTTPFlow, hosts: Collection[str]) -> Endpoint | None:
    """The Gemini endpoint of a flow (cached on the flow), or None for non-Gemini traffic.

    Only known Google API hosts count, plus requests our own driver tagged (their base URL is
    configurable). Recognition happens once, before any addon redirects the flow elsewhere.
    """
    if META_ENDPOINT in flow.metadata:
        endpoint: Endpoint | None = flow.metadata[META_ENDPOINT]
        return endpoint
    endpoint = recognise(flow.request.path) if google_flow(flow, hosts) else None
    flow.metadata[META_ENDPOINT] = endpoint
    return endpoint


def request_model(flow: http.HTTPFlow, hosts: Collection[str]) -> str | None:
    """The model a Gemini request names (cached on the flow), or None.

    The public REST API names it in the path; Cloud Code's envelope and a gRPC request in the
    body (gRPC as `models/<id>`, returned without the prefix like the path's).
    """
    if META_MODEL in flow.metadata:
        cached: str | None = flow.metadata[META_MODEL]
        return cached
    endpoint = gemini_endpoint(flow, hosts)
    model = None
    if endpoint is not None:
        model = endpoint.model or _body_model(flow, endpoint)
    flow.metadata[META_MODEL] = model
    return model


def _body_model(flow: http.HTTPFlow, endpoint: Endpoint) -> str | None:
    try:
        body = flow.request.get_content(strict=False) or b""
    except ValueError:  # an encoding mitmproxy cannot undo
        return None
    if not endpoint.grpc:
        return envelope_model(body)
    if len(body) > MAX_MODEL_PARSE:
        return None
    try:
        model = model_of(grpc_message(body, flow.request.headers.get("grpc-encoding")))
    except BodyError:
        return None
    return model.removeprefix("models/") or None if model else None


def envelope_model(body: bytes) -> str | None:
    """The `model` of a JSON body (Cloud Code's envelope), or None.

    Cheap when `model` is the body's first key (our driver and the LS write it first);
    otherwise the body is parsed, unless it is larger than MAX_MODEL_PARSE.
    """
    if m := _FIRST_KEY_MODEL.match(body):
        return m[1].decode("utf-8", "replace")
    if not body or len(body) > MAX_MODEL_PARSE:
        return None
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    model = parsed.get("model") if isinstance(parsed, dict) else None
    return model if isinstance(model, str) and model else None
