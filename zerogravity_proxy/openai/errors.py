"""OpenAI-format errors, and how Gemini's upstream errors map onto them (protocols.md E.6)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from zerogravity_proxy.events import UpstreamError


@dataclass(slots=True)
class OpenAIError(Exception):
    """An error as an OpenAI client expects it: HTTP status plus the `error` object."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.status} {self.code or self.type}: {self.message}"

    def body(self) -> dict[str, Any]:
        return {"error": self.error_object()}

    def error_object(self) -> dict[str, Any]:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}

    def headers(self) -> dict[str, str]:
        """`Retry-After` (whole seconds, rounded up) where the upstream said when to retry.

        An exhausted quota will not come back within a client's retry budget: the official SDKs
        retry every 429 unless told `x-should-retry: false`.
        """
        if self.code == "insufficient_quota":
            return {"x-should-retry": "false"}
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None
) -> OpenAIError:
    return OpenAIError(400, message, "invalid_request_error", code, param)


def model_not_found(model: str) -> OpenAIError:
    return OpenAIError(
        404,
        f"The model '{model}' does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
        "model",
    )


def from_upstream(err: UpstreamError, *, input_param: str = "messages") -> OpenAIError:
    """Map an upstream failure to the status, type and code an OpenAI client acts on.

    `input_param` names the request field that holds the conversation (`input` for Responses).
    """
    msg = err.message
    if err.status == 400 or err.code in {"INVALID_ARGUMENT", "FAILED_PRECONDITION"}:
        if "input token count" in msg and "exceeds" in msg:
            return OpenAIError(
                400, msg, "invalid_request_error", "context_length_exceeded", input_param
            )
        return OpenAIError(400, msg, "invalid_request_error", "invalid_argument")
    if err.status == 401:
        return OpenAIError(
            502,
            f"Upstream rejected the proxy's credentials: {msg}",
            "api_error",
            "upstream_unauthenticated",
        )
    if err.status == 403:
        return OpenAIError(403, msg, "permission_denied", "permission_denied")
    if err.status == 404:
        return OpenAIError(404, msg, "invalid_request_error", "model_not_found", "model")
    if err.status == 429:
        if err.quota == "quota_exhausted":
            return OpenAIError(
                429, msg, "insufficient_quota", "insufficient_quota", retry_after=err.retry_delay
            )
        if err.retry_delay is not None:
            msg = f"{msg} Please try again in {err.retry_delay:g}s."
        return OpenAIError(429, msg, "requests", "rate_limit_exceeded", retry_after=err.retry_delay)
    if err.status == 503:
        code = "overloaded" if err.code == "UNAVAILABLE" else err.code.lower()
        return OpenAIError(503, msg, "server_error", code, retry_after=err.retry_delay)
    if err.status == 504:
        return OpenAIError(504, msg, "server_error", "timeout")
    if err.status == 500:
        return OpenAIError(500, msg, "server_error", "server_error")
    return OpenAIError(502, msg, "server_error", err.code.lower())
