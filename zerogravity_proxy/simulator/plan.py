"""The values the sans-IO core hands to the HTTP shell: what to answer, and how to pace it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

JSON = dict[str, Any]

SignatureResult = Literal["real", "dummy", "missing", "invalid"]


class Flavour(StrEnum):
    """Which of Google's two front ends is being imitated."""

    GEMINI = "gemini"
    CLOUD_CODE = "cloudcode"


class Framing(StrEnum):
    """How a response body is laid out on the wire."""

    UNARY = "unary"
    SSE = "sse"
    JSON_ARRAY = "json_array"


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """A Google error: the HTTP status and the `error` object (code, message, status, details).

    Cloud Code wraps some errors in a one-element array; `array_wrapped` says so.
    """

    status: int
    error: JSON
    array_wrapped: bool = False

    def body(self) -> JSON | list[JSON]:
        wrapped: JSON = {"error": self.error}
        return [wrapped] if self.array_wrapped else wrapped


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """The verdict on the thought signature of one replayed model turn.

    `position` is the 1-based index of the content in `contents`, as Google reports it.
    """

    position: int
    name: str
    result: SignatureResult

    def as_json(self) -> JSON:
        return {"position": self.position, "name": self.name, "result": self.result}


@dataclass(frozen=True, slots=True)
class Pacing:
    """Transport behaviour asked for by directives; the shell applies it."""

    delay: float = 0.0
    stall: float = 0.0
    cut: int | None = None
    gzip: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the shell needs to answer one generate call.

    Either `error` is set (answer with it, nothing else) or `chunks` are the stream's
    GenerateContentResponse objects; `midstream_error` (an `{"error": ...}` object) follows them.
    """

    chunks: tuple[JSON, ...] = ()
    error: ErrorReply | None = None
    midstream_error: JSON | None = None
    pacing: Pacing = field(default_factory=Pacing)
    signatures: tuple[SignatureCheck, ...] = ()
    signatures_enforced: bool = False
    trace_id: str = ""
