"""Sidecar access: loading API keys, the bearer-key middleware, loopback-only mode, check_bind."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import AsyncIterator, Callable, Collection
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request

from zerogravity_proxy.settings import Settings, SettingsError
from zerogravity_proxy.sidecar.auth import (
    INCORRECT_KEY,
    LOOPBACK_ONLY,
    MISSING_KEY,
    bearer_token,
    check_bind,
    ip_of,
    is_loopback,
    load_api_keys,
    require_api_key,
)

JSON = dict[str, Any]
KEYS = frozenset({"k1", "sk-second-key", "k3"})
PUBLIC = ("/healthz",)


# --- load_api_keys ------------------------------------------------------------------------


def test_keys_from_settings_only() -> None:
    assert load_api_keys(Settings(api_keys=("k1", "k2")), {}) == {"k1", "k2"}
    assert load_api_keys(Settings(), {}) == frozenset()


def test_keys_file_lines_comments_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# team keys\n\nfile-key-1\n  file-key-2  \n# old-key\n")
    settings = Settings(api_keys=("k1",), api_keys_file=str(path))
    assert load_api_keys(settings, {}) == {"k1", "file-key-1", "file-key-2"}


def test_configured_keys_file_missing_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(
        SettingsError, match=re.escape(f"api_keys_file: cannot read {missing}: No such file")
    ):
        load_api_keys(Settings(api_keys_file=str(missing)), {})


def test_default_credentials_file_is_optional(tmp_path: Path) -> None:
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    assert load_api_keys(Settings(), environ) == frozenset()
    (tmp_path / "api-keys").write_text("from-credentials\n")
    assert load_api_keys(Settings(), environ) == {"from-credentials"}


def test_configured_file_wins_over_the_credentials_file(tmp_path: Path) -> None:
    (tmp_path / "api-keys").write_text("from-credentials\n")
    mine = tmp_path / "mine"
    mine.write_text("mine\n")
    settings = Settings(api_keys_file=str(mine))
    assert load_api_keys(settings, {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == {"mine"}


def test_unreadable_default_credentials_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "api-keys").mkdir()  # present but unreadable: an error, not "no keys"
    with pytest.raises(
        SettingsError, match=r"api_keys_file: cannot read .*api-keys: Is a directory"
    ):
        load_api_keys(Settings(), {"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_unusable_key_is_an_error_that_does_not_echo_it(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("good\nhas a space\n")
    with pytest.raises(SettingsError, match=r"line 2 is not a usable API key") as e:
        load_api_keys(Settings(api_keys_file=str(path)), {})
    assert "has a space" not in str(e.value)
    with pytest.raises(SettingsError, match=r"api_keys: entry 1"):
        load_api_keys(Settings(api_keys=("caf\u00e9",)), {})


# --- addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.9.9.9",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
        "localhost",
        "LocalHost.",
        "127.1",
    ],
)
def test_loopback(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["", None, "0.0.0.0", "::", "10.0.0.5", "example.com", "::2"])
def test_not_loopback(host: str | None) -> None:
    assert not is_loopback(host)


def test_ip_of_legacy_forms() -> None:
    assert str(ip_of("2130706433")) == "127.0.0.1"
    assert str(ip_of("0x7f.0.0.1")) == "127.0.0.1"
    assert str(ip_of("[fe80::1%eth0]")) == "fe80::1%eth0"
    assert ip_of("deadbeef.example") is None


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer k1", "k1"),
        ("bearer   k1 ", "k1"),
        ("Bearer ", None),
        ("Bearer\tk1", "k1"),
        ("Basic azE6", None),
        ("k1", None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


# --- check_bind -----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_bind_needs_no_keys(host: str) -> None:
    check_bind(Settings(sidecar_host=host), frozenset())


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.5", "myhost.example"])
def test_non_loopback_bind_without_keys_is_refused(host: str) -> None:
    with pytest.raises(SettingsError, match="not a loopback address, and no API keys"):
        check_bind(Settings(sidecar_host=host), frozenset())
    check_bind(Settings(sidecar_host=host), frozenset({"k1"}))


# --- the middleware on a real loopback server -----------------------------------------------


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "path": request.path})


def make_app(keys: Collection[str], *, loopback_only: bool = True) -> web.Application:
    app = web.Application(middlewares=[require_api_key(keys, PUBLIC, loopback_only=loopback_only)])
    app.router.add_get("/v1/models", ok)
    app.router.add_get("/healthz", ok)
    return app


Get = Callable[..., Any]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[web.Application], Any]]:
    """Starts apps on 127.0.0.1; yields a function returning a GET helper per app."""
    servers: list[TestServer] = []
    session = aiohttp.ClientSession()

    async def start(app: web.Application) -> Get:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)

        async def get(path: str, authorization: str | None = None) -> tuple[int, Any, JSON]:
            headers = {"Authorization": authorization} if authorization is not None else {}
            async with session.get(server.make_url(path), headers=headers) as resp:
                return resp.status, resp.headers, await resp.json()

        return get

    yield start
    await session.close()
    for server in servers:
        await server.close()


async def test_no_header_is_401_with_openai_shape(serve: Any) -> None:
    get = await serve(make_app(KEYS))
    status, headers, body = await get("/v1/models")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert body == {
        "error": {
            "message": MISSING_KEY,
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert MISSING_KEY.startswith("You didn't provide an API key")


async def test_wrong_key_is_401_invalid_api_key(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    get = await serve(make_app(KEYS))
    with caplog.at_level(logging.DEBUG):
        status, headers, body = await get("/v1/models", "Bearer not-a-real-key")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert body == {
        "error": {
            "message": "Incorrect API key provided.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    assert body["error"]["message"] == INCORRECT_KEY
    assert "incorrect API key" in caplog.text and "not-a-real-key" not in caplog.text


@pytest.mark.parametrize("key", sorted(KEYS))
async def test_right_key_among_several(serve: Any, key: str) -> None:
    get = await serve(make_app(KEYS))
    status, _, body = await get("/v1/models", f"Bearer {key}")
    assert status == 200 and body["ok"] is True


async def test_other_schemes_and_prefixes_are_no_key(serve: Any) -> None:
    get = await serve(make_app(KEYS))
    assert (await get("/v1/models", "Basic azE6"))[2]["error"]["message"] == MISSING_KEY
    assert (await get("/v1/models", "Bearer k"))[2]["error"]["code"] == "invalid_api_key"
    assert (await get("/v1/models", "Bearer k1k1"))[0] == 401
    assert (await get("/v1/models", "bearer k1"))[0] == 200


async def test_public_path_needs_no_key(serve: Any) -> None:
    get = await serve(make_app(KEYS))
    assert (await get("/healthz"))[0] == 200
    assert (await get("/healthz", "Bearer wrong"))[0] == 200
    # Only the exact path is public: neighbours and unknown routes still need the key.
    assert (await get("/healthz/"))[0] == 401
    assert (await get("/nowhere"))[0] == 401


async def test_no_keys_serves_loopback_peers(serve: Any) -> None:
    get = await serve(make_app(frozenset()))
    assert (await get("/v1/models"))[0] == 200
    assert (await get("/v1/models", "Bearer anything"))[0] == 200


async def test_every_key_is_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    middleware = require_api_key(KEYS, PUBLIC, loopback_only=True)
    for key in sorted(KEYS):
        calls.clear()
        response = await middleware(request("/v1/models", f"Bearer {key}"), handler)
        assert response.status == 200
        assert len(calls) == len(KEYS)  # no early exit on the match
        assert {len(a) for a, _ in calls} == {len(b) for _, b in calls} == {32}


# --- the middleware with a faked non-loopback peer ------------------------------------------


def request(path: str, authorization: str | None = None, peer: str = "127.0.0.1") -> web.Request:
    transport = mock.Mock()
    extra = {"peername": (peer, 40000), "sockname": ("127.0.0.1", 8741)}
    transport.get_extra_info.side_effect = lambda name, default=None: extra.get(name, default)
    headers = {"Authorization": authorization} if authorization is not None else None
    return make_mocked_request("GET", path, headers=headers, transport=transport)


async def handler(request: web.Request) -> web.StreamResponse:
    return web.Response(text="served")


def body_of(response: web.StreamResponse) -> JSON:
    assert isinstance(response, web.Response) and isinstance(response.body, bytes)
    data: JSON = orjson.loads(response.body)
    return data


async def test_no_keys_refuses_a_non_loopback_peer() -> None:
    middleware = require_api_key(frozenset(), PUBLIC, loopback_only=True)
    req = request("/v1/models", "Bearer whatever", peer="10.0.0.5")
    assert req.remote == "10.0.0.5"
    response = await middleware(req, handler)
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert (body_of(response))["error"] == {
        "message": LOOPBACK_ONLY,
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    # Public paths stay public; loopback peers (also IPv4-mapped) are served.
    assert (await middleware(request("/healthz", peer="10.0.0.5"), handler)).status == 200
    assert (await middleware(request("/v1/models", peer="127.0.0.1"), handler)).status == 200
    assert (await middleware(request("/v1/models", peer="::ffff:127.0.0.1"), handler)).status == 200
    assert (await middleware(request("/v1/models", peer="::1"), handler)).status == 200


async def test_no_keys_without_loopback_only_serves_everyone() -> None:
    middleware = require_api_key(frozenset(), PUBLIC, loopback_only=False)
    assert (await middleware(request("/v1/models", peer="10.0.0.5"), handler)).status == 200


async def test_keys_serve_a_non_loopback_peer_with_the_right_key() -> None:
    middleware = require_api_key(KEYS, PUBLIC, loopback_only=True)
    assert (await middleware(request("/v1/models", "Bearer k1", "10.0.0.5"), handler)).status == 200
    refused = await middleware(request("/v1/models", "Bearer k9", "10.0.0.5"), handler)
    assert refused.status == 401
    assert (body_of(refused))["error"]["code"] == "invalid_api_key"


async def test_non_ascii_token_is_refused_not_a_crash() -> None:
    middleware = require_api_key(KEYS, PUBLIC, loopback_only=True)
    req = request("/v1/models", "Bearer k\u00e9")
    assert (await middleware(req, handler)).status == 401
