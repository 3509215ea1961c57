"""A sans-IO decoder for gRPC message framing, and gRPC status trailers as `UpstreamError`s.

Framing follows PROTOCOL-HTTP2.md: each message is a 1-byte compressed flag, a 4-byte big-endian
length and the message, compressed per message with the `grpc-encoding` algorithm when the flag
is 1. DATA frame boundaries have nothing to do with message boundaries, so bytes are buffered in
one `bytearray` read through an offset (linear however the stream is cut), and a declared length
over the limit is refused before its body is buffered. Decompression is bounded by the same
limit, so a small gzip bomb cannot allocate more than one message's worth.

A status (`grpc-status`, `grpc-message`, `grpc-status-details-bin`) is turned into the JSON error
object Google would have sent over REST and handed to `errors.error_from_object`, so retry delays
and quota classes follow exactly the rules of JSON errors. The trailers are untrusted: nothing in
the status path raises, malformed details are dropped and the code and message kept.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import struct
import urllib.parse
import zlib
from collections.abc import Mapping
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from zerogravity_proxy.events import UpstreamError
from zerogravity_proxy.gemini.errors import DEFAULT_MAX_EVENT_SIZE, DecodeError, error_from_object
from zerogravity_proxy.gemini.pb import rpc_status_pb2


class GrpcFramingError(DecodeError):
    """A malformed, oversized, truncated or undecompressable gRPC message stream."""


_PREFIX = struct.Struct(">BI")
_PREFIX_SIZE = _PREFIX.size
_MAX_WIRE_LENGTH = 0xFFFFFFFF

# zlib window bits per `grpc-encoding`; gRPC's `deflate` is the zlib format (RFC 1950).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class GrpcMessageDecoder:
    """Feed response bytes, get each complete message, decompressed.

    After a `GrpcFramingError` the stream is unusable and the decoder must be dropped.
    """

    def __init__(
        self, encoding: str | None, max_message_size: int = DEFAULT_MAX_EVENT_SIZE
    ) -> None:
        self._encoding = (encoding or "identity").strip().lower()
        self._max = max_message_size
        self._buf = bytearray()  # unread bytes start at `_pos`; compacted once per feed
        self._pos = 0
        self._need = -1  # body length of the message whose prefix was read; -1 between messages
        self._compressed = False

    def feed(self, data: bytes) -> list[bytes]:
        """Split off every message completed by `data`; raise `GrpcFramingError` on bad input."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        while True:
            available = len(buf) - self._pos
            if self._need < 0:
                if available == 0:
                    break
                if buf[self._pos] > 1:  # refused at once, not when the prefix is complete
                    raise GrpcFramingError(f"invalid gRPC compressed flag {buf[self._pos]}")
                if available < _PREFIX_SIZE:
                    break
                flag, length = _PREFIX.unpack_from(buf, self._pos)
                self._start_message(flag == 1, length)
                self._pos += _PREFIX_SIZE
                continue
            if available < self._need:
                break
            end = self._pos + self._need
            message = bytes(buf[self._pos : end])
            self._pos = end
            self._need = -1
            out.append(self._decompress(message) if self._compressed else message)
        if self._pos:
            del buf[: self._pos]  # CPython drops a bytearray's head without moving the rest
            self._pos = 0
        return out

    def close(self) -> list[bytes]:
        """End of stream: a message left incomplete means the stream was truncated."""
        pending = len(self._buf) - self._pos
        if self._need >= 0:
            raise GrpcFramingError(
                f"stream ended inside a gRPC message ({pending} of {self._need} bytes)"
            )
        if pending:
            raise GrpcFramingError(
                f"stream ended inside a gRPC message prefix ({pending} of {_PREFIX_SIZE} bytes)"
            )
        return []

    def _start_message(self, compressed: bool, length: int) -> None:
        """Validate a prefix before any of its body is kept."""
        if length > self._max:
            raise GrpcFramingError(f"gRPC message of {length} bytes exceeds {self._max} bytes")
        if compressed and self._encoding not in _WBITS:
            raise GrpcFramingError(f"compressed gRPC message with grpc-encoding {self._encoding!r}")
        self._compressed = compressed
        self._need = length

    def _decompress(self, data: bytes) -> bytes:
        """Inflate one message, at most `max + 1` bytes at a time so a bomb stops early."""
        wbits = _WBITS[self._encoding]
        pieces: list[bytes] = []
        size = 0
        while True:  # gzip allows concatenated members; each starts a fresh context
            inflater = zlib.decompressobj(wbits)
            try:
                piece = inflater.decompress(data, self._max + 1 - size)
            except zlib.error as exc:
                raise GrpcFramingError(f"corrupt {self._encoding} gRPC message: {exc}") from exc
            size += len(piece)
            if size > self._max:
                raise GrpcFramingError(f"decompressed gRPC message exceeds {self._max} bytes")
            pieces.append(piece)
            if not inflater.eof:
                raise GrpcFramingError(f"truncated {self._encoding} gRPC message")
            data = inflater.unused_data
            if not data:
                return b"".join(pieces)
            if self._encoding != "gzip":
                raise GrpcFramingError(f"trailing bytes after {self._encoding} gRPC message")


def encode_message(message: bytes, *, compress: bool = False) -> bytes:
    """One length-prefixed message; gzip-compressed (deterministically) when `compress`."""
    if compress:
        message = gzip.compress(message, mtime=0)
    if len(message) > _MAX_WIRE_LENGTH:
        raise ValueError(f"gRPC message of {len(message)} bytes does not fit a 4-byte length")
    return _PREFIX.pack(int(compress), len(message)) + message


# --- status ---------------------------------------------------------------------------------

GRPC_CODES: Final[tuple[str, ...]] = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)
"""gRPC status names, indexed by their numeric code."""

GRPC_HTTP_STATUS: Final[Mapping[str, int]] = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}
"""The HTTP status Google's REST front ends use for each code (google/rpc/code.proto)."""

# The `google.rpc` details the error rules read, by the type URL's last segment (what Google
# sends); our generated messages live in another package but share the field numbers.
_DETAIL_TYPES: Final[Mapping[str, type[Message]]] = {
    "google.rpc.RetryInfo": rpc_status_pb2.RetryInfo,
    "google.rpc.ErrorInfo": rpc_status_pb2.ErrorInfo,
    "google.rpc.QuotaFailure": rpc_status_pb2.QuotaFailure,
}

# Spec: space and VCHAR except `%` go unencoded.
_MESSAGE_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if c != ord("%"))


def status_error(
    status: str | None, message: str | None, details_bin: str | None
) -> UpstreamError | None:
    """The error a gRPC status stands for, or None for OK.

    `status` None means the response ended without `grpc-status`. An invalid code counts as
    UNKNOWN; undecodable details are ignored.
    """
    if status is None:
        return UpstreamError(
            502, "UPSTREAM_PROTOCOL_ERROR", "gRPC response ended without grpc-status"
        )
    code = _code(status)
    if code == 0:
        return None
    name = GRPC_CODES[code] if code is not None else "UNKNOWN"
    http = GRPC_HTTP_STATUS[name]
    text = percent_decode(message) if message else ""
    details: list[dict[str, Any]] = []
    rpc_status = _rpc_status(details_bin) if details_bin else None
    if rpc_status is not None:
        text = text or rpc_status.message
        details = [_detail_json(detail.type_url, detail.value) for detail in rpc_status.details]
    if not text and code is None:
        text = f"invalid grpc-status {status[:40]!r}"
    error = {"code": http, "message": text, "status": name, "details": details}
    return error_from_object({"error": error}, default_status=http)


def percent_decode(text: str) -> str:
    """A `grpc-message` value as text; broken escapes are kept and bad UTF-8 replaced (spec)."""
    try:
        raw = text.encode("utf-8", "surrogateescape")  # mitmproxy's form of non-UTF-8 bytes
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return urllib.parse.unquote_to_bytes(raw).decode("utf-8", "replace")


def percent_encode(text: str) -> str:
    """`text` as a `grpc-message` value, for the gRPC errors we synthesize."""
    return urllib.parse.quote(text.encode("utf-8", "replace"), safe=_MESSAGE_SAFE)


def _code(status: str) -> int | None:
    """The numeric code, or None when it is not one of the 17 defined."""
    digits = status.strip()
    if not (0 < len(digits) <= 3 and digits.isascii() and digits.isdigit()):
        return None
    code = int(digits)
    return code if code < len(GRPC_CODES) else None


def _rpc_status(details_bin: str) -> rpc_status_pb2.Status | None:
    """The first `google.rpc.Status` that decodes (duplicated binary headers are comma-joined)."""
    for piece in details_bin.split(","):
        raw = _b64decode(piece)
        if not raw:
            continue
        rpc_status = rpc_status_pb2.Status()
        try:
            rpc_status.ParseFromString(raw)
        except ProtobufDecodeError:
            continue
        return rpc_status
    return None


def _b64decode(text: str) -> bytes | None:
    """Standard (or URL-safe) base64 with padding optional, as gRPC binary headers allow."""
    text = text.strip().rstrip("=")
    if not text.isascii():
        return None
    padded = text + "=" * (-len(text) % 4)
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(padded, altchars=altchars, validate=True)
        except binascii.Error:
            pass
    return None


def _detail_json(type_url: str, value: bytes) -> dict[str, Any]:
    """An `Any` detail in REST JSON form; only `@type` when the type is unknown or corrupt."""
    detail: dict[str, Any] = {"@type": type_url}
    kind = _DETAIL_TYPES.get(type_url.rpartition("/")[2])
    if kind is not None:
        parsed = kind()
        try:
            parsed.ParseFromString(value)
            detail.update(json_format.MessageToDict(parsed))
        except (ProtobufDecodeError, json_format.Error):
            pass
    return detail
