"""The aiohttp shell around the planner: routes, auth, the request log, and real streaming.

Every chunk is its own write (a chunked-encoding chunk; with gzip, its own Z_SYNC_FLUSH), so a
client sees tokens as they are "generated". Nothing here decides what to answer.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from . import catalog, errors
from .behaviour import plan_request, prompt_tokens, unwrap_envelope
from .normalize import normalize
from .plan import JSON, ErrorReply, Flavour, Framing, Plan
from .signatures import DEFAULT_KEY, SignatureAuthority
from .validate import validate_request
from .wire import GzipStream, error_body, gzip_whole, stream_bytes, unary_body

JSON_TYPE = "application/json; charset=UTF-8"
SSE_TYPE = "text/event-stream"
_REDACTED_HEADERS = frozenset({"authorization", "x-goog-api-key", "cookie", "proxy-authorization"})
_REDACTED_QUERY = frozenset({"key", "access_token"})
_GENERATE = frozenset({"generateContent", "streamGenerateContent"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Knobs for one simulator instance; the defaults imitate Google."""

    signature_key: bytes = DEFAULT_KEY
    gemini_sse_newline: str = "\r\n"
    cloudcode_sse_newline: str = "\n"
    request_log_size: int = 1000
    client_max_size: int = 32 * 1024 * 1024
    shutdown_timeout: float = 1.0
    clock: Callable[[], datetime] = field(default=_utc_now)


class RequestLog:
    """The last N requests, oldest first, with credentials replaced by "present"."""

    def __init__(self, size: int) -> None:
        self._entries: deque[JSON] = deque(maxlen=size)

    def record(self, request: web.Request, body: Any) -> JSON:
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            shown = "present" if key in _REDACTED_HEADERS else value
            headers[key] = f"{headers[key]}, {shown}" if key in headers else shown
        query = {
            key: "present" if key in _REDACTED_QUERY else value
            for key, value in request.query.items()
        }
        entry: JSON = {
            "method": request.method,
            "path": request.path,
            "query": query,
            "headers": headers,
            "body": body,
            "model": None,
            "status": None,
            "signatures": [],
            "signatures_enforced": False,
        }
        self._entries.append(entry)
        return entry

    def entries(self) -> list[JSON]:
        return list(self._entries)

    def clear(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count


CONFIG = web.AppKey("zg_sim_config", SimConfig)
REQUEST_LOG = web.AppKey("zg_sim_request_log", RequestLog)
AUTHORITY = web.AppKey("zg_sim_signatures", SignatureAuthority)


def create_app(config: SimConfig | None = None) -> web.Application:
    """The simulator as an aiohttp application (run it with `Simulator` or any runner)."""
    config = config or SimConfig()
    app = web.Application(client_max_size=config.client_max_size)
    app[CONFIG] = config
    app[REQUEST_LOG] = RequestLog(config.request_log_size)
    app[AUTHORITY] = SignatureAuthority(config.signature_key)
    for version in ("v1beta", "v1"):
        app.router.add_get(f"/{version}/models", list_models)
        app.router.add_get(f"/{version}/models/{{model}}", get_model)
        app.router.add_post(f"/{version}/models/{{target}}", gemini_call)
    app.router.add_post("/v1internal:{method}", cloud_code_call)
    app.router.add_get("/_sim/requests", read_log)
    app.router.add_delete("/_sim/requests", clear_log)
    return app


_UNPARSEABLE = object()


@dataclass(slots=True)
class _Exchange:
    """One request being answered: where its log entry is and how its body must be laid out."""

    request: web.Request
    flavour: Flavour
    framing: Framing
    entry: JSON
    body: Any
    trace_id: str

    @classmethod
    async def open(cls, request: web.Request, flavour: Flavour, framing: Framing) -> _Exchange:
        raw = await request.read()
        try:
            body: Any = orjson.loads(raw) if raw.strip() else None
        except orjson.JSONDecodeError:
            body = _UNPARSEABLE
        entry = request.app[REQUEST_LOG].record(request, None if body is _UNPARSEABLE else body)
        trace = hashlib.sha256(raw).hexdigest()[:16]
        return cls(request, flavour, framing, entry, body, trace)

    @property
    def parsed(self) -> bool:
        return self.body is not _UNPARSEABLE

    @property
    def payload(self) -> Any:
        """The parsed body; an empty body reads as `{}`, as Google's JSON parser treats it."""
        return {} if self.body is None else self.body

    def headers(self, content_type: str, gzipped: bool) -> dict[str, str]:
        """Google front-end headers (ESF), plus Cloud Code's trace id header."""
        headers = {
            "Content-Type": content_type,
            "Server": "ESF",
            "X-XSS-Protection": "0",
            "X-Frame-Options": "SAMEORIGIN",
            "X-Content-Type-Options": "nosniff",
            "Vary": "Origin, X-Origin, Referer",
            "Server-Timing": f"gfet4t7; dur={100 + int(self.trace_id[:4], 16) % 900}",
        }
        if self.flavour is Flavour.CLOUD_CODE:
            headers["X-Cloudaicompanion-Trace-Id"] = self.trace_id
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return headers

    def wants_gzip(self) -> bool:
        for item in self.request.headers.get("Accept-Encoding", "").split(","):
            coding, _, params = item.strip().partition(";")
            if coding.strip().lower() in ("gzip", "*") and params.replace(" ", "") != "q=0":
                return True
        return False


async def list_models(request: web.Request) -> web.StreamResponse:
    exchange = await _Exchange.open(request, Flavour.GEMINI, Framing.UNARY)
    if not _has_api_key(request):
        return await _send_error(exchange, errors.missing_api_key())
    return await _send_json(exchange, catalog.gemini_models())


async def get_model(request: web.Request) -> web.StreamResponse:
    exchange = await _Exchange.open(request, Flavour.GEMINI, Framing.UNARY)
    if not _has_api_key(request):
        return await _send_error(exchange, errors.missing_api_key())
    model = request.match_info["model"]
    for model_id, display in catalog.GEMINI_MODELS:
        if model_id == model:
            return await _send_json(exchange, catalog.gemini_model(model_id, display))
    return await _send_error(exchange, errors.not_found(f"models/{model} is not found."))


async def gemini_call(request: web.Request) -> web.StreamResponse:
    """`POST /v1beta/models/{model}:{generateContent|streamGenerateContent|countTokens}`."""
    model, _, method = request.match_info["target"].rpartition(":")
    framing = _framing(method, request.query.get("alt"))
    exchange = await _Exchange.open(request, Flavour.GEMINI, framing)
    exchange.entry["model"] = model
    if not _has_api_key(request):
        return await _send_error(exchange, errors.missing_api_key())
    if not model or method not in (*_GENERATE, "countTokens"):
        return await _send_error(exchange, errors.not_found("Method not found."))
    if not exchange.parsed:
        return await _send_error(exchange, errors.invalid_json())
    body = exchange.payload
    if method == "countTokens":
        inner = body.get("generateContentRequest", body) if isinstance(body, dict) else body
        return await _count_tokens(exchange, inner, details=True)
    plan = plan_request(body, model, Flavour.GEMINI, request.app[AUTHORITY])
    return await _send_plan(exchange, plan)


async def cloud_code_call(request: web.Request) -> web.StreamResponse:
    """`POST /v1internal:{method}`: generation in the envelope, or a housekeeping call."""
    method = request.match_info["method"]
    exchange = await _Exchange.open(
        request, Flavour.CLOUD_CODE, _framing(method, request.query.get("alt"))
    )
    if not _has_bearer(request):
        return await _send_error(exchange, errors.missing_credentials(method))
    if not exchange.parsed:
        return await _send_error(exchange, errors.invalid_json())
    if method in _GENERATE:
        unwrapped = unwrap_envelope(exchange.payload)
        if isinstance(unwrapped, ErrorReply):
            return await _send_error(exchange, unwrapped)
        model, inner = unwrapped
        exchange.entry["model"] = model
        plan = plan_request(inner, model, Flavour.CLOUD_CODE, request.app[AUTHORITY])
        return await _send_plan(exchange, plan)
    if method == "countTokens":
        body = exchange.payload
        return await _count_tokens(
            exchange, body.get("request") if isinstance(body, dict) else body
        )
    housekeeping = _HOUSEKEEPING.get(method)
    if housekeeping is None:
        return await _send_error(exchange, errors.not_found("Method not found."))
    return await _send_json(exchange, housekeeping(request.app[CONFIG]))


_HOUSEKEEPING: dict[str, Callable[[SimConfig], JSON]] = {
    "loadCodeAssist": lambda _: catalog.load_code_assist(),
    "onboardUser": lambda _: catalog.onboard_user(),
    "fetchAvailableModels": lambda config: catalog.available_models(config.clock()),
    "fetchUserInfo": lambda _: catalog.user_info(),
    "recordCodeAssistMetrics": lambda _: {},
}


async def read_log(request: web.Request) -> web.StreamResponse:
    entries = request.app[REQUEST_LOG].entries()
    return web.Response(body=orjson.dumps(entries), content_type="application/json")


async def clear_log(request: web.Request) -> web.StreamResponse:
    cleared = request.app[REQUEST_LOG].clear()
    return web.Response(body=orjson.dumps({"cleared": cleared}), content_type="application/json")


def _framing(method: str, alt: str | None) -> Framing:
    if method != "streamGenerateContent":
        return Framing.UNARY
    return Framing.SSE if alt == "sse" else Framing.JSON_ARRAY


def _has_bearer(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def _has_api_key(request: web.Request) -> bool:
    key = request.headers.get("x-goog-api-key") or request.query.get("key")
    return bool(key) or _has_bearer(request)


async def _count_tokens(
    exchange: _Exchange, inner: Any, *, details: bool = False
) -> web.StreamResponse:
    contents = inner.get("contents") if isinstance(inner, dict) else None
    request: JSON = normalize({"contents": contents})
    invalid = validate_request(request, Flavour.GEMINI)
    if invalid is not None:
        return await _send_error(exchange, invalid)
    total = prompt_tokens(request)
    answer: JSON = {"totalTokens": total}
    if details:
        answer["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": total}]
    return await _send_json(exchange, answer)


async def _send_plan(exchange: _Exchange, plan: Plan) -> web.StreamResponse:
    exchange.trace_id = plan.trace_id
    exchange.entry["signatures"] = [check.as_json() for check in plan.signatures]
    exchange.entry["signatures_enforced"] = plan.signatures_enforced
    gzipped = plan.pacing.gzip or exchange.wants_gzip()
    if plan.error is not None:
        return await _send_error(exchange, plan.error, gzipped)
    if exchange.framing is not Framing.UNARY:
        return await _send_stream(exchange, plan, gzipped)
    await _think(plan)
    if plan.midstream_error is not None:
        failure = ErrorReply(
            int(plan.midstream_error["error"]["code"]), plan.midstream_error["error"]
        )
        return await _send_error(exchange, failure, gzipped)
    body = unary_body(plan, exchange.flavour)
    cut = plan.pacing.cut is not None
    return await _send_whole(exchange, 200, body, JSON_TYPE, gzipped, cut=cut)


async def _think(plan: Plan) -> None:
    """A unary answer takes as long as its stream would (stall and delays included)."""
    wait = plan.pacing.stall + plan.pacing.delay * max(0, len(plan.chunks) - 1)
    if wait:
        await asyncio.sleep(wait)


async def _send_json(exchange: _Exchange, answer: JSON) -> web.StreamResponse:
    body = orjson.dumps(answer)
    return await _send_whole(exchange, 200, body, JSON_TYPE, exchange.wants_gzip())


async def _send_error(
    exchange: _Exchange, reply: ErrorReply, gzipped: bool | None = None
) -> web.StreamResponse:
    """Errors are plain JSON; on Cloud Code's SSE endpoint still labelled text/event-stream."""
    if exchange.framing is Framing.JSON_ARRAY:
        reply = replace(reply, array_wrapped=True)
    sse = exchange.flavour is Flavour.CLOUD_CODE and exchange.framing is Framing.SSE
    content_type = SSE_TYPE if sse else JSON_TYPE
    gzipped = exchange.wants_gzip() if gzipped is None else gzipped
    return await _send_whole(exchange, reply.status, error_body(reply), content_type, gzipped)


async def _send_whole(
    exchange: _Exchange,
    status: int,
    body: bytes,
    content_type: str,
    gzipped: bool,
    *,
    cut: bool = False,
) -> web.StreamResponse:
    """A body with a Content-Length; `cut` sends half of it and hangs up."""
    exchange.entry["status"] = status
    exchange.entry["response_sha256"] = hashlib.sha256(body).hexdigest()
    if gzipped:
        body = gzip_whole(body)
    # What went on the wire, so tests can prove a proxy passed it on byte for byte.
    exchange.entry["wire_sha256"] = hashlib.sha256(body).hexdigest()
    headers = exchange.headers(content_type, gzipped)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    if not cut:
        return web.Response(status=status, body=body, headers=headers)
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = len(body)
    await response.prepare(exchange.request)
    await response.write(body[: len(body) // 2])
    _hang_up(exchange.request)
    return response


async def _send_stream(exchange: _Exchange, plan: Plan, gzipped: bool) -> web.StreamResponse:
    config = exchange.request.app[CONFIG]
    gemini = exchange.flavour is Flavour.GEMINI
    newline = config.gemini_sse_newline if gemini else config.cloudcode_sse_newline
    stream = stream_bytes(plan, exchange.flavour, exchange.framing, newline)
    content_type = SSE_TYPE if exchange.framing is Framing.SSE else JSON_TYPE
    exchange.entry.update(status=200, frames_sent=0, completed=False)
    response = web.StreamResponse(status=200, headers=exchange.headers(content_type, gzipped))
    await response.prepare(exchange.request)
    await response.write(b"")  # the status line and headers go out before the first chunk
    encoder = GzipStream() if gzipped else None
    encode: Callable[[bytes], bytes] = encoder.feed if encoder else _identity
    await _write_paced(response, [encode(frame) for frame in stream.frames], plan, exchange.entry)
    if plan.pacing.cut is not None:
        _hang_up(exchange.request)
        return response
    await response.write_eof(encoder.finish(stream.tail) if encoder else stream.tail)
    exchange.entry["completed"] = True
    return response


async def _write_paced(
    response: web.StreamResponse, frames: list[bytes], plan: Plan, entry: JSON
) -> None:
    """Write frames with the plan's pacing; the log entry shows how far a stream got."""
    pacing = plan.pacing
    for index, frame in enumerate(frames):
        if index and pacing.delay:
            await asyncio.sleep(pacing.delay)
        await response.write(frame)
        entry["frames_sent"] = index + 1
        if index == 0 and pacing.stall:
            await asyncio.sleep(pacing.stall)


def _identity(frame: bytes) -> bytes:
    return frame


def _hang_up(request: web.Request) -> None:
    """Close the connection after what was written: the client sees a truncated body."""
    transport = request.transport
    if transport is not None:
        transport.close()
