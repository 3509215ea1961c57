"""Keeping credentials out of logs and traces.

The Gemini API accepts its key as a `key=` query parameter as well as a header, so a URL is as
sensitive as the headers; anything that logs or stores one goes through here.
"""

from __future__ import annotations

from collections.abc import Mapping

SECRET_HEADERS = frozenset({"authorization", "x-goog-api-key", "cookie", "proxy-authorization"})
REDACTED = "<redacted>"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def redact_url(url: str) -> str:
    """Blank a `key=` query parameter."""
    head, sep, query = url.partition("?")
    if not sep:
        return url
    params = [f"key={REDACTED}" if p.split("=", 1)[0] == "key" else p for p in query.split("&")]
    return f"{head}?{'&'.join(params)}"
