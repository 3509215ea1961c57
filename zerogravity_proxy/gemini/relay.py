"""What the language server receives of a response we took over.

The LS forwarded a request that now carries the client's conversation and tools, and it will
act on the answer: it must never see a function call for a tool it does not have, or it would
try to run it. Everything else (text, thoughts, signatures, usage, the finish) passes as is,
on either wire (SSE or gRPC).
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from google.protobuf.message import DecodeError as ProtobufDecodeError

from zerogravity_proxy.gemini.cascade import for_language_server
from zerogravity_proxy.gemini.errors import DecodeError
from zerogravity_proxy.gemini.grpc import GrpcMessageDecoder, encode_message
from zerogravity_proxy.gemini.pb.generativelanguage_pb2 import GenerateContentResponse
from zerogravity_proxy.gemini.sse import SSEDecoder


class LanguageServerRelay:
    """Bytes of the upstream SSE stream in, the LS's version of them out (sans-IO)."""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()

    def feed(self, data: bytes) -> bytes:
        return _encode(self._decoder.feed(data))

    def close(self) -> bytes:
        return _encode(self._decoder.close())


def _encode(payloads: list[str]) -> bytes:
    out = []
    for payload in payloads:
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            out.append(payload.encode())
            continue
        safe = for_language_server(chunk) if isinstance(chunk, dict) else chunk
        out.append(payload.encode() if safe is chunk else orjson.dumps(safe))
    return b"".join(b"data: " + p + b"\n\n" for p in out)


class GrpcLanguageServerRelay:
    """The same for a gRPC stream: function-call parts are removed from the messages.

    The edit is made on the protobuf message itself, so everything else in it (fields from a
    newer schema included) stays as Google sent it; a message without a call keeps its bytes.
    Every message is re-framed uncompressed (flag 0 is valid whatever `grpc-encoding` says).
    It fails closed: a message it cannot read is withheld (it could carry a call), and after
    broken framing nothing more passes; the response parser reports either as the error it is.
    """

    def __init__(self, encoding: str | None) -> None:
        self._decoder = GrpcMessageDecoder(encoding)
        self._broken = False

    def feed(self, data: bytes) -> bytes:
        return self._relay(self._decoder.feed, data)

    def close(self) -> bytes:
        return self._relay(lambda _: self._decoder.close(), b"")

    def _relay(self, decode: Callable[[bytes], list[bytes]], data: bytes) -> bytes:
        if self._broken:
            return b""
        try:
            messages = decode(data)
        except DecodeError:
            self._broken = True
            return b""
        return b"".join(_without_calls(message) for message in messages)


def _without_calls(message: bytes) -> bytes:
    """One framed message with its function-call parts removed (b"" if it cannot be read).

    Like `cascade.for_language_server`: a candidate left without parts gets one empty text
    part, so that it stays well-formed.
    """
    response = GenerateContentResponse()
    try:
        response.ParseFromString(message)
    except ProtobufDecodeError:
        return b""
    changed = False
    for candidate in response.candidates:
        parts = candidate.content.parts
        calls = [i for i, part in enumerate(parts) if part.HasField("function_call")]
        for i in reversed(calls):
            del parts[i]
        if calls and not parts:
            parts.add(text="")
        changed = changed or bool(calls)
    return encode_message(response.SerializeToString() if changed else message)
