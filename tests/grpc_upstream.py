"""A stand-in for Google's gRPC front end (generativelanguage.googleapis.com) that plays the
simulator: the same plans as the HTTP simulator, delivered as gRPC messages and statuses.

A grpcio server on 127.0.0.1 with TLS (a fresh self-signed certificate; grpcio negotiates h2 by
ALPN) serves `google.ai.generativelanguage.{v1beta,v1}.GenerativeService` through generic
handlers whose (de)serializers are the identity, so the bytes are ours: requests are decoded
with our generated `GenerateContentRequest` into the REST body (`protojson.request_to_json`),
planned by `simulator.behaviour.plan_request` exactly as the REST simulator plans them, and
every planned chunk goes out as one `GenerateContentResponse` (`protojson.response_from_json`).

- `StreamGenerateContent` sends the chunks one message each; `GenerateContent` sends the
  chunks folded into one response as Google's unary answer is (`simulator.wire.fold`), after
  as long as the stream would have taken; `CountTokens` answers the simulator's prompt token
  estimate (`behaviour.prompt_tokens`), like the REST simulator's countTokens.
- Errors (`plan.error`, and `plan.midstream_error` after the chunks) become a gRPC status the
  way Google's gRPC front end sends one: the code named by the JSON error's `status`, its
  `message` as grpc-message, and `grpc-status-details-bin` holding a serialized
  `google.rpc.Status` (numeric gRPC code, the same message, every JSON detail packed as an `Any`
  with Google's type URL, `type.googleapis.com/google.rpc.RetryInfo` and so on). Google's
  client checks that the Status code and message match the call's.
- Pacing: `delay` between messages, `stall` after the first. `gzip` turns on grpcio's per-call
  gzip. grpcio hides `grpc-accept-encoding` from the handler (and compresses whatever the client
  advertised), so the directive alone decides.
- `cut=N`: grpcio has no way to reset a stream or drop the connection from a handler (a
  server-side `context.cancel()` still ends the stream with clean `grpc-status: 1` trailers),
  so a cut stream sends its N messages and then ends with status UNAVAILABLE, "Connection
  reset" (a cut unary call too): the status a client's gRPC library reports for a connection
  lost mid-call, though it arrives as clean trailers.
- Calls without `x-goog-api-key` or `authorization: Bearer ...` metadata are refused with
  PERMISSION_DENIED, as Google refuses them (`require_key=False` turns that off).

Every call is logged, thread-safe, as

    {"method": "/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent",
     "metadata": {lowercased key: value} (authorization, x-goog-api-key: "present"),
     "request": <REST dict>, "request_sha256": <sha256 of the raw request message>,
     "model": <without models/>, "sent": [<REST dict of each message sent, in order>],
     "sent_at": [<time.time() as each was handed to grpcio>], "status": "OK" | <code name>,
     "usage": <the last usageMetadata sent>, "error": <the JSON error sent as the status>}
"""

from __future__ import annotations

import base64
import copy
import hashlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent import futures
from pathlib import Path
from types import TracebackType
from typing import Any, Final, NoReturn, Self

import grpc
from google.protobuf import any_pb2, json_format
from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage

from tests.ls_standin.tls import self_signed_certificate
from zerogravity_proxy.gemini import protojson
from zerogravity_proxy.gemini.grpc import GRPC_CODES
from zerogravity_proxy.gemini.pb import generativelanguage_pb2 as pb
from zerogravity_proxy.gemini.pb import rpc_status_pb2
from zerogravity_proxy.simulator import errors as sim_errors
from zerogravity_proxy.simulator.behaviour import plan_request, prompt_tokens
from zerogravity_proxy.simulator.normalize import normalize
from zerogravity_proxy.simulator.plan import JSON, Flavour, Plan
from zerogravity_proxy.simulator.signatures import SignatureAuthority
from zerogravity_proxy.simulator.validate import validate_request
from zerogravity_proxy.simulator.wire import fold

SERVICES: Final = (
    "google.ai.generativelanguage.v1beta.GenerativeService",
    "google.ai.generativelanguage.v1.GenerativeService",
)
DETAILS_KEY: Final = "grpc-status-details-bin"
CUT_MESSAGE: Final = "Connection reset"
_REDACTED: Final = frozenset({"authorization", "x-goog-api-key", "cookie"})
_TYPE_PREFIX: Final = "type.googleapis.com/"

# The google.rpc details our rpc_status.proto mirrors, by their googleapis name.
_DETAIL_TYPES: Final[Mapping[str, type[ProtoMessage]]] = {
    "google.rpc.RetryInfo": rpc_status_pb2.RetryInfo,
    "google.rpc.ErrorInfo": rpc_status_pb2.ErrorInfo,
    "google.rpc.QuotaFailure": rpc_status_pb2.QuotaFailure,
    "google.rpc.BadRequest": rpc_status_pb2.BadRequest,
    "google.rpc.Help": rpc_status_pb2.Help,
    "google.rpc.LocalizedMessage": rpc_status_pb2.LocalizedMessage,
}


class _Aborted(Exception):
    """Raised inside a handler after the status is set: unwinds to grpcio's abort."""


def rpc_status_bytes(error: Mapping[str, Any]) -> tuple[Any, str, bytes]:
    """(grpc.StatusCode, message, serialized google.rpc.Status) for Google's JSON error object.

    The code comes from the error's `status` name, as Google's gRPC front end maps it; the
    numeric code in the Status is the gRPC one (not the HTTP one in `code`).
    """
    name = str(error.get("status") or "UNKNOWN")
    code = grpc.StatusCode[name] if name in GRPC_CODES and name != "OK" else grpc.StatusCode.UNKNOWN
    message = str(error.get("message", ""))
    status = rpc_status_pb2.Status(code=code.value[0], message=message)
    for detail in error.get("details") or ():
        status.details.append(pack_detail(detail))
    return code, message, status.SerializeToString()


def pack_detail(detail: Mapping[str, Any]) -> any_pb2.Any:
    """One JSON error detail (`{"@type": ..., ...}`) as an `Any` with Google's type URL."""
    type_url = str(detail.get("@type", ""))
    kind = _DETAIL_TYPES.get(type_url.removeprefix(_TYPE_PREFIX))
    if kind is None:
        raise ValueError(f"no message for error detail {type_url!r}")
    message = kind()
    fields = {key: value for key, value in detail.items() if key != "@type"}
    json_format.ParseDict(fields, message)
    return any_pb2.Any(type_url=type_url, value=message.SerializeToString())


class _Call:
    """One RPC being answered: its log entry, its metadata and its cancellation."""

    def __init__(self, upstream: GrpcUpstream, method: str, raw: bytes, context: Any) -> None:
        self.context = context
        self._lock = upstream._lock  # entries are read by requests() while calls run
        self.metadata = _metadata(context.invocation_metadata() or ())
        self.done = threading.Event()
        context.add_callback(self.done.set)  # the RPC ended (completed, cancelled, timed out)
        self.entry: JSON = {
            "method": method,
            "metadata": {
                key: "present" if key in _REDACTED else value
                for key, value in self.metadata.items()
            },
            "request": None,
            "request_sha256": hashlib.sha256(raw).hexdigest(),
            "model": None,
            "sent": [],
            "sent_at": [],
            "status": None,
            "usage": None,
            "error": None,
        }
        upstream._record(self.entry)

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.entry.update(fields)

    def authorised(self) -> bool:
        scheme, _, token = self.metadata.get("authorization", "").partition(" ")
        return bool(self.metadata.get("x-goog-api-key")) or (
            scheme.lower() == "bearer" and bool(token.strip())
        )

    def sent(self, message: JSON) -> None:
        """Log a message as it is handed to grpcio (so `sent_at` is never late)."""
        with self._lock:
            self.entry["sent"].append(message)
            self.entry["sent_at"].append(time.time())
            if "usageMetadata" in message:
                self.entry["usage"] = message["usageMetadata"]

    def wait(self, seconds: float) -> None:
        """Sleep, unless the RPC ends first (then stop answering)."""
        if seconds > 0 and self.done.wait(seconds):
            self.update(status="CANCELLED")
            raise _Aborted

    def fail(self, error: Mapping[str, Any]) -> NoReturn:
        """End the call with Google's error (raises, via grpcio's abort)."""
        code, message, details = rpc_status_bytes(error)
        self.update(error=dict(error))
        self.abort(code, message, details)

    def abort(self, code: Any, message: str, details: bytes | None = None) -> NoReturn:
        self.update(status=code.name)
        if details is not None:
            self.context.set_trailing_metadata(((DETAILS_KEY, details),))
        self.context.abort(code, message)  # raises; grpcio sends the status
        raise AssertionError("grpcio's abort returned")

    def ok(self) -> None:
        self.update(status="OK")


def _metadata(items: Sequence[Any]) -> dict[str, str]:
    """Invocation metadata as {lowercased key: value}; binary values base64, repeats joined."""
    out: dict[str, str] = {}
    for item in items:
        key, value = str(item[0]).lower(), item[1]
        text = base64.b64encode(value).decode() if isinstance(value, bytes) else str(value)
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


class GrpcUpstream:
    """The gRPC simulator on 127.0.0.1 (TLS, h2). Use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        authority: SignatureAuthority | None = None,
        require_key: bool = True,
        max_workers: int = 32,
    ) -> None:
        self.authority = authority or SignatureAuthority()
        self.require_key = require_key
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._log: list[JSON] = []
        self._server: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._port = 0
        self._cert_file: Path | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> int:
        """Listen on a free loopback port; return it."""
        if self._server is not None:
            raise RuntimeError("GrpcUpstream already started")
        cert_pem, key_pem = self_signed_certificate()
        self._tmp = tempfile.TemporaryDirectory(prefix="grpc-upstream-")
        self._cert_file = Path(self._tmp.name, "cert.pem")
        self._cert_file.write_bytes(cert_pem)
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=self._max_workers))
        server.add_generic_rpc_handlers(tuple(self._handlers()))
        credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)])
        port: int = server.add_secure_port("127.0.0.1:0", credentials)
        if not port:
            raise RuntimeError("grpcio could not bind a port on 127.0.0.1")
        server.start()
        self._server, self._port = server, port
        return port

    def stop(self, grace: float | None = 0.5) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace).wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("GrpcUpstream not started")
        return self._port

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def cert_file(self) -> Path:
        """The server's certificate (PEM): the one CA a client must trust to reach it."""
        if self._cert_file is None:
            raise RuntimeError("GrpcUpstream not started")
        return self._cert_file

    # --- the log --------------------------------------------------------------------------

    def requests(self) -> list[JSON]:
        """A copy of every call's entry so far, oldest first (calls in progress included)."""
        with self._lock:
            return copy.deepcopy(self._log)

    def clear(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, entry: JSON) -> None:
        with self._lock:
            self._log.append(entry)

    # --- handlers -------------------------------------------------------------------------

    def _handlers(self) -> Iterator[Any]:
        kinds = (
            ("GenerateContent", grpc.unary_unary_rpc_method_handler, self._generate),
            ("StreamGenerateContent", grpc.unary_stream_rpc_method_handler, self._stream),
            ("CountTokens", grpc.unary_unary_rpc_method_handler, self._count_tokens),
        )
        for service in SERVICES:
            methods = {
                name: kind(
                    _bound(handler, f"/{service}/{name}"),
                    request_deserializer=_identity,
                    response_serializer=_identity,
                )
                for name, kind, handler in kinds
            }
            yield grpc.method_handlers_generic_handler(service, methods)

    def _plan(self, call: _Call, raw: bytes) -> Plan:
        """Check the caller and decode the request; plan Google's answer (or fail the call)."""
        if self.require_key and not call.authorised():
            call.fail(sim_errors.missing_api_key().error)
        try:
            request = protojson.request_to_json(raw)
        except protojson.ProtoMappingError as exc:
            call.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid request: {exc}")
        model = str(request.get("model", "")).removeprefix("models/")
        call.update(request=request, model=model)
        body = {key: value for key, value in request.items() if key != "model"}
        plan = plan_request(body, model, Flavour.GEMINI, self.authority)
        if plan.error is not None:
            call.fail(plan.error.error)
        if plan.pacing.gzip:
            call.context.set_compression(grpc.Compression.Gzip)
        return plan

    def _stream(self, method: str, raw: bytes, context: Any) -> Iterator[bytes]:
        call = _Call(self, method, raw, context)
        try:
            plan = self._plan(call, raw)
            pacing = plan.pacing
            for index, chunk in enumerate(plan.chunks):
                if index:
                    call.wait(pacing.delay)
                message = protojson.response_from_json(chunk)
                call.sent(protojson.response_to_json(message))
                yield message
                if index == 0:
                    call.wait(pacing.stall)
            self._end(call, plan)
        except _Aborted:
            return

    def _generate(self, method: str, raw: bytes, context: Any) -> bytes:
        call = _Call(self, method, raw, context)
        try:
            plan = self._plan(call, raw)
            call.wait(plan.pacing.stall + plan.pacing.delay * max(0, len(plan.chunks) - 1))
            if plan.midstream_error is not None:
                call.fail(plan.midstream_error["error"])
            if plan.pacing.cut is not None:
                call.abort(grpc.StatusCode.UNAVAILABLE, CUT_MESSAGE)
            message = protojson.response_from_json(fold(plan.chunks))
            call.sent(protojson.response_to_json(message))
            call.ok()
            return message
        except _Aborted:
            return b""  # the call has ended; grpcio sends nothing

    def _count_tokens(self, method: str, raw: bytes, context: Any) -> bytes:
        call = _Call(self, method, raw, context)
        if self.require_key and not call.authorised():
            call.fail(sim_errors.missing_api_key().error)
        request = pb.CountTokensRequest()
        try:
            request.ParseFromString(raw)
        except DecodeError as exc:
            call.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid request: {exc}")
        body = json_format.MessageToDict(request)
        call.update(request=body, model=str(body.get("model", "")).removeprefix("models/"))
        inner = body.get("generateContentRequest", body)
        contents = normalize({"contents": inner.get("contents")})
        invalid = validate_request(contents, Flavour.GEMINI)
        if invalid is not None:
            call.fail(invalid.error)
        total = prompt_tokens(contents)
        answer = pb.CountTokensResponse(total_tokens=total)
        answer.prompt_tokens_details.add(modality=pb.TEXT, token_count=total)
        call.sent(json_format.MessageToDict(answer))
        call.ok()
        return answer.SerializeToString()

    def _end(self, call: _Call, plan: Plan) -> None:
        """After the chunks: the midstream error, the cut, or OK."""
        if plan.midstream_error is not None:
            call.fail(plan.midstream_error["error"])
        if plan.pacing.cut is not None:
            call.abort(grpc.StatusCode.UNAVAILABLE, CUT_MESSAGE)
        call.ok()


def _identity(data: bytes) -> bytes:
    return data


def _bound(handler: Callable[[str, bytes, Any], Any], method: str) -> Callable[[bytes, Any], Any]:
    """A grpcio behaviour (request, context) for `handler`, told which method it serves."""
    return lambda raw, context: handler(method, raw, context)
