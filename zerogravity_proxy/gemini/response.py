"""Bytes of one Gemini HTTP response in, events out: the whole sans-IO decoding path.

This runs inside mitmproxy's event loop for every chunk of every response, so it never raises:
a broken body becomes one `UPSTREAM_PROTOCOL_ERROR` event and the parser goes inert. The only
exception is a body cut off mid-payload at EOF, which is reported as the truncation it is
(`STREAM_TRUNCATED`, from the interpreter) rather than as a protocol error.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import brotli
import orjson
import zstandard

from zerogravity_proxy.events import Event, UpstreamError
from zerogravity_proxy.gemini.errors import DEFAULT_MAX_EVENT_SIZE, DecodeError, parse_error
from zerogravity_proxy.gemini.grpc import GrpcMessageDecoder, status_error
from zerogravity_proxy.gemini.interpret import ChunkInterpreter, new_call_id
from zerogravity_proxy.gemini.jsonstream import JSONArrayDecoder
from zerogravity_proxy.gemini.protojson import ProtoMappingError, response_to_json
from zerogravity_proxy.gemini.sse import SSEDecoder

DEFAULT_MAX_ERROR_BODY = 1024 * 1024
_PROTOBUF_GRPC = frozenset({"application/grpc", "application/grpc+proto"})

_FAILURES = (DecodeError, orjson.JSONDecodeError, zlib.error, brotli.error, zstandard.ZstdError)


class _Framer(Protocol):
    def feed(self, data: bytes) -> Sequence[str | bytes]: ...
    def close(self) -> Sequence[str | bytes]: ...


class _Sniffed:
    """A body not labelled SSE: JSON if it starts with `[` or `{`, SSE otherwise."""

    def __init__(self, max_event_size: int) -> None:
        self._max = max_event_size
        self._framer: _Framer | None = None

    def feed(self, data: bytes) -> Sequence[str | bytes]:
        if self._framer is None:
            head = data.lstrip(b" \t\r\n\xef\xbb\xbf")
            if not head:
                return []
            json_body = head[:1] in (b"[", b"{")
            self._framer = JSONArrayDecoder(self._max) if json_body else SSEDecoder(self._max)
        return self._framer.feed(data)

    def close(self) -> Sequence[str | bytes]:
        return self._framer.close() if self._framer is not None else []


class _ErrorBody:
    """The head of a non-200 body, decoded; one that fails to decompress is kept up to there."""

    def __init__(self, content_encoding: str | None, room: int) -> None:
        self._inflate = _inflater(content_encoding)
        self._kept = bytearray()
        self._room = room

    def keep(self, data: bytes) -> None:
        if self._room <= 0:
            return
        try:
            data = self._inflate(data)[: self._room]
        except _FAILURES:
            self._room = 0
            return
        self._kept += data
        self._room -= len(data)

    def error(self, status: int) -> UpstreamError:
        return parse_error(status, bytes(self._kept))


class ResponseParser:
    """Feed raw (still content-encoded) body chunks, get events; call `close()` at EOF.

    A non-200 body is kept (up to `max_error_body`) and becomes one `UpstreamError` at close.
    A 200 body is SSE for `text/event-stream`; otherwise its first byte decides: a JSON array or
    object, or SSE from an upstream that did not label its stream.
    """

    def __init__(
        self,
        status: int,
        content_type: str | None,
        content_encoding: str | None,
        *,
        new_call_id: Callable[[], str] = new_call_id,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_error_body: int = DEFAULT_MAX_ERROR_BODY,
    ) -> None:
        self._status = status
        self._inflate = _inflater(content_encoding)
        self._framer: _Framer = (
            SSEDecoder(max_event_size)
            if _media_type(content_type) == "text/event-stream"
            else _Sniffed(max_event_size)
        )
        self._interpreter = ChunkInterpreter(new_call_id)
        self._error_body = _ErrorBody(content_encoding, max_error_body)
        self._inert = False
        self._failed = False

    @property
    def finished(self) -> bool:
        """A `Finish` or an `UpstreamError` has been emitted: the response reached an end."""
        return self._failed or self._interpreter.finished

    def feed(self, data: bytes) -> list[Event]:
        if self._inert or not data or self._interpreter.failed:
            return []
        if self._status != 200:
            self._error_body.keep(data)
            return []
        events: list[Event] = []
        try:
            self._interpret(self._framer.feed(self._inflate(data)), events)
        except _FAILURES as exc:
            events.append(self._fail(exc))
        return events

    def close(self, trailers: Mapping[str, str] | None = None) -> list[Event]:
        """End of the body; `trailers` are for gRPC's sake (a JSON body has none)."""
        if self._inert:
            return []
        self._inert = True
        if self._status != 200:
            self._failed = True
            return [self._error_body.error(self._status)]
        events: list[Event] = []
        # A payload cut off by EOF fails to decode: the interpreter reports the truncation.
        with contextlib.suppress(*_FAILURES):
            self._interpret(self._framer.close(), events)
        return events + self._interpreter.close()

    def _interpret(self, payloads: Sequence[str | bytes], events: list[Event]) -> None:
        for payload in payloads:
            if self._interpreter.failed:
                return  # nothing follows an upstream error, not even a protocol error
            for chunk in _chunks(orjson.loads(payload)):
                events += self._interpreter.feed(chunk)

    def _fail(self, exc: Exception) -> UpstreamError:
        self._inert = True
        self._failed = True
        if isinstance(exc, orjson.JSONDecodeError):
            what = "invalid JSON in upstream response"
        elif isinstance(exc, DecodeError):
            what = "malformed upstream response"
        else:
            what = "cannot decompress upstream response"
        return UpstreamError(502, "UPSTREAM_PROTOCOL_ERROR", f"{what}: {exc}"[:300])


class GrpcResponseParser:
    """The gRPC twin of `ResponseParser`: framed protobuf messages in, the same events out.

    Each `GenerateContentResponse` becomes the REST chunk it maps to and goes through the same
    interpreter. The outcome comes last, in the trailers (or, for a trailers-only answer, in
    the headers): `close(trailers)` turns a non-zero `grpc-status` into Google's error. A
    non-200 HTTP status is not gRPC at all (a proxy or front end answered) and is read like a
    JSON error body.
    """

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        *,
        new_call_id: Callable[[], str] = new_call_id,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        max_error_body: int = DEFAULT_MAX_ERROR_BODY,
    ) -> None:
        self._status = status
        self._headers = headers
        self._decoder = GrpcMessageDecoder(headers.get("grpc-encoding"), max_event_size)
        self._interpreter = ChunkInterpreter(new_call_id)
        self._error_body = _ErrorBody(headers.get("content-encoding"), max_error_body)
        self._inert = False

    @property
    def finished(self) -> bool:
        return self._inert or self._interpreter.finished

    def feed(self, data: bytes) -> list[Event]:
        if self._inert or not data or self._interpreter.failed:
            return []
        if self._status != 200:
            self._error_body.keep(data)
            return []
        events: list[Event] = []
        try:
            for message in self._decoder.feed(data):
                events += self._interpreter.feed(response_to_json(message))
        except (DecodeError, ProtoMappingError) as exc:
            self._inert = True
            what = f"malformed gRPC response: {exc}"[:300]
            events += self._interpreter.fail(UpstreamError(502, "UPSTREAM_PROTOCOL_ERROR", what))
        return events

    def close(self, trailers: Mapping[str, str] | None = None) -> list[Event]:
        """End of the response; `trailers` are the response's trailers, if any came."""
        if self._inert:
            return []
        self._inert = True
        source = trailers if trailers and "grpc-status" in trailers else self._headers
        status = source.get("grpc-status")
        if self._status != 200 and (status is None or status.strip() == "0"):
            return [self._error_body.error(self._status)]
        events: list[Event] = []
        with contextlib.suppress(DecodeError):  # a message cut off by EOF: a truncation
            self._decoder.close()
        if status is None and not self._interpreter.finished:
            pass  # cut off: the interpreter reports the truncation
        elif status is None or status.strip() != "0":  # no status at all fails a gRPC call
            error = status_error(
                status, source.get("grpc-message"), source.get("grpc-status-details-bin")
            )
            if error is not None:
                events += self._interpreter.fail(error)
        return events + self._interpreter.close()


def parser_for(
    status: int, headers: Mapping[str, str], *, grpc: bool = False
) -> ResponseParser | GrpcResponseParser:
    """The parser for a response: gRPC for a gRPC call (`grpc`, known from the request, since
    an error may come without a gRPC content type) or a protobuf gRPC body; else JSON or SSE."""
    if grpc or _media_type(headers.get("content-type")) in _PROTOBUF_GRPC:
        return GrpcResponseParser(status, headers)
    return ResponseParser(status, headers.get("content-type"), headers.get("content-encoding"))


def _chunks(payload: Any) -> Sequence[Mapping[str, Any]]:
    """A payload is one chunk object, or (Cloud Code error bodies) an array of them."""
    if isinstance(payload, Mapping):
        return [payload]
    if isinstance(payload, list) and all(isinstance(item, Mapping) for item in payload):
        return payload
    raise DecodeError("payload is not a JSON object")


def is_grpc(content_type: str | None) -> bool:
    """Any gRPC body (`application/grpc`, `+proto`, `+json`, ...): a stream, never buffered."""
    media = _media_type(content_type)
    return media == "application/grpc" or media.startswith("application/grpc+")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").partition(";")[0].strip().lower()


def _inflater(content_encoding: str | None) -> Callable[[bytes], bytes]:
    """An incremental decoder for the body's `Content-Encoding`.

    Every supported decoder returns all the output its input allows, so none needs a flush.
    """
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return _identity
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(zlib.MAX_WBITS | 32).decompress  # gzip or zlib header
    if encoding == "br":
        decompress: Callable[[bytes], bytes] = brotli.Decompressor().process
        return decompress
    if encoding == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress

    def unsupported(data: bytes) -> bytes:
        raise DecodeError(f"unsupported content-encoding {encoding!r}")

    return unsupported


def _identity(data: bytes) -> bytes:
    return data
