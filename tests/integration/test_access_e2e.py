"""Who gets in, through the real daemon: API keys, the loopback-only default, the bind rule, and
the guard that keeps proxy clients away from the daemon's own listeners (CVE-2025-23217)."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.integration.harness import GEMINI_URL, Daemon, fetch, running_daemon

KEY = "k1"
MODEL = "gemini-2.5-flash"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A daemon that accepts one API key."""
    with running_daemon(tmp_path_factory.mktemp("keyed"), ["--api-keys", KEY]) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A daemon without keys: loopback clients only."""
    with running_daemon(tmp_path_factory.mktemp("keyless")) as daemon:
        yield daemon


def client(daemon: Daemon, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=daemon.base_url, api_key=api_key, max_retries=0, timeout=30)


def get(url: str, headers: dict[str, str] | None = None, proxy: str | None = None) -> Any:
    """GET `url` (through `proxy` if given); returns (status, headers, body)."""
    handlers = [urllib.request.ProxyHandler({"http": proxy} if proxy else {})]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


# --- API keys ---------------------------------------------------------------------------------


def test_wrong_key_is_an_authentication_error(keyed: Daemon) -> None:
    with client(keyed, "not-the-key") as c, pytest.raises(openai.AuthenticationError) as e:
        c.models.list()
    assert e.value.status_code == 401 and e.value.code == "invalid_api_key"
    assert e.value.response.headers["www-authenticate"] == "Bearer"
    assert e.value.body == {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
    assert "not-the-key" not in keyed.log()


def test_missing_key_is_401(keyed: Daemon) -> None:
    status, headers, body = get(f"{keyed.base_url}/models")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert json.loads(body)["error"]["message"].startswith("You didn't provide an API key")


def test_right_key_works(keyed: Daemon) -> None:
    with client(keyed, KEY) as c:
        assert MODEL in [m.id for m in c.models.list().data]
        answer = c.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "with a key"}]
        )
    assert "with a key" in (answer.choices[0].message.content or "")


def test_healthz_stays_public(keyed: Daemon) -> None:
    assert keyed.health()["status"] == "ok"
    status, _, _ = get(f"{keyed.sidecar}/healthz", {"Authorization": "Bearer wrong"})
    assert status == 200


def test_keys_from_the_credentials_directory(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "api-keys").write_text("# ops\nfrom-file\n")
    with running_daemon(tmp_path, env={"CREDENTIALS_DIRECTORY": str(credentials)}) as daemon:
        with client(daemon, "from-file") as c:
            assert c.models.list().data
        with client(daemon, "other") as c, pytest.raises(openai.AuthenticationError):
            c.models.list()


# --- the bind rule ----------------------------------------------------------------------------


def test_public_bind_without_keys_refuses_to_start(tmp_path: Path) -> None:
    with (
        pytest.raises(RuntimeError, match="daemon exited with") as e,
        running_daemon(tmp_path, ["--sidecar-host", "0.0.0.0"]),
    ):
        pass
    assert "sidecar_host: 0.0.0.0 is not a loopback address, and no API keys" in str(e.value)


def test_missing_keys_file_refuses_to_start(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-keys"
    with (
        pytest.raises(RuntimeError, match="daemon exited with") as e,
        running_daemon(tmp_path, ["--api-keys-file", str(missing)]),
    ):
        pass
    assert f"api_keys_file: cannot read {missing}" in str(e.value)


# --- the proxy will not reach the daemon itself -------------------------------------------------


def test_loopback_client_without_keys_is_served_directly(keyless: Daemon) -> None:
    status, _, body = get(f"{keyless.base_url}/models")
    assert status == 200 and MODEL in body.decode()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "0.0.0.0"])
def test_proxied_request_to_the_sidecar_is_refused(keyless: Daemon, host: str) -> None:
    port = keyless.sidecar.rsplit(":", 1)[1]
    status, _, body = get(f"http://{host}:{port}/v1/models", proxy=keyless.proxy)
    assert status == 403
    assert b"its own sidecar listener" in body


def test_proxied_request_to_the_proxy_itself_is_refused(keyless: Daemon) -> None:
    status, _, body = get(f"http://127.0.0.1:{keyless.proxy_port}/", proxy=keyless.proxy)
    assert status == 403 and b"its own proxy listener" in body


def test_connect_tunnel_to_the_sidecar_is_refused(keyless: Daemon) -> None:
    port = keyless.sidecar.rsplit(":", 1)[1]
    with socket.create_connection(("127.0.0.1", keyless.proxy_port), timeout=10) as s:
        s.sendall(f"CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        status_line = s.makefile("rb").readline()
    assert status_line.split()[1] == b"403"


def test_openai_client_through_http_proxy_is_refused(
    keyed: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even with the right key: the proxy is no way into the sidecar."""
    monkeypatch.setenv("HTTP_PROXY", keyed.proxy)
    for var in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    with client(keyed, KEY) as c, pytest.raises(openai.PermissionDeniedError) as e:
        c.models.list()
    assert e.value.status_code == 403
    assert "its own sidecar listener" in e.value.response.text
    assert "refused a proxied connection" in keyed.log()


def test_ordinary_proxy_traffic_still_flows(keyless: Daemon) -> None:
    """The guard leaves other destinations alone: Gemini traffic still reaches the simulator
    (itself on loopback, where the upstream addon redirects it)."""
    keyless.clear_simulator_requests()
    status, _ = asyncio.run(fetch(GEMINI_URL, proxy=keyless.proxy, cafile=keyless.ca_cert))
    assert status == 200
    assert any("GenerateContent" in r["path"] for r in keyless.simulator_requests())
