"""A client for the language server's local API: Connect protocol v1, unary, JSON bodies.

The LS serves `exa.language_server_pb.LanguageServerService` over HTTPS on loopback, with a
certificate it generates itself, and accepts a call only with the CSRF token it was started with
(`--csrf_token`) in `x-codeium-csrf-token`. Both the port and the token change every launch.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

SERVICE = "exa.language_server_pb.LanguageServerService"
# StartCascade's `source`: the value the IDE's agent panel sends (antigravity.md 2.2).
CASCADE_SOURCE = 12
# Codes of errors the LS's callers act on that are not Connect codes; see LanguageServerError.
UNREACHABLE = "unreachable"
INVALID_RESPONSE = "invalid_response"
NOT_LOOPBACK = "not_loopback"
_AUTH_CODES = frozenset({"unauthenticated", "permission_denied", "http_401", "http_403"})
_EXCERPT = 200


@dataclass(slots=True)
class LanguageServerError(Exception):
    """A call to the LS failed, or there is no LS to call.

    `code` is the Connect error code the LS sent (`unimplemented`, `unauthenticated`, ...), or
    `unreachable` (refused, reset, TLS failure, timeout), `http_<status>` (a non-200 without a
    Connect error body), `invalid_response` (a 200 whose body is not the expected JSON),
    `not_loopback` (a non-local host, refused) or `not_found` (discovery found no LS).
    """

    code: str
    message: str
    status: int | None = None  # the HTTP status, when the LS answered

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    csrf_token: str = field(repr=False)  # a credential: keep it out of logs and reprs

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@functools.cache
def _loopback_tls() -> ssl.SSLContext:
    """TLS that does not verify the peer: loopback only; the CSRF token is the authentication.

    The LS's certificate is self-signed, different per install and issued by no CA we could pin,
    so verifying it is impossible; the connection never leaves the machine (see `is_loopback`).
    Built once because contexts are costly and aiohttp caches connections per context.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class LanguageServerClient:
    """Calls the LS's Connect methods; every failure is a LanguageServerError."""

    def __init__(
        self,
        endpoint: Endpoint,
        session: aiohttp.ClientSession,
        *,
        timeout: float = 10,
        allow_remote: bool = False,
    ) -> None:
        # The token would travel unverified TLS: only the local machine may see it, unless the
        # caller knows the network in between is private (e.g. a sibling container's LS).
        if not allow_remote and not is_loopback(endpoint.host):
            raise LanguageServerError(
                NOT_LOOPBACK,
                f"{endpoint.host!r} is not a loopback address; the language server's API is "
                "local only (its certificate cannot be verified and its CSRF token is the only "
                "authentication)",
            )
        self.endpoint = endpoint
        self.timeout = timeout
        self._session = session
        self._base = f"https://{endpoint.address}/{SERVICE}/"
        self._headers = {
            "Content-Type": "application/json",
            "Connect-Protocol-Version": "1",
            "x-codeium-csrf-token": endpoint.csrf_token,
        }

    async def call(self, method: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """One unary call: the response message, or a LanguageServerError."""
        where = self.endpoint.address
        try:
            async with self._session.post(
                self._base + method,
                data=orjson.dumps(body),
                headers=self._headers,
                ssl=_loopback_tls(),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                allow_redirects=False,  # a redirect would carry the CSRF token elsewhere
            ) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError as e:  # before ClientError: aiohttp's timeouts are both
            raise LanguageServerError(
                UNREACHABLE, f"{method}: no answer from {where} within {self.timeout:g}s"
            ) from e
        except (aiohttp.ClientError, OSError) as e:
            raise LanguageServerError(
                UNREACHABLE, f"{method}: cannot reach {where}: {_describe(e)}"
            ) from e
        if status != 200:
            raise _error_from(method, status, raw)
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            message = None
        if not isinstance(message, dict):
            raise LanguageServerError(
                INVALID_RESPONSE, f"{method}: not a JSON object: {_excerpt(raw)}", status
            )
        return message

    async def probe(self) -> None:
        """Return if the LS answers an authenticated call; raise LanguageServerError if not.

        GetUnleashData is what the IDE's tooling probes with; Heartbeat is the fallback in case a
        release drops or changes it. An unreachable LS or a rejected token is not retried: the
        second method would fail the same way.
        """
        try:
            await self.call("GetUnleashData", {})
            return
        except LanguageServerError as e:
            if e.code == UNREACHABLE:
                raise
            if e.code in _AUTH_CODES:
                raise LanguageServerError(
                    e.code, f"{e.message} (is the CSRF token right?)", e.status
                ) from e
            first = e
        try:
            await self.call("Heartbeat", {})
        except LanguageServerError as e:
            raise LanguageServerError(e.code, f"{first.message}; then {e.message}", e.status) from e

    async def start_cascade(self) -> str:
        """A new cascade (conversation) on the LS; its id."""
        response = await self.call("StartCascade", {"source": CASCADE_SOURCE})
        cascade_id = response.get("cascadeId")
        if not isinstance(cascade_id, str) or not cascade_id:
            raise LanguageServerError(
                INVALID_RESPONSE,
                f"StartCascade: no cascadeId in {_excerpt(orjson.dumps(response))}",
            )
        return cascade_id

    async def send_message(self, cascade_id: str, text: str, model_enum: str) -> None:
        """Send a user message; the LS answers at once and works on it in the background.

        `model_enum` is the LS's own model id (`MODEL_PLACEHOLDER_M18`, ...): without one in
        cascadeConfig the LS fails the turn with "model not found".
        """
        await self.call(
            "SendUserCascadeMessage",
            {
                "cascadeId": cascade_id,
                "items": [{"text": text}],
                "cascadeConfig": {"plannerConfig": {"requestedModel": {"model": model_enum}}},
            },
        )

    async def cancel(self, cascade_id: str) -> None:
        """Stop the cascade's running turn, so the LS stops calling the upstream for it."""
        await self.call("CancelCascadeInvocation", {"cascadeId": cascade_id})

    async def trajectory_steps(
        self, cascade_id: str, *, step_offset: int = 0
    ) -> list[dict[str, Any]]:
        """The cascade's steps (from `step_offset` on). Protobuf's JSON omits empty lists."""
        body: dict[str, Any] = {"cascadeId": cascade_id}
        if step_offset:
            body["stepOffset"] = step_offset
        steps = (await self.call("GetCascadeTrajectorySteps", body)).get("steps", [])
        if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
            raise LanguageServerError(
                INVALID_RESPONSE, "GetCascadeTrajectorySteps: steps is not a list of objects"
            )
        return steps


def _error_from(method: str, status: int, raw: bytes) -> LanguageServerError:
    """A Connect error body (`{"code", "message"}`) gives the code; anything else the status."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"]:
        message = body.get("message")
        text = message if isinstance(message, str) and message else f"HTTP {status}"
        return LanguageServerError(body["code"], f"{method}: {text}", status)
    detail = _excerpt(raw) or "(empty body)"
    return LanguageServerError(f"http_{status}", f"{method}: HTTP {status}: {detail}", status)


def _describe(error: BaseException) -> str:
    """The cause without aiohttp's connection-key noise (it prints the SSL context's repr)."""
    if isinstance(error, aiohttp.ClientConnectorError):
        cause = error.os_error
        if isinstance(cause, ssl.SSLError):  # e.g. a plain-HTTP server on that port
            return f"TLS handshake failed: {cause}"
        if cause.errno:
            return os.strerror(cause.errno)
        return str(cause) or type(cause).__name__
    return str(error) or type(error).__name__


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"
