"""The stand-in language server: a Connect (JSON) API over HTTPS, plus test hooks.

standin = LanguageServerStandIn(proxy="http://127.0.0.1:8080", ca_file=ca)
port = await standin.start()
...
await standin.stop()
"""

from __future__ import annotations

import asyncio
import hmac
import ssl
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from .config import DEFAULT_CLOUDCODE_HOST, StandInConfig, Wire, local_now
from .envelope import DEFAULT_PROJECT, session_id_for
from .grpc_wire import GrpcGeneration
from .state import CANCELLED, JSON, RUNNING, Cascade, Turn
from .tls import client_context, self_signed_certificate, server_context
from .turn import TurnRunner
from .upstream import Upstream

SERVICE = "exa.language_server_pb.LanguageServerService"
CSRF_HEADER = "x-codeium-csrf-token"

_HTTP_STATUS = {
    "canceled": 499,
    "unknown": 500,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "unauthenticated": 401,
}


class ConnectError(Exception):
    """A Connect error: `{"code", "message"}` with the code's HTTP status (or `status`)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else _HTTP_STATUS[code]

    def response(self) -> web.Response:
        body = orjson.dumps({"code": self.code, "message": self.message})
        return web.Response(status=self.status, body=body, content_type="application/json")


Handler = Callable[[JSON], Awaitable[JSON]]


class LanguageServerStandIn:
    """An in-process stand-in for the Antigravity language server.

    `proxy`: HTTP proxy URL for Cloud Code calls (None: connect directly). `ca_file`: CA bundle
    that verifies Cloud Code's TLS (the proxy's CA; None: the system store). `cloudcode_host`:
    the Cloud Code host; `cloudcode_url` overrides the whole base URL (e.g. a plain-HTTP
    simulator). `host`/`port`: where the API listens (0: any free port). `csrf_token`: fixed
    token (None: a random one). `parallel_followup`: every turn fires one extra concurrent
    request. `turn_timeout`: seconds one Cloud Code request may take before the turn is hung.
    `accept_gzip`: send `Accept-Encoding: gzip` as Go's HTTP client does. `wire`: `json`
    (Cloud Code over HTTPS) or `grpc` (each turn is one public-API `StreamGenerateContent`
    call with Google's gRPC client, which reads its proxy and CA from the environment, see
    `grpc_wire.grpc_environment`; `proxy`, `ca_file` and `parallel_followup` do not apply).
    """

    def __init__(
        self,
        *,
        proxy: str | None = None,
        ca_file: str | Path | None = None,
        cloudcode_host: str = DEFAULT_CLOUDCODE_HOST,
        cloudcode_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        csrf_token: str | None = None,
        project: str = DEFAULT_PROJECT,
        parallel_followup: bool = False,
        turn_timeout: float = 30.0,
        accept_gzip: bool = True,
        max_tool_rounds: int = 8,
        wire: Wire = "json",
        clock: Callable[[], datetime] = local_now,
    ) -> None:
        self.config = StandInConfig(
            proxy=proxy,
            ca_file=ca_file,
            cloudcode_host=cloudcode_host,
            cloudcode_url=cloudcode_url,
            project=project,
            parallel_followup=parallel_followup,
            turn_timeout=turn_timeout,
            accept_gzip=accept_gzip,
            max_tool_rounds=max_tool_rounds,
            wire=wire,
            clock=clock,
        )
        self.host = host
        self.port = port
        self.csrf_token = csrf_token or str(uuid.uuid4())
        self.cert_pem, self._key_pem = self_signed_certificate()
        self.cascades: dict[str, Cascade] = {}
        self.upstream = Upstream(self.config)
        self.grpc = GrpcGeneration(self.config) if wire == "grpc" else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Handler] = {
            "StartCascade": self._start_cascade,
            "SendUserCascadeMessage": self._send_message,
            "CancelCascadeInvocation": self._cancel,
            "GetCascadeTrajectorySteps": self._get_steps,
            "GetUnleashData": self._empty,
            "Heartbeat": self._empty,
        }

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> int:
        """Listen on HTTPS; returns the bound port."""
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        await self.upstream.open()
        if self.grpc is not None:
            await self.grpc.open()
        runner = web.AppRunner(self._app(), handler_cancellation=True, access_log=None)
        await runner.setup()
        try:
            context = server_context(self.cert_pem, self._key_pem)
            await web.TCPSite(runner, self.host, self.port, ssl_context=context).start()
        except BaseException:
            await runner.cleanup()
            await self._close_clients()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        """Cancel running turns, stop listening, close the Cloud Code client."""
        for cascade in self.cascades.values():
            self._cancel_turn(cascade)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._close_clients()

    async def _close_clients(self) -> None:
        await self.upstream.close()
        if self.grpc is not None:
            await self.grpc.close()

    async def __aenter__(self) -> LanguageServerStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- conveniences for in-process tests ------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def client_ssl_context(self) -> ssl.SSLContext:
        """Trusts this stand-in's certificate (and nothing else)."""
        return client_context(self.cert_pem)

    def connect_headers(self, csrf_token: str | None = None) -> dict[str, str]:
        """The headers a Connect JSON call needs."""
        return {
            "Connect-Protocol-Version": "1",
            "Content-Type": "application/json",
            CSRF_HEADER: self.csrf_token if csrf_token is None else csrf_token,
        }

    def snapshot(self) -> JSON:
        """What `GET /_standin/cascades` answers."""
        return {"cascades": [cascade.summary() for cascade in self.cascades.values()]}

    async def wait_settled(self, cascade_id: str, timeout: float = 30.0) -> str:
        """Wait until the cascade's last turn has ended; returns its state."""
        turn = self.cascades[cascade_id].current
        if turn is None:
            return self.cascades[cascade_id].state
        async with asyncio.timeout(timeout):
            await turn.done.wait()
        return turn.state

    # -- Connect methods ------------------------------------------------------------------

    async def _start_cascade(self, body: JSON) -> JSON:
        cascade_id = str(uuid.uuid4())
        self.cascades[cascade_id] = Cascade(
            cascade_id=cascade_id,
            trajectory_id=str(uuid.uuid4()),
            session_id=session_id_for(cascade_id),
        )
        return {"cascadeId": cascade_id}

    async def _send_message(self, body: JSON) -> JSON:
        cascade = self._cascade(body)
        if cascade.state == RUNNING:
            raise ConnectError("failed_precondition", "cascade is already running a turn")
        items = body.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ConnectError("invalid_argument", "items must be a list of objects")
        text = "".join(str(item.get("text", "")) for item in items)
        model = _requested_model(body.get("cascadeConfig"))
        if not model:
            raise ConnectError("invalid_argument", "model not found")
        turn = Turn(index=len(cascade.turns), message_text=text, model_enum=model, parallel=False)
        cascade.turns.append(turn)
        runner = TurnRunner(self.upstream, self.config, cascade, turn, self.grpc)
        task = asyncio.get_running_loop().create_task(runner.run())
        turn.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return {}

    async def _cancel(self, body: JSON) -> JSON:
        self._cancel_turn(self._cascade(body))
        return {}

    async def _get_steps(self, body: JSON) -> JSON:
        return {"steps": self._cascade(body).steps}

    async def _empty(self, body: JSON) -> JSON:
        return {}

    def _cascade(self, body: JSON) -> Cascade:
        cascade_id = body.get("cascadeId")
        cascade = self.cascades.get(cascade_id) if isinstance(cascade_id, str) else None
        if cascade is None:
            raise ConnectError("not_found", f"cascade not found: {cascade_id}")
        return cascade

    @staticmethod
    def _cancel_turn(cascade: Cascade) -> None:
        turn = cascade.current
        if turn is None or not turn.settle(CANCELLED, "cancelled by CancelCascadeInvocation"):
            return
        cascade.mark_cancelled()
        if turn.task is not None:
            turn.task.cancel()

    # -- HTTP -----------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/{SERVICE}/{{method}}", self._connect_call)
        app.router.add_get("/_standin/cascades", self._hook_cascades)
        app.router.add_get("/_standin/cascades/{cascade_id}", self._hook_cascade)
        app.router.add_get("/_standin/responses/{cascade_id}", self._hook_responses)
        return app

    async def _connect_call(self, request: web.Request) -> web.StreamResponse:
        try:
            handler = self._check(request)
            body = await _json_body(request)
            answer = await handler(body)
        except ConnectError as exc:
            return exc.response()
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    def _check(self, request: web.Request) -> Handler:
        """CSRF token, then method, then the Connect headers."""
        token = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(token.encode(), self.csrf_token.encode()):
            raise ConnectError("unauthenticated", "missing or invalid CSRF token")
        method = request.match_info["method"]
        handler = self._methods.get(method)
        if handler is None:
            raise ConnectError("unimplemented", f"{SERVICE}/{method} is not implemented", 404)
        if request.headers.get("Connect-Protocol-Version") != "1":
            raise ConnectError(
                "invalid_argument",
                'missing required header: set Connect-Protocol-Version to "1"',
            )
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise ConnectError(
                "invalid_argument", f"unsupported content type {content_type!r}", 415
            )
        return handler

    async def _hook_cascades(self, request: web.Request) -> web.StreamResponse:
        return _json(self.snapshot())

    async def _hook_cascade(self, request: web.Request) -> web.StreamResponse:
        cascade = self.cascades.get(request.match_info["cascade_id"])
        if cascade is None:
            return _json({"error": "unknown cascade"}, 404)
        return _json(cascade.summary())

    async def _hook_responses(self, request: web.Request) -> web.StreamResponse:
        cascade = self.cascades.get(request.match_info["cascade_id"])
        if cascade is None:
            return _json({"error": "unknown cascade"}, 404)
        return _json(cascade.raw())


def _requested_model(config: Any) -> str | None:
    """`cascadeConfig.plannerConfig.requestedModel.model`, or the older `planModel`."""
    planner = config.get("plannerConfig") if isinstance(config, dict) else None
    if not isinstance(planner, dict):
        return None
    requested = planner.get("requestedModel")
    model = requested.get("model") if isinstance(requested, dict) else planner.get("planModel")
    return model if isinstance(model, str) and model else None


async def _json_body(request: web.Request) -> JSON:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ConnectError("invalid_argument", f"unmarshal message: {exc}") from None
    if not isinstance(body, dict):
        raise ConnectError("invalid_argument", "unmarshal message: not a JSON object")
    return body


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(value), content_type="application/json")
