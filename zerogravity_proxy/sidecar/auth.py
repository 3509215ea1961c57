"""Who may use the sidecar: API keys (Authorization: Bearer), or loopback peers when none are set.

A bearer key is required even on loopback: the proxy shares the host, so a proxy client could
otherwise tunnel to the sidecar (CVE-2025-23217, mitmweb). Keys are never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import socket
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.settings import Settings, SettingsError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The default keys file, relative to systemd's $CREDENTIALS_DIRECTORY (LoadCredential=api-keys).
CREDENTIAL_NAME = "api-keys"

MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
INCORRECT_KEY = "Incorrect API key provided."
LOOPBACK_ONLY = (
    "This proxy serves loopback clients only: no API keys are configured (set api_keys or "
    "api_keys_file to serve other clients)."
)

_KEY_CHARS = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: sendable as a bearer token
_LEGACY_IPV4 = re.compile(r"[0-9a-fA-FxX.]+")  # 127.1, 0x7f.0.0.1, 2130706433: inet_aton forms


def load_api_keys(settings: Settings, environ: Mapping[str, str]) -> frozenset[str]:
    """The accepted keys: `settings.api_keys` plus the keys file's non-empty, non-`#` lines.

    A configured `api_keys_file` must be readable; the default ($CREDENTIALS_DIRECTORY/api-keys)
    is read only if it exists. Raises SettingsError (a ValueError) naming the file and line,
    never the key.
    """
    keys = set(_checked(settings.api_keys, "api_keys: entry"))
    path = api_keys_path(settings, environ)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
            raise SettingsError(f"api_keys_file: cannot read {path}: {reason}") from None
        keys.update(_checked(text.splitlines(), f"api_keys_file {path}: line"))
    return frozenset(keys)


def api_keys_path(settings: Settings, environ: Mapping[str, str]) -> Path | None:
    """The keys file to read: api_keys_file, else the credential file if it exists, else None."""
    if settings.api_keys_file:
        return Path(settings.api_keys_file).expanduser()
    if credentials := environ.get("CREDENTIALS_DIRECTORY"):
        default = Path(credentials) / CREDENTIAL_NAME
        if default.exists():  # optional: a missing default file is no error
            return default
    return None


def _checked(lines: Iterable[str], where: str) -> list[str]:
    keys = []
    for number, line in enumerate(lines, 1):
        key = line.strip()
        if not key or key.startswith("#"):
            continue
        if not _KEY_CHARS.fullmatch(key):
            raise SettingsError(
                f"{where} {number} is not a usable API key "
                "(printable ASCII without spaces, one per line)"
            )
        keys.append(key)
    return keys


def ip_of(host: str) -> IPAddress | None:
    """The IP address `host` spells, or None for a name.

    Accepts `[v6]`, zone ids and the legacy IPv4 forms connect() accepts (`127.1`, `0x7f.1`,
    `2130706433`).
    """
    host = host.strip().removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            pass
    return None


def _plain(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it carries."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`; False for anything else."""
    if not host:
        return False
    if host.strip().rstrip(".").lower() == "localhost":
        return True
    ip = ip_of(host)
    return ip is not None and _plain(ip).is_loopback


def check_bind(settings: Settings, keys: Collection[str]) -> None:
    """Refuse (SettingsError) a non-loopback sidecar_host when no API keys are configured."""
    if keys or is_loopback(settings.sidecar_host):
        return
    host = settings.sidecar_host or "all interfaces"
    raise SettingsError(
        f"sidecar_host: {host} is not a loopback address, and no API keys are configured. "
        "Set api_keys or api_keys_file (or $CREDENTIALS_DIRECTORY/api-keys) to serve other "
        "hosts, or listen on 127.0.0.1."
    )


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    parts = (header or "").split(None, 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1].strip() or None


def _unauthorized(message: str, code: str | None) -> web.Response:
    error = OpenAIError(401, message, "invalid_request_error", code)
    return web.Response(
        status=401,
        body=orjson.dumps(error.body()),
        content_type="application/json",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_api_key(
    keys: Collection[str], public_paths: Collection[str], *, loopback_only: bool
) -> Middleware:
    """An aiohttp middleware: requests to paths outside `public_paths` need an accepted key.

    With keys, `Authorization: Bearer <key>` must match one of them. The token's SHA-256 is
    compared with each key's using `hmac.compare_digest`, always against every key (no early
    exit), so timing reveals neither which key nearly matched nor the keys' lengths. Without
    keys and with `loopback_only`, only loopback peers are served; without keys and without
    `loopback_only`, everyone is (for a socket guarded by other means). Refusals are 401 with
    `WWW-Authenticate: Bearer` and OpenAI's error body.
    """
    digests = tuple(_digest(k) for k in keys)
    public = frozenset(public_paths)

    def accepted(token: str) -> bool:
        candidate = _digest(token)
        found = False
        for digest in digests:
            found |= hmac.compare_digest(candidate, digest)
        return found

    @web.middleware
    async def api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in public:
            return await handler(request)
        if digests:
            token = bearer_token(request.headers.get("Authorization"))
            if token is None:
                reason, response = "no API key", _unauthorized(MISSING_KEY, None)
            elif not accepted(token):
                reason, response = (
                    "incorrect API key",
                    _unauthorized(INCORRECT_KEY, "invalid_api_key"),
                )
            else:
                return await handler(request)
        elif not loopback_only or is_loopback(request.remote):
            return await handler(request)
        else:
            reason, response = "non-loopback peer", _unauthorized(LOOPBACK_ONLY, "invalid_api_key")
        log.info("%s %s from %s -> 401 (%s)", request.method, request.path, request.remote, reason)
        return response

    return api_key
