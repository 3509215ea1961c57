"""What the addons agree on about a flow: is it Gemini traffic, and whose exchange is it."""

from __future__ import annotations

from collections.abc import Collection

from mitmproxy import http

from zerogravity_proxy.gemini.request import Endpoint, recognise

# The direct driver's tag. The inject addon strips it before the request leaves.
TAG_HEADER = "x-zerogravity-exchange"

META_ENDPOINT = "zerogravity.endpoint"
META_EXCHANGE = "zerogravity.exchange"
META_REFUSED = "zerogravity.refused"  # the inject addon refused the flow itself
META_SYNTHETIC = "zerogravity.synthetic"  # the inject addon answered the LS itself
META_LANGUAGE_SERVER = "zerogravity.language_server"  # the originator is the Antigravity LS


def gemini_endpoint(flow: http.HTTPFlow, hosts: Collection[str]) -> Endpoint | None:
    """The Gemini endpoint of a flow (cached on the flow), or None for non-Gemini traffic.

    Only known Google API hosts count, plus requests our own driver tagged (their base URL is
    configurable). Recognition happens once, before any addon redirects the flow elsewhere.
    """
    if META_ENDPOINT in flow.metadata:
        endpoint: Endpoint | None = flow.metadata[META_ENDPOINT]
        return endpoint
    request = flow.request
    endpoint = None
    if request.pretty_host in hosts or TAG_HEADER in request.headers:
        endpoint = recognise(request.path)
    flow.metadata[META_ENDPOINT] = endpoint
    return endpoint
