"""Every failure reaches the client as a precise OpenAI error, and the daemon keeps serving."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import openai
import pytest

from tests.integration.harness import Daemon

FLASH = "gemini-2.5-flash"


def post_raw(daemon: Daemon, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{daemon.base_url}/chat/completions",
        data=body,
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def ask(client: openai.OpenAI, text: str, **kw: Any) -> Any:
    return client.chat.completions.create(
        model=FLASH, messages=[{"role": "user", "content": text}], **kw
    )


def test_malformed_json(daemon: Daemon) -> None:
    status, body = post_raw(daemon, b'{"model": "gemini-2.5-flash", "messages": [')
    assert status == 400
    assert (
        body["error"]["type"] == "invalid_request_error" and body["error"]["code"] == "invalid_json"
    )


def test_missing_messages(daemon: Daemon) -> None:
    status, body = post_raw(daemon, b'{"model": "gemini-2.5-flash"}')
    assert status == 400 and body["error"]["param"] == "messages"


def test_oversized_body_then_still_serving(daemon: Daemon, client: openai.OpenAI) -> None:
    big = json.dumps(
        {"model": FLASH, "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    )
    status, body = post_raw(daemon, big.encode())
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert ask(client, "still there?").choices[0].finish_reason == "stop"


def test_unknown_model(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert e.value.code == "model_not_found" and e.value.param == "model"


def test_n_above_eight_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        ask(client, "hi", n=9)
    assert e.value.param == "n"


def test_rate_limit_has_retry_after(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        ask(client, "hi [[sim:error=429]]", stream=True)
    assert e.value.code == "rate_limit_exceeded"
    assert e.value.response.headers["retry-after"] == "26"


def test_daily_quota_is_insufficient_quota(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        ask(client, "hi [[sim:error=quota]]")
    assert e.value.code == "insufficient_quota"


def test_server_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as e500:
        ask(client, "hi [[sim:error=500]]")
    assert e500.value.status_code == 500 and e500.value.type == "server_error"
    with pytest.raises(openai.InternalServerError) as e503:
        ask(client, "hi [[sim:error=503]]")
    assert e503.value.status_code == 503


def test_context_length(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        ask(client, "hi [[sim:error=context]]")
    assert e.value.code == "context_length_exceeded"


def test_midstream_error_is_an_error_event(client: openai.OpenAI) -> None:
    stream = ask(client, "hi [[sim:error=midstream]]", stream=True)
    received: list[Any] = []
    with pytest.raises(openai.APIError) as e:
        for chunk in stream:
            received.append(chunk)
    assert received, "content arrived before the error"
    assert not any(c.choices and c.choices[0].finish_reason for c in received)
    assert e.value.code == "overloaded"


def test_cut_stream_is_an_error_not_a_stop(client: openai.OpenAI) -> None:
    stream = ask(client, "hi [[sim:cut=2]]", stream=True)
    received: list[Any] = []
    with pytest.raises(openai.APIError) as e:
        for chunk in stream:
            received.append(chunk)
    assert not any(c.choices and c.choices[0].finish_reason == "stop" for c in received)
    assert e.value.code == "stream_truncated"


def test_malformed_function_call_is_an_error(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIError) as e:
        ask(client, "hi [[sim:finish=MALFORMED_FUNCTION_CALL]]")
    assert e.value.code == "malformed_function_call"


def test_safety_block_is_content_filter(client: openai.OpenAI) -> None:
    completion = ask(client, "hi [[sim:finish=SAFETY]]")
    assert completion.choices[0].finish_reason == "content_filter"


def test_client_disconnect_cancels_exchange_and_upstream(
    client: openai.OpenAI, daemon: Daemon
) -> None:
    daemon.clear_simulator_requests()
    stream = ask(client, "slow please [[sim:events=40,delay=100]]", stream=True)
    next(iter(stream))
    stream.close()
    deadline = time.monotonic() + 10
    while daemon.health()["exchanges_in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert daemon.health()["exchanges_in_flight"] == 0
    while "outcome=cancelled" not in daemon.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "outcome=cancelled" in daemon.log()
    # The upstream request was abandoned too: the simulator never got to finish its stream.
    time.sleep(0.5)
    [upstream] = [r for r in daemon.simulator_requests() if "GenerateContent" in r["path"]]
    assert upstream["completed"] is False
    sent_then = upstream["frames_sent"]
    assert sent_then < 40
    time.sleep(0.5)
    [upstream] = [r for r in daemon.simulator_requests() if "GenerateContent" in r["path"]]
    assert upstream["frames_sent"] == sent_then, "the simulator kept streaming to nobody"


def test_exhausted_quota_is_not_retried_by_the_sdk(daemon: Daemon) -> None:
    daemon.clear_simulator_requests()
    with (
        openai.OpenAI(base_url=daemon.base_url, api_key="unused", max_retries=2) as retrying,
        pytest.raises(openai.RateLimitError) as e,
    ):
        ask(retrying, "hi [[sim:error=quota]]")
    assert e.value.response.headers["x-should-retry"] == "false"
    generations = [r for r in daemon.simulator_requests() if "GenerateContent" in r["path"]]
    assert len(generations) == 1
