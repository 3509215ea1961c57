"""Refuses proxied traffic aimed at the daemon itself: its sidecar and its own proxy listeners.

The sidecar listens on loopback beside the proxy, so without this a proxy client could reach it
(and anything else we serve) by asking the proxy to connect there: the SSRF of CVE-2025-23217 in
mitmweb. HTTP requests and CONNECT tunnels get a 403 before any other addon sees them; every
other server connection (TCP, redirected flows, names that resolve to this host) is killed in
`server_connect`. A DNS answer that changes between our lookup and mitmproxy's own could slip
past the second check; the sidecar's API keys remain the line that holds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from mitmproxy import ctx, http
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.sidecar.auth import IPAddress, ip_of

log = logging.getLogger(__name__)

META_GUARDED = "zerogravity.guarded"  # the guard refused this flow

# Names that mean this host without asking DNS (RFC 6761, and Debian's /etc/hosts).
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# How many client addresses we remember having warned about (then we start over).
WARNED_MAX = 4096


def _plain(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_local_ip(ip: IPAddress) -> bool:
    """Loopback, unspecified (0.0.0.0 and :: reach this host), or assigned to an interface here."""
    ip = _plain(ip)
    if ip.is_loopback or ip.is_unspecified:
        return True
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        try:
            s.bind((str(ip), 0))  # only an address of ours can be bound
        except OSError:
            return False
    return True


def _port_of(url: str | None) -> int | None:
    if not url:
        return None
    try:
        return urlsplit(url).port
    except ValueError:
        return None


def _host_of(url: str | None) -> str | None:
    return urlsplit(url).hostname if url else None


class Guard:
    """The first addon: keeps the proxy from being a way into the daemon's own listeners."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.warned: set[str] = set()
        self.hostname = socket.gethostname().lower()

    # --- what is ours ---------------------------------------------------------------------

    def listeners(self) -> dict[int, str]:
        """Our listening ports, each with what listens there: the live ones, else configured."""
        settings = self.runtime.settings
        live_proxy = [_port_of(self.runtime.proxy_url), *self._proxy_ports()]
        proxy = [p for p in live_proxy if p] or [settings.listen_port]
        sidecar = [p for p in [_port_of(self.runtime.sidecar_url)] if p] or [settings.sidecar_port]
        ports = dict.fromkeys(proxy, "proxy") | dict.fromkeys(sidecar, "sidecar")
        return {port: name for port, name in ports.items() if port}

    def _proxy_ports(self) -> list[int]:
        """Every port mitmproxy listens on (several modes can mean several ports)."""
        try:
            server = ctx.master.addons.get("proxyserver")
        except AttributeError:  # no master: not running under mitmproxy
            return []
        if server is None:
            return []
        return [int(addr[1]) for addr in server.listen_addrs()]

    def names(self) -> set[str]:
        """Host names and addresses configured for our listeners, and this host's name."""
        settings = self.runtime.settings
        hosts = {
            settings.listen_host,
            settings.sidecar_host,
            _host_of(self.runtime.proxy_url),
            _host_of(self.runtime.sidecar_url),
            self.hostname,
        }
        return {_normal(h) for h in hosts if h}

    def is_this_host(self, host: str) -> bool:
        """Whether `host`, as written (no DNS), is this machine."""
        name = _normal(host)
        if name in LOCAL_NAMES or name.endswith(".localhost") or name in self.names():
            return True
        ip = ip_of(name)
        return ip is not None and is_local_ip(ip)

    def own_listener(self, host: str, port: int) -> str | None:
        """Which of our listeners `host:port` reaches ("sidecar", "proxy"), without DNS."""
        listener = self.listeners().get(port)
        if listener is not None and self.is_this_host(host):
            return listener
        return None

    async def resolves_here(self, host: str, port: int) -> bool:
        """Whether any address `host` resolves to is this machine's (failures: no)."""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return False
        for *_, sockaddr in infos:
            ip = ip_of(str(sockaddr[0]))
            if ip is not None and is_local_ip(ip):
                return True
        return False

    # --- hooks ----------------------------------------------------------------------------

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._check(flow)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        self._check(flow)

    def request(self, flow: http.HTTPFlow) -> None:
        self._check(flow)

    async def server_connect(self, data: ServerConnectionHookData) -> None:
        """The backstop: no connection to our listeners, whatever the flow type or DNS says."""
        if data.server.address is None or data.server.error:
            return
        host, port = str(data.server.address[0]), int(data.server.address[1])
        listener = self.listeners().get(port)
        if listener is None:
            return
        if self.is_this_host(host) or await self.resolves_here(host, port):
            data.server.error = _refusal(listener, host, port)
            self._warn(_client_host(data.client.peername), listener, host, port)

    def _check(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None or flow.error is not None or not flow.live:
            return
        host, port = flow.request.host, flow.request.port
        listener = self.own_listener(host, port)
        if listener is None:
            return
        flow.metadata[META_GUARDED] = listener
        flow.response = http.Response.make(
            403,
            _refusal(listener, host, port) + "\n",
            {"Content-Type": "text/plain; charset=utf-8"},
        )
        self._warn(_client_host(flow.client_conn.peername), listener, host, port)

    def _warn(self, client: str, listener: str, host: str, port: int) -> None:
        """WARNING the first time a client is refused, DEBUG after that."""
        level = logging.DEBUG if client in self.warned else logging.WARNING
        if level == logging.WARNING:
            if len(self.warned) >= WARNED_MAX:
                self.warned.clear()
            self.warned.add(client)
        log.log(
            level,
            "refused a proxied connection from %s to %s:%d, the daemon's own %s listener "
            "(further refusals for this client are logged at debug level)",
            client,
            host,
            port,
            listener,
        )


def _normal(host: str) -> str:
    return host.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()


def _client_host(peername: tuple[str, int] | None) -> str:
    return str(peername[0]) if peername else "unknown client"


def _refusal(listener: str, host: str, port: int) -> str:
    return (
        f"zerogravity-proxy refuses to proxy a connection to {host}:{port}: that is its own "
        f"{listener} listener. Connect to it directly."
    )
