"""A sans-IO splitter for `streamGenerateContent` without `alt=sse`: a JSON array sent piecemeal.

It finds where each top-level object ends (brace depth, outside strings) and hands the bytes on
for `orjson` to parse; it validates only the array punctuation between elements. Scanning jumps
between structural bytes with compiled regexes, so long strings (thought signatures) are
skipped in C. A single top-level object (a unary `generateContent` body) is accepted too.
"""

from __future__ import annotations

import re
from enum import Enum, auto

from zerogravity_proxy.gemini.errors import DEFAULT_MAX_EVENT_SIZE, JSONStreamError

_IN_STRING = re.compile(rb'"|\\.', re.DOTALL)  # a closing quote, or an escape to step over
_STRUCTURAL = re.compile(rb'[{}\[\]"]')
_NON_WHITESPACE = re.compile(rb"[^ \t\r\n]")
_QUOTE = 0x22
_BACKSLASH = 0x5C
_OPENERS = b"{["


class _Expect(Enum):
    VALUE = auto()  # stream start: `[` or `{`
    FIRST = auto()  # after `[`: an object or `]`
    NEXT = auto()  # after `,`: an object
    SEPARATOR = auto()  # after an element: `,` or `]`
    END = auto()  # only whitespace may follow


class JSONArrayDecoder:
    """Feed body bytes, get the bytes of each complete top-level object."""

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        self._max = max_event_size
        self._buf = bytearray()  # from the start of the current element (or unread punctuation)
        self._expect = _Expect.VALUE
        self._in_array = False
        self._depth = 0  # > 0 while inside an element
        self._in_string = False
        self._scanned = 0  # how much of the current element has been scanned

    def feed(self, data: bytes) -> list[bytes]:
        """Split off every element completed by `data`; raise `JSONStreamError` on bad framing."""
        self._buf += data
        out: list[bytes] = []
        while self._depth > 0 or self._open_element():
            end = self._scan()
            # Checked on complete elements too, so the outcome does not depend on chunking.
            if (end if end >= 0 else len(self._buf)) > self._max:
                raise JSONStreamError(f"JSON element exceeds {self._max} bytes")
            if end < 0:
                break
            out.append(bytes(self._buf[:end]))
            del self._buf[:end]
            self._scanned = 0
            self._expect = _Expect.SEPARATOR if self._in_array else _Expect.END
        return out

    def close(self) -> list[bytes]:
        """End of body. A missing `]` is tolerated: completeness is judged by `finishReason`."""
        if self._depth > 0:
            raise JSONStreamError("body ended inside a JSON element")
        return []

    def _open_element(self) -> bool:
        """Consume punctuation up to the next element; True once inside one."""
        while True:
            match = _NON_WHITESPACE.search(self._buf)
            if match is None:
                self._buf.clear()
                return False
            del self._buf[: match.start()]
            byte = self._buf[0]
            if byte == ord("{") and self._expect in (_Expect.VALUE, _Expect.FIRST, _Expect.NEXT):
                self._depth = 1
                self._scanned = 1
                return True
            del self._buf[:1]
            self._expect = self._after_punctuation(byte)

    def _after_punctuation(self, byte: int) -> _Expect:
        if byte == ord("[") and self._expect is _Expect.VALUE:
            self._in_array = True
            return _Expect.FIRST
        if byte == ord("]") and self._expect in (_Expect.FIRST, _Expect.SEPARATOR):
            return _Expect.END
        if byte == ord(",") and self._expect is _Expect.SEPARATOR:
            return _Expect.NEXT
        raise JSONStreamError(f"unexpected {chr(byte)!r} in JSON stream ({self._expect.name})")

    def _scan(self) -> int:
        """Advance through the current element; its end offset, or -1 if more bytes are needed."""
        buf = self._buf
        size = len(buf)
        pos = self._scanned
        while pos < size:
            if self._in_string:
                match = _IN_STRING.search(buf, pos)
                if match is None:
                    # Keep a lone trailing backslash: its escaped byte is in the next chunk.
                    pos = size - 1 if buf[-1] == _BACKSLASH else size
                    break
                pos = match.end()
                self._in_string = match.end() - match.start() == 2
                continue
            match = _STRUCTURAL.search(buf, pos)
            if match is None:
                pos = size
                break
            pos = match.end()
            byte = buf[match.start()]
            if byte == _QUOTE:
                self._in_string = True
            elif byte in _OPENERS:
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    return pos
        self._scanned = pos
        return -1
