"""Google's error bodies, word for word where the wording is known (protocols.md D.6, antigravity.md 1.6).

Clients classify errors by these strings and `details`, so they are copied, not paraphrased.
"""

from __future__ import annotations

from collections.abc import Sequence

from .plan import JSON, ErrorReply, Flavour

_RPC = "type.googleapis.com/google.rpc."
CLOUD_CODE_DOMAIN = "cloudcode-pa.googleapis.com"
GEMINI_DOMAIN = "generativelanguage.googleapis.com"
RATE_LIMIT_DELAY = "26s"
DAILY_QUOTA_DELAY = "43200s"
CONTEXT_LIMIT = 1_048_576

MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for "
    "tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `default_api:{name}` , position {position}. "
    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)
INVALID_SIGNATURE = "Unable to submit request because Thought signature is not valid."


def google_error(code: int, status: str, message: str, details: Sequence[JSON] = ()) -> JSON:
    error: JSON = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return error


def invalid_argument(message: str, violations: Sequence[tuple[str, str]] = ()) -> ErrorReply:
    """400 INVALID_ARGUMENT; `violations` become a BadRequest detail as Google attaches one."""
    details: list[JSON] = []
    if violations:
        fields = [
            {"field": path, "description": text} if path else {"description": text}
            for path, text in violations
        ]
        details.append({"@type": _RPC + "BadRequest", "fieldViolations": fields})
    return ErrorReply(400, google_error(400, "INVALID_ARGUMENT", message, details))


def invalid_json() -> ErrorReply:
    return invalid_argument("Invalid JSON payload received. Unexpected token.")


def missing_api_key() -> ErrorReply:
    message = (
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API."
    )
    return ErrorReply(403, google_error(403, "PERMISSION_DENIED", message))


def missing_credentials(method: str) -> ErrorReply:
    """Cloud Code's 401 for a request without an OAuth bearer token."""
    message = (
        "Request is missing required authentication credential. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential. "
        "See https://developers.google.com/identity/sign-in/web/devconsole-project."
    )
    rpc = method[:1].upper() + method[1:]
    info = {
        "@type": _RPC + "ErrorInfo",
        "reason": "CREDENTIALS_MISSING",
        "domain": "googleapis.com",
        "metadata": {
            "method": f"google.internal.cloud.code.v1internal.CloudCode.{rpc}",
            "service": CLOUD_CODE_DOMAIN,
        },
    }
    return ErrorReply(401, google_error(401, "UNAUTHENTICATED", message, [info]))


def not_found(message: str) -> ErrorReply:
    return ErrorReply(404, google_error(404, "NOT_FOUND", message))


def missing_signature(name: str, position: int) -> ErrorReply:
    return invalid_argument(MISSING_SIGNATURE.format(name=name, position=position))


def invalid_signature() -> ErrorReply:
    return invalid_argument(INVALID_SIGNATURE)


def rate_limited(flavour: Flavour, model: str) -> ErrorReply:
    """A retryable 429 with `RetryInfo.retryDelay` of 26s (array-wrapped on Cloud Code)."""
    retry = {"@type": _RPC + "RetryInfo", "retryDelay": RATE_LIMIT_DELAY}
    if flavour is Flavour.CLOUD_CODE:
        message = (
            "You have exhausted your capacity on this model. "
            f"Your quota will reset after {RATE_LIMIT_DELAY}."
        )
        info = _cloud_code_info("RATE_LIMIT_EXCEEDED", model, RATE_LIMIT_DELAY)
        error = google_error(429, "RESOURCE_EXHAUSTED", message, [info, retry])
        return ErrorReply(429, error, array_wrapped=True)
    message = (
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. "
        "To monitor your current usage, head to: https://ai.dev/usage?tab=rate-limit. \n"
        "* Quota exceeded for metric: "
        "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count, "
        f"limit: 250000, model: {model}\nPlease retry in {RATE_LIMIT_DELAY}."
    )
    failure = _quota_failure(
        "generate_content_free_tier_input_token_count",
        "GenerateContentInputTokensPerModelPerMinute-FreeTier",
        model,
        "250000",
    )
    details = [failure, _help(), retry]
    return ErrorReply(429, google_error(429, "RESOURCE_EXHAUSTED", message, details))


def quota_exhausted(flavour: Flavour, model: str) -> ErrorReply:
    """A terminal daily-quota 429: ErrorInfo QUOTA_EXHAUSTED, a `...PerDay...` quotaId, 12 h."""
    retry = {"@type": _RPC + "RetryInfo", "retryDelay": DAILY_QUOTA_DELAY}
    failure = _quota_failure(
        "generate_content_free_tier_requests",
        "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
        model,
        "250",
    )
    if flavour is Flavour.CLOUD_CODE:
        message = (
            "Individual quota reached. Contact your administrator to enable overages. "
            "Resets in 12h0m0s."
        )
        info = _cloud_code_info("QUOTA_EXHAUSTED", model, "12h0m0s")
        error = google_error(429, "RESOURCE_EXHAUSTED", message, [info, failure, retry])
        return ErrorReply(429, error, array_wrapped=True)
    message = (
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n"
        "* Quota exceeded for metric: "
        f"generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 250, "
        f"model: {model}\nPlease retry in 43200s."
    )
    info = {
        "@type": _RPC + "ErrorInfo",
        "reason": "QUOTA_EXHAUSTED",
        "domain": GEMINI_DOMAIN,
        "metadata": {"model": model},
    }
    details = [info, failure, _help(), retry]
    return ErrorReply(429, google_error(429, "RESOURCE_EXHAUSTED", message, details))


def internal() -> ErrorReply:
    return ErrorReply(500, google_error(500, "INTERNAL", "Internal error encountered."))


def unavailable(flavour: Flavour, model: str) -> ErrorReply:
    if flavour is Flavour.CLOUD_CODE:
        message = f"No capacity available for model {model} on the server"
        info = {
            "@type": _RPC + "ErrorInfo",
            "reason": "MODEL_CAPACITY_EXHAUSTED",
            "domain": CLOUD_CODE_DOMAIN,
            "metadata": {"model": model},
        }
        return ErrorReply(503, google_error(503, "UNAVAILABLE", message, [info]))
    message = "The model is overloaded. Please try again later."
    return ErrorReply(503, google_error(503, "UNAVAILABLE", message))


def context_too_long(prompt_tokens: int) -> ErrorReply:
    count = CONTEXT_LIMIT + prompt_tokens
    return invalid_argument(
        f"The input token count ({count}) exceeds the maximum number of tokens allowed "
        f"({CONTEXT_LIMIT})."
    )


def plain(status: int) -> ErrorReply | None:
    """The remaining canned statuses a test may ask for with `error=<code>`."""
    known = {
        400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
        403: ("PERMISSION_DENIED", "The caller does not have permission"),
        404: ("NOT_FOUND", "Requested entity was not found."),
        504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
    }
    if status not in known:
        return None
    name, message = known[status]
    return ErrorReply(status, google_error(status, name, message))


def _cloud_code_info(reason: str, model: str, delay: str) -> JSON:
    return {
        "@type": _RPC + "ErrorInfo",
        "reason": reason,
        "domain": CLOUD_CODE_DOMAIN,
        "metadata": {"model": model, "quotaResetDelay": delay, "uiMessage": "true"},
    }


def _quota_failure(metric: str, quota_id: str, model: str, value: str) -> JSON:
    violation = {
        "quotaMetric": f"{GEMINI_DOMAIN}/{metric}",
        "quotaId": quota_id,
        "quotaDimensions": {"location": "global", "model": model},
        "quotaValue": value,
    }
    return {"@type": _RPC + "QuotaFailure", "violations": [violation]}


def _help() -> JSON:
    link = {
        "description": "Learn more about Gemini API quotas",
        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
    }
    return {"@type": _RPC + "Help", "links": [link]}
