from __future__ import annotations

import stat
from pathlib import Path

from zerogravity_proxy.redact import redact_headers, redact_url
from zerogravity_proxy.trace import TraceStore, blank_media


def test_redaction() -> None:
    assert redact_headers(
        {"Authorization": "Bearer x", "x-goog-api-key": "k", "accept": "*/*"}
    ) == {
        "Authorization": "<redacted>",
        "x-goog-api-key": "<redacted>",
        "accept": "*/*",
    }
    assert (
        redact_url("https://h/v1beta/m:g?alt=sse&key=abc")
        == "https://h/v1beta/m:g?alt=sse&key=<redacted>"
    )
    assert redact_url("https://h/p?keyword=1") == "https://h/p?keyword=1"
    assert redact_url("https://h/p") == "https://h/p"


def test_inline_media_is_blanked() -> None:
    body = {
        "contents": [
            {"parts": [{"text": "hi"}, {"inlineData": {"mimeType": "image/png", "data": "QUJD"}}]}
        ]
    }
    assert blank_media(body) == {
        "contents": [
            {
                "parts": [
                    {"text": "hi"},
                    {"inlineData": {"mimeType": "image/png", "data": "<4 base64 chars>"}},
                ]
            }
        ]
    }


def test_store_keeps_the_newest_and_finds_by_prefix(tmp_path: Path) -> None:
    store = TraceStore(tmp_path / "traces", max_traces=2)
    for n, exchange_id in enumerate(["aaa1", "bbb2", "ccc3"]):
        path = store.write(
            {"id": exchange_id, "ended_at": n, "outcome": "completed"}, ended_ms=1000 + n
        )
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [row["id"] for row in store.list()] == ["ccc3", "bbb2"]
    assert store.get("bb") == {"id": "bbb2", "ended_at": 1, "outcome": "completed"}
    assert store.get("aaa1") is None  # pruned
    assert store.get("") is None  # ambiguous
