"""Bytes on the wire, still sans-IO: envelopes, SSE and JSON-array framing, unary folding, gzip.

Google's front ends pretty-print JSON bodies (unary answers, errors, streamed array elements)
with two-space indents and send SSE `data:` lines compact; Cloud Code sends compact JSON.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from .plan import JSON, ErrorReply, Flavour, Framing, Plan

ARRAY_SEPARATOR = b"\r\n,\r\n"


def pretty(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2)


def envelope(chunk: JSON, flavour: Flavour, trace_id: str) -> JSON:
    """Cloud Code wraps every GenerateContentResponse as `{"response": ..., "traceId": ...}`."""
    if flavour is Flavour.CLOUD_CODE:
        return {"response": chunk, "traceId": trace_id}
    return chunk


def error_body(reply: ErrorReply) -> bytes:
    """An error body; a wrapped one is laid out like Google's `[{...}\\n]`."""
    if reply.array_wrapped:
        return b"[" + pretty({"error": reply.error}) + b"\n]"
    return pretty({"error": reply.error}) + b"\n"


def fold(chunks: Sequence[JSON]) -> JSON:
    """What `generateContent` returns for the same answer: the stream folded into one response.

    Adjacent text parts of the same kind are joined; a trailing signature-only part moves onto
    the text before it. Usage, finish and grounding come from the last chunk.
    """
    if not chunks:
        return {}
    parts: list[JSON] = []
    for chunk in chunks:
        for candidate in chunk.get("candidates", [])[:1]:
            for part in candidate.get("content", {}).get("parts", []):
                _fold_part(parts, part)
    folded = dict(chunks[-1])
    if "candidates" in folded:
        last = {key: value for key, value in folded["candidates"][0].items() if key != "content"}
        content = {"content": {"role": "model", "parts": parts}} if parts else {}
        folded["candidates"] = [{**content, **last}]
    return folded


def _fold_part(parts: list[JSON], part: JSON) -> None:
    previous = parts[-1] if parts else None
    if previous is None or not _continues(previous, part):
        parts.append(dict(part))
        return
    previous["text"] += part["text"]
    if "thoughtSignature" in part:
        previous["thoughtSignature"] = part["thoughtSignature"]


def _continues(previous: JSON, part: JSON) -> bool:
    """Text continues text of the same kind, unless the earlier part is already signed."""
    return (
        _is_text(previous)
        and _is_text(part)
        and "thoughtSignature" not in previous
        and bool(previous.get("thought")) == bool(part.get("thought"))
    )


def _is_text(part: JSON) -> bool:
    return "text" in part and set(part) <= {"text", "thought", "thoughtSignature"}


def unary_body(plan: Plan, flavour: Flavour) -> bytes:
    response = envelope(fold(plan.chunks), flavour, plan.trace_id)
    if flavour is Flavour.CLOUD_CODE:
        return orjson.dumps(response)
    return pretty(response) + b"\n"


@dataclass(frozen=True, slots=True)
class StreamBytes:
    """A stream as separate writes, plus the tail that ends it (unless the stream is cut)."""

    frames: list[bytes]
    tail: bytes


def stream_bytes(plan: Plan, flavour: Flavour, framing: Framing, newline: str) -> StreamBytes:
    objects = [envelope(chunk, flavour, plan.trace_id) for chunk in plan.chunks]
    if plan.midstream_error is not None:
        objects.append(plan.midstream_error)
    if framing is Framing.SSE:
        end = newline.encode() * 2
        return StreamBytes([b"data: " + orjson.dumps(obj) + end for obj in objects], b"")
    elements = [pretty(obj) for obj in objects]
    if not elements:
        return StreamBytes([], b"[]")
    frames = [b"[" + elements[0]] + [ARRAY_SEPARATOR + element for element in elements[1:]]
    return StreamBytes(frames, b"]")


class GzipStream:
    """A gzip member written incrementally; each event is flushed with Z_SYNC_FLUSH."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        return self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)

    def finish(self, data: bytes = b"") -> bytes:
        return self._compressor.compress(data) + self._compressor.flush(zlib.Z_FINISH)


def gzip_whole(body: bytes) -> bytes:
    return gzip.compress(body, mtime=0)
