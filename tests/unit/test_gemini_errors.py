"""parse_error / error_from_object on the error shapes in protocols.md D.6 and antigravity.md 1.6."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerogravity_proxy.events import UpstreamError
from zerogravity_proxy.gemini.errors import error_from_object, parse_duration, parse_error

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"

GEMINI_429 = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": QUOTA_FAILURE,
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
                        "quotaId": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
                        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        "quotaValue": "250000",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Learn more", "url": "https://ai.google.dev/"}],
            },
            {"@type": RETRY_INFO, "retryDelay": "26s"},
        ],
    }
}

CLOUDCODE_RATE_LIMIT = {
    "error": {
        "code": 429,
        "message": "You have exhausted your capacity on this model. Your quota will reset after 0s.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": ERROR_INFO,
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "cloudcode-pa.googleapis.com",
                "metadata": {
                    "model": "claude-opus-4-6-thinking",
                    "quotaResetDelay": "479.417207ms",
                    "quotaResetTimeStamp": "2026-04-20T09:19:49Z",
                    "uiMessage": "true",
                },
            },
            {"@type": RETRY_INFO, "retryDelay": "0.479417207s"},
        ],
    }
}

CLOUDCODE_QUOTA_EXHAUSTED = {
    "error": {
        "code": 429,
        "message": "Individual quota reached. Contact your administrator to enable overages. "
        "Resets in 108h48m29s.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": ERROR_INFO,
                "reason": "QUOTA_EXHAUSTED",
                "domain": "cloudcode-pa.googleapis.com",
                "metadata": {
                    "uiMessage": "true",
                    "model": "gemini-3.5-flash-low",
                    "quotaResetDelay": "108h48m20.795762633s",
                    "quotaResetTimeStamp": "2026-06-04T15:24:12Z",
                },
            },
            {"@type": RETRY_INFO, "retryDelay": "391609.795772632s"},
        ],
    }
}

BARE_429 = {
    "error": {
        "code": 429,
        "message": "Resource has been exhausted (e.g. check quota).",
        "status": "RESOURCE_EXHAUSTED",
    }
}

MITMPROXY_502 = b"""<html>
<head>
    <title>502 Bad Gateway</title>
</head>
<body>
    <h1>502 Bad Gateway</h1>
    <p>Connection refused</p>
</body>
</html>"""


def approx(seconds: float | None) -> object:
    return None if seconds is None else pytest.approx(seconds, rel=1e-12)


def body(obj: Any) -> bytes:
    return orjson.dumps(obj)


def error_with(message: str, *details: dict[str, Any], code: int = 429) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "status": "RESOURCE_EXHAUSTED",
            "details": list(details),
        }
    }


def test_gemini_per_minute_429_is_a_rate_limit_with_retry_info_delay() -> None:
    assert parse_error(429, body(GEMINI_429)) == UpstreamError(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        26.0,
        "rate_limit",
    )


def test_cloudcode_rate_limit_prefers_retry_info_over_reset_delay() -> None:
    err = parse_error(429, body(CLOUDCODE_RATE_LIMIT))
    assert (err.status, err.code, err.quota) == (429, "RESOURCE_EXHAUSTED", "rate_limit")
    assert err.retry_delay == 0.479417207
    assert err.message == CLOUDCODE_RATE_LIMIT["error"]["message"]


def test_cloudcode_quota_exhausted() -> None:
    err = parse_error(429, body(CLOUDCODE_QUOTA_EXHAUSTED))
    assert (err.status, err.code, err.quota) == (429, "RESOURCE_EXHAUSTED", "quota_exhausted")
    assert err.retry_delay == 391609.795772632


def test_bare_429_is_a_rate_limit_without_delay() -> None:
    assert parse_error(429, body(BARE_429)) == UpstreamError(
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        None,
        "rate_limit",
    )


def test_cloudcode_array_wrapped_error() -> None:
    assert parse_error(429, body([CLOUDCODE_RATE_LIMIT])) == parse_error(
        429, body(CLOUDCODE_RATE_LIMIT)
    )


@pytest.mark.parametrize("quota_id", ["GenerateRequestsPerDayPerProjectPerModel-FreeTier", "Daily"])
def test_per_day_quota_is_exhausted_even_with_a_short_delay(quota_id: str) -> None:
    err = error_from_object(
        error_with(
            "Quota exceeded.",
            {"@type": QUOTA_FAILURE, "violations": [{"quotaId": quota_id}]},
            {"@type": RETRY_INFO, "retryDelay": "20s"},
        ),
        500,
    )
    assert (err.retry_delay, err.quota) == (20.0, "quota_exhausted")


def test_reset_delay_is_used_without_retry_info() -> None:
    err = error_from_object(
        error_with("x", {"@type": ERROR_INFO, "metadata": {"quotaResetDelay": "479.417207ms"}}),
        500,
    )
    assert err.retry_delay == approx(0.479417207)
    assert err.quota == "rate_limit"


def test_long_reset_delay_is_exhausted() -> None:
    err = error_from_object(
        error_with(
            "x", {"@type": ERROR_INFO, "metadata": {"quotaResetDelay": "108h48m20.795762633s"}}
        ),
        500,
    )
    assert err.retry_delay == approx(391700.795762633)
    assert err.quota == "quota_exhausted"


@pytest.mark.parametrize(
    ("message", "delay", "quota"),
    [
        ("Please retry in 34.07s.", 34.07, "rate_limit"),
        ("Too many requests, retry in 900ms", 0.9, "rate_limit"),
        ("Your quota will reset after 0s.", 0.0, "rate_limit"),
        ("Resets in 108h48m29s.", 391709.0, "quota_exhausted"),
        ("Resource exhausted, retry in a while", None, "rate_limit"),
    ],
)
def test_delay_from_message_text(message: str, delay: float | None, quota: str) -> None:
    err = error_from_object(error_with(message), 500)
    assert (err.retry_delay, err.quota) == (approx(delay), quota)


def test_unparseable_retry_info_falls_through_to_the_message() -> None:
    err = error_from_object(
        error_with("Please retry in 2s", {"@type": RETRY_INFO, "retryDelay": {"seconds": 5}}), 500
    )
    assert err.retry_delay == 2.0


def test_non_429_errors_have_no_quota() -> None:
    message = (
        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
    )
    invalid = {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
    assert parse_error(400, body(invalid)) == UpstreamError(
        400, "INVALID_ARGUMENT", message, None, None
    )


def test_unavailable_keeps_its_retry_delay() -> None:
    overloaded = {
        "error": {
            "code": 503,
            "message": "The model is overloaded. Please try again later.",
            "status": "UNAVAILABLE",
            "details": [{"@type": RETRY_INFO, "retryDelay": "5s"}],
        }
    }
    assert parse_error(503, body(overloaded)) == UpstreamError(
        503, "UNAVAILABLE", "The model is overloaded. Please try again later.", 5.0, None
    )


def test_mitmproxy_html_502_is_unreachable() -> None:
    assert parse_error(502, MITMPROXY_502) == UpstreamError(
        502, "UPSTREAM_UNREACHABLE", "502 Bad Gateway", None, None
    )


def test_empty_504_is_unreachable() -> None:
    assert parse_error(504, b"") == UpstreamError(
        504, "UPSTREAM_UNREACHABLE", "504 Gateway Timeout", None, None
    )


def test_plain_text_body_is_quoted_briefly() -> None:
    assert parse_error(503, b"upstream connect error or\n disconnect/reset before headers") == (
        UpstreamError(
            503,
            "HTTP_503",
            "503 Service Unavailable: upstream connect error or disconnect/reset before headers",
        )
    )


def test_non_json_429_is_still_a_rate_limit() -> None:
    assert parse_error(429, b"Too Many Requests") == UpstreamError(
        429, "HTTP_429", "429 Too Many Requests: Too Many Requests", None, "rate_limit"
    )


def test_json_without_an_error_key_is_treated_as_text() -> None:
    assert parse_error(500, b'{"message": "boom"}') == UpstreamError(
        500, "HTTP_500", '500 Internal Server Error: {"message": "boom"}'
    )


def test_unknown_status_code() -> None:
    assert parse_error(599, b"") == UpstreamError(599, "HTTP_599", "HTTP 599")


def test_error_without_code_takes_http_status_from_google_status() -> None:
    assert error_from_object({"error": {"status": "UNAVAILABLE", "message": "m"}}, 502) == (
        UpstreamError(503, "UNAVAILABLE", "m")
    )


def test_error_without_code_or_status_uses_the_default() -> None:
    assert error_from_object({"error": {}}, 502) == UpstreamError(
        502, "HTTP_502", "502 Bad Gateway"
    )


def test_string_error_becomes_the_message() -> None:
    assert error_from_object({"error": "quota gone"}, 500) == UpstreamError(
        500, "HTTP_500", "quota gone"
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("26s", 26.0),
        ("0.479417207s", 0.479417207),
        ("391609.795772632s", 391609.795772632),
        ("900ms", 0.9),
        ("1h2m3s", 3723.0),
        ("108h48m20.795762633s", 391700.795762633),
        ("1.5us", 1.5e-6),
        ("250ns", 2.5e-7),
        ("", None),
        ("26", None),
        ("s", None),
        ("1d", None),
        ("-5s", None),
        ("9" * 400 + "s", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == approx(seconds)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
_error_keys = st.sampled_from(["error", "code", "status", "message", "details", "@type"])


@given(st.integers(min_value=100, max_value=599), st.binary(max_size=200))
def test_arbitrary_bodies_never_raise(status: int, data: bytes) -> None:
    err = parse_error(status, data)
    assert err.status == status


@given(
    st.dictionaries(_error_keys, _json | st.dictionaries(_error_keys, _json), max_size=4),
    st.booleans(),
)
def test_arbitrary_error_objects_never_raise(obj: dict[str, Any], wrap: bool) -> None:
    err = parse_error(429, orjson.dumps([obj] if wrap else obj, option=orjson.OPT_NON_STR_KEYS))
    assert isinstance(err, UpstreamError)
    assert err.quota in ("rate_limit", "quota_exhausted", None)
