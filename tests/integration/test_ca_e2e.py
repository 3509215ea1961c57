"""Our CA in the real daemon: created name-constrained at start, used for Google hosts only.

Everything else a client CONNECTs to is tunnelled untouched (mitmproxy's `allow_hosts`), so
the client talks TLS with the real server and sees that server's own certificate.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.integration.harness import GEMINI_URL, Daemon, fetch, running_daemon
from tests.ls_standin.tls import client_context, self_signed_certificate, server_context
from zerogravity_proxy.ca import CA_KEY_NAME, export_ca, show_ca
from zerogravity_proxy.settings import GOOGLE_API_HOSTS

UNTOUCHED = "served by the real server, not by the proxy"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A fresh machine: no CA until the daemon makes one."""
    tmp: Path = tmp_path_factory.mktemp("ca")
    with running_daemon(tmp) as d:
        yield d


@pytest.fixture
async def other_server() -> AsyncIterator[tuple[str, bytes]]:
    """A tiny HTTPS server on 127.0.0.1 with its own self-signed certificate (PEM given back)."""
    cert_pem, key_pem = self_signed_certificate()
    context = server_context(cert_pem, key_pem)

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=UNTOUCHED)

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}/", cert_pem
    finally:
        await runner.cleanup()


async def test_gemini_host_through_the_proxy_with_our_ca(daemon: Daemon) -> None:
    """The client trusts only our CA (no system store): the leaf for the Google host verifies."""
    status, _ = await fetch(GEMINI_URL, proxy=daemon.proxy, cafile=daemon.ca_cert)
    assert status == 200


def test_the_daemon_made_a_name_constrained_ca(daemon: Daemon) -> None:
    confdir = daemon.state_dir / "mitmproxy"
    info = show_ca(confdir)
    assert info.permitted_hosts == GOOGLE_API_HOSTS, "the daemon did not call ensure_ca"
    cert = x509.load_pem_x509_certificate(daemon.ca_cert.read_bytes())
    constraints = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert constraints.value.permitted_subtrees == [x509.DNSName(h) for h in GOOGLE_API_HOSTS]
    assert export_ca(confdir) == daemon.ca_cert.read_text()
    assert stat.S_IMODE((confdir / CA_KEY_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE(confdir.stat().st_mode) == 0o700


async def test_connect_to_another_host_is_tunnelled_untouched(
    daemon: Daemon, other_server: tuple[str, bytes]
) -> None:
    url, cert_pem = other_server
    server_cert = x509.load_pem_x509_certificate(cert_pem)
    async with aiohttp.ClientSession() as session:
        # Pinned to the server's own certificate (no chain check), so an interception shows
        # up as the certificate the proxy presented instead.
        pin = aiohttp.Fingerprint(server_cert.fingerprint(hashes.SHA256()))
        try:
            async with session.get(url, proxy=daemon.proxy, ssl=pin) as resp:
                assert (resp.status, await resp.text()) == (200, UNTOUCHED)
        except aiohttp.ServerFingerprintMismatch as e:
            pytest.fail(
                f"the client saw certificate sha256 {e.got.hex(':')}, not the server's: "
                "the proxy intercepted a non-Google host (allow_hosts not set?)"
            )

        # A client trusting only that server's certificate gets through the proxy.
        trusting = client_context(cert_pem)
        async with session.get(url, proxy=daemon.proxy, ssl=trusting) as resp:
            assert (resp.status, await resp.text()) == (200, UNTOUCHED)
