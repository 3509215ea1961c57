"""Google's error bodies as `UpstreamError`s, and the decoders' own failure family.

The retry and quota rules follow protocols.md D.6 and antigravity.md 1.6: the delay comes from
`RetryInfo`, then `ErrorInfo.metadata.quotaResetDelay`, then the message text; a 429 is terminal
(`quota_exhausted`) for `QUOTA_EXHAUSTED`, a per-day quota or a delay over five minutes.
Every function here accepts arbitrary JSON without raising: the bodies are untrusted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson

from zerogravity_proxy.events import UpstreamError

DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024
"""Cap on one pending SSE line/event or JSON element; thought signatures make lines big."""

TERMINAL_DELAY = 300.0
"""A 429 that asks us to wait longer than this is treated as exhausted quota (GCLI)."""


class DecodeError(Exception):
    """The upstream bytes break the framing they claim to use."""


class SSEProtocolError(DecodeError):
    """A malformed or oversized `text/event-stream`."""


class JSONStreamError(DecodeError):
    """A malformed or oversized streamed JSON array."""


# Used only when an error object carries no numeric `code`.
_STATUS_HTTP = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_TERM = r"(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|h|m|s)"
_TERM_PARTS = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|h|m|s)")
_DURATION = re.compile(rf"(?:{_TERM})+")
_DELAY_IN_TEXT = re.compile(rf"\b(?:retry|resets?)\s+(?:in|after)\s+((?:{_TERM})+)", re.IGNORECASE)


def parse_duration(text: str) -> float | None:
    """Seconds in a protobuf Duration (`"0.479417207s"`) or Go duration (`"108h48m20.79s"`)."""
    if not _DURATION.fullmatch(text):
        return None
    seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _TERM_PARTS.findall(text))
    return seconds if math.isfinite(seconds) else None


def parse_error(status: int, body: bytes) -> UpstreamError:
    """The error a non-200 response stands for, whatever its body looks like."""
    obj = _error_object(body)
    if obj is not None:
        return error_from_object(obj, status)
    code = "UPSTREAM_UNREACHABLE" if status in (502, 504) else f"HTTP_{status}"
    message = _status_text(status)
    snippet = _text_snippet(body)
    if snippet:
        message = f"{message}: {snippet}"
    return UpstreamError(status, code, message, None, "rate_limit" if status == 429 else None)


def error_from_object(obj: Mapping[str, Any], default_status: int) -> UpstreamError:
    """Map `{"error": {...}}` (or the inner object itself) to an `UpstreamError`.

    `default_status` is used when the object has neither a numeric `code` nor a known `status`.
    """
    inner = obj.get("error", obj)
    err: Mapping[str, Any] = inner if isinstance(inner, Mapping) else {"message": inner}
    google_status = _str(err.get("status"))
    status = _http_status(err.get("code"), google_status, default_status)
    message = _str(err.get("message")) or _status_text(status)
    details = [d for d in _list(err.get("details")) if isinstance(d, Mapping)]
    delay = _retry_delay(details, message)
    quota = _quota(details, delay) if status == 429 else None
    return UpstreamError(status, google_status or f"HTTP_{status}", message, delay, quota)


def _error_object(body: bytes) -> Mapping[str, Any] | None:
    """`{"error": ...}`, also when Cloud Code wraps it in a one-element array."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, list) and obj:
        obj = obj[0]
    if isinstance(obj, Mapping) and "error" in obj:
        return obj
    return None


def _http_status(code: Any, google_status: str, default: int) -> int:
    if isinstance(code, int) and 400 <= code <= 599:
        return code
    return _STATUS_HTTP.get(google_status, default)


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _text_snippet(body: bytes, limit: int = 200) -> str:
    """The head of a short plain-text body; HTML pages (mitmproxy's, Google's) say nothing new."""
    text = body[: limit * 4].decode("utf-8", "replace").strip()
    if text.startswith("<"):
        return ""
    return " ".join(text.split())[:limit]


def _retry_delay(details: Sequence[Mapping[str, Any]], message: str) -> float | None:
    retry_info = _detail(details, "RetryInfo")
    if retry_info is not None:
        delay = _duration(retry_info.get("retryDelay"))
        if delay is not None:
            return delay
    error_info = _detail(details, "ErrorInfo")
    if error_info is not None:
        metadata = error_info.get("metadata")
        if isinstance(metadata, Mapping):
            delay = _duration(metadata.get("quotaResetDelay"))
            if delay is not None:
                return delay
    match = _DELAY_IN_TEXT.search(message)
    return parse_duration(match.group(1)) if match else None


def _quota(details: Sequence[Mapping[str, Any]], delay: float | None) -> str:
    error_info = _detail(details, "ErrorInfo")
    quota_failure = _detail(details, "QuotaFailure")
    exhausted = (
        (delay is not None and delay > TERMINAL_DELAY)
        or (error_info is not None and error_info.get("reason") == "QUOTA_EXHAUSTED")
        or (quota_failure is not None and _has_daily_violation(quota_failure))
    )
    return "quota_exhausted" if exhausted else "rate_limit"


def _has_daily_violation(quota_failure: Mapping[str, Any]) -> bool:
    for violation in _list(quota_failure.get("violations")):
        quota_id = _str(violation.get("quotaId")) if isinstance(violation, Mapping) else ""
        if "PerDay" in quota_id or "Daily" in quota_id:
            return True
    return False


def _detail(details: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    """The first `google.rpc.<kind>` detail."""
    suffix = f"google.rpc.{kind}"
    for detail in details:
        if _str(detail.get("@type")).endswith(suffix):
            return detail
    return None


def _duration(value: Any) -> float | None:
    return parse_duration(value.strip()) if isinstance(value, str) else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
