"""How upstream failures reach OpenAI clients: status, code, param and retry advice."""

from __future__ import annotations

from zerogravity_proxy.events import UpstreamError
from zerogravity_proxy.openai.errors import from_upstream


def test_rate_limit_says_when_to_retry() -> None:
    error = from_upstream(
        UpstreamError(429, "RESOURCE_EXHAUSTED", "Slow down.", 25.2, "rate_limit")
    )
    assert (error.status, error.code) == (429, "rate_limit_exceeded")
    assert error.headers() == {"Retry-After": "26"}
    assert error.message == "Slow down. Please try again in 25.2s."


def test_exhausted_quota_tells_the_sdk_not_to_retry() -> None:
    error = from_upstream(
        UpstreamError(429, "RESOURCE_EXHAUSTED", "Daily.", 40.0, "quota_exhausted")
    )
    assert (error.status, error.code, error.type) == (
        429,
        "insufficient_quota",
        "insufficient_quota",
    )
    assert error.headers() == {"x-should-retry": "false"}


def test_context_length_names_the_field_of_each_api() -> None:
    upstream = UpstreamError(
        400,
        "INVALID_ARGUMENT",
        "The input token count (9) exceeds the maximum number of tokens allowed (8).",
    )
    assert from_upstream(upstream).param == "messages"
    responses = from_upstream(upstream, input_param="input")
    assert (responses.code, responses.param) == ("context_length_exceeded", "input")
