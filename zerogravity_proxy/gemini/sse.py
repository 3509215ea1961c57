"""A sans-IO `text/event-stream` decoder for Gemini's `alt=sse` responses.

It works on bytes so that a chunk boundary inside a multi-byte character is harmless (UTF-8
continuation bytes never equal CR or LF) and only scans each new chunk once, so a multi-MiB
line that arrives in thousands of pieces costs linear time. It follows the WHATWG rules that
matter for Gemini, with three deliberate deviations: an event left open at EOF is dispatched,
empty payloads and `[DONE]` are dropped, and bare JSON lines (how Google error bodies show up
in a stream) are collected into one payload up to the next blank line.
"""

from __future__ import annotations

from typing import NoReturn

from zerogravity_proxy.gemini.errors import DEFAULT_MAX_EVENT_SIZE, SSEProtocolError

_BOM = b"\xef\xbb\xbf"
_LF = 0x0A
_COLON = 0x3A
_JSON_OPENERS = b"{["


class SSEDecoder:
    """Feed response bytes, get the `data` payload of each complete event."""

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._max = max_event_size
        self._tail: list[bytes] = []  # the pieces of the line not yet terminated
        self._tail_size = 0
        self._data: list[bytes] = []  # the lines of the event being built
        self._data_size = 0
        self._raw = False  # the event is a bare JSON body rather than `data:` lines
        self._after_cr = False  # the previous chunk ended in CR, so a leading LF is its pair
        self._at_start = True  # the first line may open with a BOM

    def feed(self, data: bytes) -> list[str]:
        """Decode the next chunk; raise `SSEProtocolError` on oversized or non-UTF-8 events."""
        if not data:
            return []
        # A trailing CR ends its line now; the LF of a split CRLF is dropped on the next feed.
        if self._after_cr and data[0] == _LF:
            data = data[1:]
        self._after_cr = data.endswith(b"\r")
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *lines, rest = data.split(b"\n")
        out: list[str] = []
        if lines:
            if self._tail:
                lines[0] = b"".join([*self._tail, lines[0]])
                self._tail.clear()
                self._tail_size = 0
            for line in lines:
                self._line(line, out)
        if rest:
            self._tail.append(rest)
            self._tail_size += len(rest)
            if self._tail_size > self._max:
                self._line_too_long()
        return out

    def close(self) -> list[str]:
        """End of stream: dispatch an unterminated last line and event."""
        out: list[str] = []
        if self._tail:
            line = b"".join(self._tail)
            self._tail.clear()
            self._tail_size = 0
            self._line(line, out)
        self._dispatch(out)
        return out

    def _line(self, line: bytes, out: list[str]) -> None:
        if len(line) > self._max:
            self._line_too_long()  # also when complete, so the outcome is chunking-independent
        if self._at_start:
            self._at_start = False
            line = line.removeprefix(_BOM)
        if not line:
            self._dispatch(out)
        elif self._raw or line[0] in _JSON_OPENERS:
            self._raw = True
            self._append(line)
        elif line.startswith(b"data"):
            if len(line) == 4:
                self._append(b"")
            elif line[4] == _COLON:
                value = line[5:]
                self._append(value[1:] if value.startswith(b" ") else value)
        # Comments, `event:`, `id:`, `retry:` and unknown fields carry nothing for us.

    def _line_too_long(self) -> NoReturn:
        raise SSEProtocolError(f"SSE line exceeds {self._max} bytes")

    def _append(self, value: bytes) -> None:
        self._data.append(value)
        self._data_size += len(value) + 1
        if self._data_size > self._max:
            raise SSEProtocolError(f"SSE event exceeds {self._max} bytes")

    def _dispatch(self, out: list[str]) -> None:
        self._raw = False
        if not self._data:
            return
        payload = b"\n".join(self._data)
        self._data.clear()
        self._data_size = 0
        if payload and payload != b"[DONE]":
            try:
                out.append(payload.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise SSEProtocolError(f"SSE event is not UTF-8: {exc.reason}") from exc
