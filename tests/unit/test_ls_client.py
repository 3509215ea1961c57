"""The LS client against a fake language server over real loopback HTTPS (self-signed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from tests.integration.harness import free_port
from tests.ls_standin.tls import self_signed_certificate, server_context
from zerogravity_proxy.drivers.antigravity.client import (
    Endpoint,
    LanguageServerClient,
    LanguageServerError,
)
from zerogravity_proxy.drivers.antigravity.status import status_report
from zerogravity_proxy.settings import Settings

JSON = dict[str, Any]
TOKEN = "0f6c9a2e-csrf"
PREFIX = "/exa.language_server_pb.LanguageServerService/"
STEPS = [
    {"type": "CORTEX_STEP_TYPE_USER_INPUT", "status": "CORTEX_STEP_STATUS_DONE"},
    {"type": "CORTEX_STEP_TYPE_PLANNER_RESPONSE", "plannerResponse": {"response": "hi"}},
]


@dataclass
class FakeLS:
    """Connect unary methods as the LS serves them, checking what every real LS would check."""

    port: int = 0
    calls: list[tuple[str, JSON]] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)  # methods answered as `unimplemented`
    cascade_id: str | None = "c-123"  # what StartCascade answers; None: a response without one
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.headers.get("Content-Type") != "application/json":
            return connect_error(415, "invalid_argument", "want application/json")
        if request.headers.get("Connect-Protocol-Version") != "1":
            return connect_error(400, "invalid_argument", "missing Connect-Protocol-Version")
        if request.headers.get("x-codeium-csrf-token") != TOKEN:
            return connect_error(401, "unauthenticated", "invalid CSRF token")
        body = orjson.loads(await request.read())
        self.calls.append((method, body))
        if method in self.disabled:
            return connect_error(404, "unimplemented", f"{method} is not implemented")
        match method:
            case "GetUnleashData" | "Heartbeat" | "SendUserCascadeMessage":
                return json({})
            case "CancelCascadeInvocation":
                return json({})
            case "StartCascade":
                ok = body == {"source": 12} and self.cascade_id
                return json({"cascadeId": self.cascade_id} if ok else {})
            case "GetCascadeTrajectorySteps":
                steps = {"c-123": STEPS, "bad": "nope"}.get(body["cascadeId"])
                return json({"steps": steps} if steps else {})
            case "Crash":
                return web.Response(status=500, text="panic: runtime error\n")
            case "NotJSON":
                return web.Response(text="<html>hello</html>")
            case "Slow":
                await self.release.wait()
                return json({})
        return connect_error(404, "unimplemented", f"unknown method {method}")


def json(body: JSON) -> web.Response:
    return web.Response(body=orjson.dumps(body), content_type="application/json")


def connect_error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps({"code": code, "message": message}),
        content_type="application/json",
    )


@pytest.fixture
async def ls(tmp_path: Path) -> AsyncIterator[FakeLS]:
    fake = FakeLS()
    app = web.Application()
    app.router.add_post(PREFIX + "{method}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(
        runner, "127.0.0.1", 0, ssl_context=server_context(*self_signed_certificate())
    )
    await site.start()
    fake.port = runner.addresses[0][1]
    yield fake
    fake.release.set()
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def client_for(
    ls: FakeLS, session: aiohttp.ClientSession, token: str = TOKEN, **kwargs: Any
) -> LanguageServerClient:
    return LanguageServerClient(Endpoint("127.0.0.1", ls.port, token), session, **kwargs)


# The client's methods


async def test_call_posts_json_with_the_connect_headers_and_token(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    assert await client_for(ls, session).call("Heartbeat", {"metadata": {"a": 1}}) == {}
    assert ls.calls == [("Heartbeat", {"metadata": {"a": 1}})]


async def test_start_cascade_sends_source_12_and_returns_the_id(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    assert await client_for(ls, session).start_cascade() == "c-123"
    assert ls.calls == [("StartCascade", {"source": 12})]


async def test_send_message_sends_items_and_the_requested_model(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    await client_for(ls, session).send_message("c-123", ".<cid:x>", "MODEL_X")
    assert ls.calls == [
        (
            "SendUserCascadeMessage",
            {
                "cascadeId": "c-123",
                "items": [{"text": ".<cid:x>"}],
                "cascadeConfig": {"plannerConfig": {"requestedModel": {"model": "MODEL_X"}}},
            },
        )
    ]


async def test_cancel_names_the_cascade(ls: FakeLS, session: aiohttp.ClientSession) -> None:
    await client_for(ls, session).cancel("c-123")
    assert ls.calls == [("CancelCascadeInvocation", {"cascadeId": "c-123"})]


async def test_trajectory_steps(ls: FakeLS, session: aiohttp.ClientSession) -> None:
    client = client_for(ls, session)
    assert await client.trajectory_steps("c-123") == STEPS
    assert await client.trajectory_steps("other") == []  # protobuf JSON omits an empty list
    assert await client.trajectory_steps("other", step_offset=2) == []
    assert ls.calls == [
        ("GetCascadeTrajectorySteps", {"cascadeId": "c-123"}),
        ("GetCascadeTrajectorySteps", {"cascadeId": "other"}),
        ("GetCascadeTrajectorySteps", {"cascadeId": "other", "stepOffset": 2}),
    ]


async def test_probe_uses_get_unleash_data(ls: FakeLS, session: aiohttp.ClientSession) -> None:
    await client_for(ls, session).probe()
    assert ls.calls == [("GetUnleashData", {})]


async def test_probe_falls_back_to_heartbeat(ls: FakeLS, session: aiohttp.ClientSession) -> None:
    ls.disabled = {"GetUnleashData"}
    await client_for(ls, session).probe()
    assert [m for m, _ in ls.calls] == ["GetUnleashData", "Heartbeat"]


async def test_probe_fails_when_neither_answers(ls: FakeLS, session: aiohttp.ClientSession) -> None:
    ls.disabled = {"GetUnleashData", "Heartbeat"}
    with pytest.raises(LanguageServerError) as caught:
        await client_for(ls, session).probe()
    assert caught.value.code == "unimplemented"
    assert caught.value.message == (
        "GetUnleashData: GetUnleashData is not implemented; "
        "then Heartbeat: Heartbeat is not implemented"
    )


async def test_probe_with_a_wrong_token_blames_the_token(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(LanguageServerError) as caught:
        await client_for(ls, session, token="stale").probe()
    assert (caught.value.code, caught.value.status) == ("unauthenticated", 401)
    assert caught.value.message == "GetUnleashData: invalid CSRF token (is the CSRF token right?)"
    assert ls.calls == []  # rejected before any method ran; and no Heartbeat retry


async def test_probe_of_a_closed_port_is_unreachable(session: aiohttp.ClientSession) -> None:
    client = LanguageServerClient(Endpoint("127.0.0.1", free_port(), TOKEN), session)
    with pytest.raises(LanguageServerError) as caught:
        await client.probe()
    assert caught.value.code == "unreachable"


# Error mapping


async def test_connect_error_body_gives_code_and_message(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(LanguageServerError) as caught:
        await client_for(ls, session).call("NoSuchMethod", {})
    error = caught.value
    assert (error.code, error.message, error.status) == (
        "unimplemented",
        "NoSuchMethod: unknown method NoSuchMethod",
        404,
    )
    assert str(error) == "unimplemented: NoSuchMethod: unknown method NoSuchMethod"


async def test_non_connect_error_body_gives_http_status(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(LanguageServerError) as caught:
        await client_for(ls, session).call("Crash", {})
    error = caught.value
    assert (error.code, error.message, error.status) == (
        "http_500",
        "Crash: HTTP 500: panic: runtime error",
        500,
    )


async def test_200_that_is_not_a_json_object_is_invalid(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(LanguageServerError) as caught:
        await client_for(ls, session).call("NotJSON", {})
    assert (caught.value.code, caught.value.message, caught.value.status) == (
        "invalid_response",
        "NotJSON: not a JSON object: <html>hello</html>",
        200,
    )


async def test_steps_that_are_not_a_list_are_invalid(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(LanguageServerError) as caught:
        await client_for(ls, session).trajectory_steps("bad")
    assert (caught.value.code, caught.value.message) == (
        "invalid_response",
        "GetCascadeTrajectorySteps: steps is not a list of objects",
    )


async def test_start_cascade_without_an_id_is_invalid(
    ls: FakeLS, session: aiohttp.ClientSession
) -> None:
    ls.cascade_id = None
    with pytest.raises(LanguageServerError) as caught:
        await client_for(ls, session).start_cascade()
    assert (caught.value.code, caught.value.message) == (
        "invalid_response",
        "StartCascade: no cascadeId in {}",
    )


async def test_refused_port_is_unreachable(session: aiohttp.ClientSession) -> None:
    port = free_port()
    client = LanguageServerClient(Endpoint("127.0.0.1", port, TOKEN), session)
    with pytest.raises(LanguageServerError) as caught:
        await client.call("Heartbeat", {})
    error = caught.value
    assert (error.code, error.status) == ("unreachable", None)
    assert error.message == f"Heartbeat: cannot reach 127.0.0.1:{port}: Connection refused"


async def test_timeout_is_unreachable(ls: FakeLS, session: aiohttp.ClientSession) -> None:
    client = client_for(ls, session, timeout=0.2)
    started = asyncio.get_running_loop().time()
    with pytest.raises(LanguageServerError) as caught:
        await client.call("Slow", {})
    assert asyncio.get_running_loop().time() - started < 2
    assert (caught.value.code, caught.value.message) == (
        "unreachable",
        f"Slow: no answer from 127.0.0.1:{ls.port} within 0.2s",
    )


async def test_a_plain_http_port_is_unreachable_with_the_tls_failure(
    session: aiohttp.ClientSession,
) -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\nClient sent an HTTP request\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        client = LanguageServerClient(Endpoint("127.0.0.1", port, TOKEN), session)
        with pytest.raises(LanguageServerError) as caught:
            await client.call("Heartbeat", {})
    assert caught.value.code == "unreachable"
    assert caught.value.message.startswith(
        f"Heartbeat: cannot reach 127.0.0.1:{port}: TLS handshake failed: "
    )


# Loopback only


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST.", "::1"])
def test_loopback_hosts_are_accepted(host: str, session: aiohttp.ClientSession) -> None:
    assert LanguageServerClient(Endpoint(host, 1, TOKEN), session).endpoint.host == host


@pytest.mark.parametrize("host", ["192.168.1.10", "0.0.0.0", "example.com", "::"])
def test_other_hosts_are_refused(host: str, session: aiohttp.ClientSession) -> None:
    with pytest.raises(LanguageServerError) as caught:
        LanguageServerClient(Endpoint(host, 1, TOKEN), session)
    assert caught.value.code == "not_loopback"
    assert caught.value.message.startswith(f"{host!r} is not a loopback address; ")


def test_other_hosts_are_allowed_when_asked(session: aiohttp.ClientSession) -> None:
    client = LanguageServerClient(Endpoint("10.0.0.2", 1, TOKEN), session, allow_remote=True)
    assert client.endpoint.address == "10.0.0.2:1"


async def test_ipv6_loopback_is_bracketed(session: aiohttp.ClientSession) -> None:
    client = LanguageServerClient(Endpoint("::1", free_port(), TOKEN), session, timeout=2)
    assert client.endpoint.address.startswith("[::1]:")
    with pytest.raises(LanguageServerError) as caught:
        await client.call("Heartbeat", {})
    assert caught.value.code == "unreachable"  # a well-formed URL, just nobody listening


def test_the_token_stays_out_of_reprs() -> None:
    assert repr(Endpoint("127.0.0.1", 1, TOKEN)) == "Endpoint(host='127.0.0.1', port=1)"


# `ls status`


def fake_proc(root: Path, pid: int, port: int) -> Path:
    """A /proc with one language server listening on `port`."""
    entry = root / str(pid)
    entry.mkdir(parents=True)
    argv = ["/opt/ag/language_server_linux_x64", "--server_port", str(port), "--csrf_token", TOKEN]
    (entry / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    return root


async def test_status_of_a_configured_ls(ls: FakeLS) -> None:
    settings = Settings(ls_port=ls.port, ls_csrf_token=TOKEN)
    ok, report = await status_report(settings, proc=Path("/nonexistent"))
    assert ok
    assert report == (
        "Antigravity language server: OK\n"
        "  found:   configured (ls_port and ls_csrf_token)\n"
        f"  address: 127.0.0.1:{ls.port}\n"
        "  answers: yes"
    )


async def test_status_of_a_discovered_ls(ls: FakeLS, tmp_path: Path) -> None:
    proc = fake_proc(tmp_path / "proc", 4321, ls.port)
    fake_proc(proc, 99, 1)  # an older window's LS
    ok, report = await status_report(Settings(), proc=proc)
    assert ok
    assert report == (
        "Antigravity language server: OK\n"
        "  found:   running, pid 4321 (/opt/ag/language_server_linux_x64); "
        "the newest of 2, also pids 99\n"
        f"  address: 127.0.0.1:{ls.port}\n"
        "  answers: yes"
    )
    assert TOKEN not in report


async def test_status_when_none_is_running(tmp_path: Path) -> None:
    ok, report = await status_report(Settings(), proc=tmp_path)
    assert not ok
    assert report == (
        "Antigravity language server: NOT OK\n"
        "  found:   no\n"
        "  error:   not_found: no running Antigravity language server found; "
        "start Antigravity or set ls_port and ls_csrf_token"
    )


async def test_status_when_it_does_not_answer(tmp_path: Path) -> None:
    port = free_port()
    ok, report = await status_report(Settings(ls_port=port, ls_csrf_token="t"), proc=tmp_path)
    assert not ok
    assert report.splitlines()[2:] == [
        f"  address: 127.0.0.1:{port}",
        "  answers: no",
        f"  error:   unreachable: GetUnleashData: cannot reach 127.0.0.1:{port}: "
        "Connection refused",
    ]


async def test_status_with_a_wrong_token(ls: FakeLS) -> None:
    ok, report = await status_report(Settings(ls_port=ls.port, ls_csrf_token="stale"))
    assert not ok
    assert report.splitlines()[-1] == (
        "  error:   unauthenticated: GetUnleashData: invalid CSRF token (is the CSRF token right?)"
    )
    assert "stale" not in report


async def test_status_of_a_remote_host_is_refused(tmp_path: Path) -> None:
    settings = Settings(ls_host="192.0.2.1", ls_port=1, ls_csrf_token="t")
    ok, report = await status_report(settings, proc=tmp_path)
    assert not ok
    assert "  error:   not_loopback: '192.0.2.1' is not a loopback address" in report
