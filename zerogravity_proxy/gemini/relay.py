"""What the language server receives of a response we took over.

The LS forwarded a request that now carries the client's conversation and tools, and it will
act on the answer: it must never see a function call for a tool it does not have, or it would
try to run it. Everything else (text, thoughts, signatures, usage, the finish) passes as is,
on either wire (SSE or gRPC).
"""

from __future__ import annotations

import orjson

from zerogravity_proxy.gemini.cascade import for_language_server
from zerogravity_proxy.gemini.grpc import GrpcMessageDecoder, encode_message
from zerogravity_proxy.gemini.protojson import response_from_json, response_to_json
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
    """The same for a gRPC stream: messages with a call are re-encoded without it.

    Every message is re-framed uncompressed (flag 0 is valid whatever `grpc-encoding` says);
    one without a function call keeps its original bytes.
    """

    def __init__(self, encoding: str | None) -> None:
        self._decoder = GrpcMessageDecoder(encoding)

    def feed(self, data: bytes) -> bytes:
        return b"".join(_reframe(message) for message in self._decoder.feed(data))

    def close(self) -> bytes:
        return b"".join(_reframe(message) for message in self._decoder.close())


def _reframe(message: bytes) -> bytes:
    chunk = response_to_json(message)
    safe = for_language_server(chunk)
    return encode_message(message if safe is chunk else response_from_json(safe))
