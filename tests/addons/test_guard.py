"""The guard addon: proxied traffic to the daemon's own listeners is refused, the rest untouched."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.proxy.layers.http._hooks import HttpRequestHeadersHook, HttpRequestHook
from mitmproxy.proxy.server_hooks import ServerConnectHook, ServerConnectionHookData
from mitmproxy.test import taddons, tflow, tutils

from zerogravity_proxy.addons.guard import META_GUARDED, Guard, is_local_ip
from zerogravity_proxy.addons.upstream import Upstream
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings
from zerogravity_proxy.sidecar.auth import ip_of

PROXY_PORT = 18080
SIDECAR_PORT = 18741
OTHER_PORT = 19999
GEMINI_HOST = "generativelanguage.googleapis.com"

THIS_HOST = [
    "127.0.0.1",
    "localhost",
    "::1",
    "[::1]",
    "0.0.0.0",
    "::",
    "LOCALHOST.",
    "127.0.0.2",
    "::ffff:127.0.0.1",
    "127.1",
    "2130706433",
    "api.localhost",
    socket.gethostname(),
]


def make_runtime(**settings: Any) -> Runtime:
    runtime = Runtime(
        Settings(**{"listen_port": PROXY_PORT, "sidecar_port": SIDECAR_PORT, **settings})
    )
    runtime.proxy_url = f"http://127.0.0.1:{PROXY_PORT}"
    runtime.sidecar_url = f"http://127.0.0.1:{SIDECAR_PORT}"
    return runtime


@pytest.fixture
def guard() -> Iterator[Guard]:
    addon = Guard(make_runtime())
    with taddons.context(addon):
        yield addon


def make_flow(
    host: str, port: int, *, method: str = "GET", path: str = "/v1/models"
) -> http.HTTPFlow:
    request = tutils.treq(
        method=method.encode(),
        scheme=b"http",
        host=host,
        port=port,
        path=b"" if method == "CONNECT" else path.encode(),
        headers=http.Headers([(b"host", f"{host}:{port}".encode())]),
        content=b"",
    )
    return tflow.tflow(req=request)


def refused(flow: http.HTTPFlow, listener: str) -> bool:
    return (
        flow.response is not None
        and flow.response.status_code == 403
        and f"its own {listener} listener" in (flow.response.get_text() or "")
        and flow.metadata.get(META_GUARDED) == listener
    )


def server_data(host: str, port: int) -> ServerConnectionHookData:
    server = tflow.tserver_conn()
    server.address = (host, port)
    server.state = server.state.CLOSED
    return ServerConnectionHookData(server=server, client=tflow.tclient_conn())


# --- HTTP requests and CONNECT tunnels ------------------------------------------------------


@pytest.mark.parametrize("host", THIS_HOST)
def test_requests_to_the_sidecar_are_refused(guard: Guard, host: str) -> None:
    flow = make_flow(host, SIDECAR_PORT)
    guard.requestheaders(flow)
    assert refused(flow, "sidecar")
    assert flow.response is not None
    assert flow.response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "0.0.0.0"])
def test_requests_to_the_proxy_itself_are_refused(guard: Guard, host: str) -> None:
    flow = make_flow(host, PROXY_PORT)
    guard.request(flow)
    assert refused(flow, "proxy")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "0.0.0.0"])
def test_connect_tunnels_to_the_sidecar_are_refused(guard: Guard, host: str) -> None:
    flow = make_flow(host, SIDECAR_PORT, method="CONNECT")
    guard.http_connect(flow)
    assert refused(flow, "sidecar")


@pytest.mark.parametrize(
    ("host", "port"),
    [
        (GEMINI_HOST, 443),
        (GEMINI_HOST, SIDECAR_PORT),  # a name: only DNS could say (server_connect does)
        ("127.0.0.1", OTHER_PORT),
        ("localhost", 443),
        ("192.0.2.1", SIDECAR_PORT),  # TEST-NET-1: never an address of this host
        ("example.com", PROXY_PORT),
    ],
)
def test_other_flows_are_untouched(guard: Guard, host: str, port: int) -> None:
    flow = make_flow(host, port)
    guard.http_connect(flow)
    guard.requestheaders(flow)
    guard.request(flow)
    assert flow.response is None and META_GUARDED not in flow.metadata


def test_answered_or_dead_flows_are_left_alone(guard: Guard) -> None:
    answered = make_flow("127.0.0.1", SIDECAR_PORT)
    answered.response = tutils.tresp(status_code=200)
    guard.requestheaders(answered)
    assert answered.response.status_code == 200
    dead = make_flow("127.0.0.1", SIDECAR_PORT)
    dead.live = False
    guard.requestheaders(dead)
    assert dead.response is None


def test_configured_hosts_count_as_this_host() -> None:
    guard = Guard(make_runtime(sidecar_host="sidecar.internal", listen_host="proxy.internal"))
    with taddons.context(guard):
        for host in ("sidecar.internal", "proxy.internal", "SIDECAR.INTERNAL."):
            flow = make_flow(host, SIDECAR_PORT)
            guard.requestheaders(flow)
            assert refused(flow, "sidecar")


def test_live_addresses_win_over_configured_ports() -> None:
    runtime = Runtime(Settings(listen_port=0, sidecar_port=0))
    runtime.proxy_url = "http://127.0.0.1:23456"
    runtime.sidecar_url = "http://127.0.0.1:34567"
    guard = Guard(runtime)
    with taddons.context(guard):
        assert guard.listeners() == {23456: "proxy", 34567: "sidecar"}
        for port, listener in ((23456, "proxy"), (34567, "sidecar")):
            flow = make_flow("localhost", port)
            guard.requestheaders(flow)
            assert refused(flow, listener)
        untouched = make_flow("127.0.0.1", 8080)
        guard.requestheaders(untouched)
        assert untouched.response is None


def test_configured_ports_until_the_listeners_are_up() -> None:
    guard = Guard(Runtime(Settings(listen_port=PROXY_PORT, sidecar_port=SIDECAR_PORT)))
    with taddons.context(guard):
        assert guard.listeners() == {PROXY_PORT: "proxy", SIDECAR_PORT: "sidecar"}


def test_is_local_ip() -> None:
    for text in ("127.0.0.1", "::1", "0.0.0.0", "::", "::ffff:127.0.0.5"):
        ip = ip_of(text)
        assert ip is not None and is_local_ip(ip), text
    documentation = ip_of("192.0.2.1")
    assert documentation is not None and not is_local_ip(documentation)


def test_warning_once_per_client(guard: Guard, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="zerogravity_proxy.addons.guard")
    flows = [make_flow("127.0.0.1", SIDECAR_PORT) for _ in range(3)]
    flows[2].client_conn.peername = ("10.1.2.3", 5555)
    for flow in flows:
        guard.requestheaders(flow)
    records = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in records] == [logging.WARNING, logging.DEBUG, logging.WARNING]
    assert "from 127.0.0.1 to 127.0.0.1:18741, the daemon's own sidecar listener" in records[0][1]
    assert "from 10.1.2.3" in records[2][1]


# --- server_connect: the backstop for every connection ---------------------------------------


async def test_server_connect_to_our_listeners_is_killed(guard: Guard) -> None:
    for host, port in (("localhost", SIDECAR_PORT), ("::1", PROXY_PORT), ("0.0.0.0", SIDECAR_PORT)):
        data = server_data(host, port)
        await guard.server_connect(data)
        assert data.server.error is not None and "own" in data.server.error


async def test_server_connect_resolves_names_on_our_ports(
    guard: Guard, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {"sneaky.example": "127.0.0.1", "remote.example": "192.0.2.1"}
    looked_up: list[str] = []

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        looked_up.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    sneaky = server_data("sneaky.example", SIDECAR_PORT)
    await guard.server_connect(sneaky)
    assert sneaky.server.error is not None and "own sidecar listener" in sneaky.server.error
    for host, port in (
        ("remote.example", SIDECAR_PORT),
        ("unknown.example", SIDECAR_PORT),
        ("sneaky.example", OTHER_PORT),
    ):
        data = server_data(host, port)
        await guard.server_connect(data)
        assert data.server.error is None, host
    assert looked_up == ["sneaky.example", "remote.example", "unknown.example"]  # our ports only


# --- in the addon chain -------------------------------------------------------------------


async def test_in_front_of_upstream_through_the_addon_manager() -> None:
    """Guard first: it sees the client's destination before Upstream redirects anything, and
    a Gemini flow the Upstream addon sends to the (loopback) simulator is not refused."""
    runtime = make_runtime()
    runtime.simulator_url = "http://127.0.0.1:17000"
    guard, upstream = Guard(runtime), Upstream(runtime)
    with taddons.context(guard, upstream) as tctx:
        to_sidecar = make_flow("localhost", SIDECAR_PORT)
        to_gemini = make_flow(GEMINI_HOST, 443)
        for flow in (to_sidecar, to_gemini):
            await tctx.master.addons.handle_lifecycle(HttpRequestHeadersHook(flow))
            await tctx.master.addons.handle_lifecycle(HttpRequestHook(flow))
        assert refused(to_sidecar, "sidecar")
        assert to_sidecar.request.host == "localhost"  # not redirected
        assert to_gemini.response is None
        assert (to_gemini.request.host, to_gemini.request.port) == ("127.0.0.1", 17000)
        data = server_data(to_gemini.request.host, to_gemini.request.port)
        await tctx.master.addons.handle_lifecycle(ServerConnectHook(data))
        assert data.server.error is None
        data = server_data("127.0.0.1", SIDECAR_PORT)
        await tctx.master.addons.handle_lifecycle(ServerConnectHook(data))
        assert data.server.error is not None
