"""Reading Cloud Code answers: content decoding, SSE framing, and what a stream amounted to.

All sans-IO: feed bytes in as they arrive, read the result at the end.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson

JSON = dict[str, Any]


class BodyDecoder:
    """Undo a `Content-Encoding` (identity, gzip or deflate) incrementally."""

    def __init__(self, encoding: str | None) -> None:
        coding = (encoding or "identity").strip().lower()
        if coding in ("", "identity"):
            self._inflate: Any = None
        elif coding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif coding == "deflate":
            self._inflate = zlib.decompressobj()
        else:
            raise ValueError(f"unsupported Content-Encoding: {encoding}")

    def feed(self, data: bytes) -> bytes:
        return data if self._inflate is None else bytes(self._inflate.decompress(data))

    def finish(self) -> bytes:
        return b"" if self._inflate is None else bytes(self._inflate.flush())


class SseDecoder:
    """Split an event stream into event data; `\\n` or `\\r\\n` lines, multi-line data joined."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []

    def feed(self, data: bytes) -> list[bytes]:
        """The data of every event completed by `data`."""
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        events: list[bytes] = []
        for line in lines:
            self._line(line.removesuffix(b"\r"), events)
        return events

    def finish(self) -> list[bytes]:
        """At end of stream: a last unterminated line and event still count (parse tolerantly)."""
        events: list[bytes] = []
        if self._buffer:
            self._line(self._buffer.removesuffix(b"\r"), events)
            self._buffer = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[bytes]) -> None:
        if not line:
            if self._data:
                events.append(b"\n".join(self._data))
                self._data = []
            return
        name, _, value = line.partition(b":")
        if name == b"data":
            self._data.append(value.removeprefix(b" "))


@dataclass(slots=True)
class StreamResult:
    """What one streamed answer said: parts in order, function calls, and how it ended."""

    events: int = 0
    parts: list[JSON] = field(default_factory=list)
    calls: list[JSON] = field(default_factory=list)
    finish_reason: str | None = None
    block_reason: str | None = None
    error: JSON | None = None
    malformed: str | None = None

    @property
    def text(self) -> str:
        return "".join(str(p.get("text", "")) for p in self.parts if not p.get("thought"))

    @property
    def thinking(self) -> str:
        return "".join(str(p.get("text", "")) for p in self.parts if p.get("thought"))

    @property
    def failure(self) -> str | None:
        """Why the stream does not count as a finished answer, or None if it does."""
        if self.malformed is not None:
            return f"malformed SSE event: {self.malformed}"
        if self.error is not None:
            return f"error in stream: {orjson.dumps(self.error).decode()}"
        if self.finish_reason is None:
            blocked = f" (promptFeedback.blockReason={self.block_reason})"
            return "stream ended without finishReason" + (blocked if self.block_reason else "")
        return None

    def feed(self, data: bytes) -> None:
        """One event's data: a `{"response": ...}` chunk (or a bare response, or an error)."""
        self.events += 1
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            self.malformed = self.malformed or data[:200].decode(errors="replace")
            return
        if "error" in obj and "response" not in obj:
            self.error = self.error or obj["error"]
            return
        response = obj.get("response", obj)
        if not isinstance(response, dict):
            self.malformed = self.malformed or data[:200].decode(errors="replace")
            return
        feedback = response.get("promptFeedback") or {}
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            self.block_reason = str(feedback["blockReason"])
        candidates = response.get("candidates") or []
        if not candidates or not isinstance(candidates[0], dict):
            return
        candidate: JSON = candidates[0]
        for part in (candidate.get("content") or {}).get("parts") or []:
            if isinstance(part, dict):
                self.parts.append(part)
                if isinstance(part.get("functionCall"), dict):
                    self.calls.append(part["functionCall"])
        if candidate.get("finishReason"):
            self.finish_reason = str(candidate["finishReason"])


def read_sse(body: bytes) -> StreamResult:
    """A whole (decoded) SSE body at once."""
    decoder, result = SseDecoder(), StreamResult()
    for data in [*decoder.feed(body), *decoder.finish()]:
        result.feed(data)
    return result


def replay_parts(parts: list[JSON]) -> list[JSON]:
    """The model's parts as the LS replays them in history: thoughts dropped, text deltas
    joined, function calls (with their thoughtSignature) kept as they came.

    A signature-only text part moves its signature onto the text before it.
    """
    replayed: list[JSON] = []
    for part in parts:
        if part.get("thought"):
            continue
        previous = replayed[-1] if replayed else None
        plain_text = "text" in part and set(part) <= {"text", "thoughtSignature"}
        joinable = (
            previous is not None
            and set(previous) == {"text"}
            and plain_text
            and isinstance(part["text"], str)
        )
        if previous is not None and joinable:
            previous["text"] += part["text"]
            if "thoughtSignature" in part:
                previous["thoughtSignature"] = part["thoughtSignature"]
        elif plain_text and part.get("text") == "" and "thoughtSignature" not in part:
            continue
        else:
            replayed.append(dict(part))
    return replayed
