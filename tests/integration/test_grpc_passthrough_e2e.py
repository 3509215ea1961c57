"""Google's own client over gRPC, through the real daemon, to a gRPC stand-in for Google.

    tests.grpc_client (google-ai-generativelanguage, transport="grpc", in a subprocess with
    https_proxy and GRPC_DEFAULT_SSL_ROOTS_FILE_PATH set as a user would)
      → the daemon (mitmproxy; --simulator off, --upstream-override to the stand-in)
      → tests.grpc_upstream.GrpcUpstream (grpcio, TLS + h2, playing the simulator)

The client's calls are not exchanges of ours, so the daemon must pass them through untouched
(request and response bytes, statuses and their details, pacing) while observing the usage.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.grpc_client import run_calls
from tests.grpc_upstream import CUT_MESSAGE, GrpcUpstream
from tests.integration.harness import Daemon, get_json, running_daemon
from zerogravity_proxy.simulator import errors as sim_errors
from zerogravity_proxy.simulator.plan import ErrorReply, Flavour

MODEL = "gemini-2.5-flash"
API_KEY = [["x-goog-api-key", "client-key"]]
STREAM = "/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent"
UNARY = "/google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent"
COUNT = "/google.ai.generativelanguage.v1beta.GenerativeService/CountTokens"

JSON = dict[str, Any]


@pytest.fixture(scope="module")
def upstream() -> Iterator[GrpcUpstream]:
    with GrpcUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory, upstream: GrpcUpstream) -> Iterator[Daemon]:
    tmp: Path = tmp_path_factory.mktemp("grpc-daemon")
    args = [
        "--simulator",
        "off",
        "--upstream-override",
        upstream.url,
        "--set",
        f"ssl_verify_upstream_trusted_ca={upstream.cert_file}",
    ]
    with running_daemon(tmp, args) as daemon:
        yield daemon


@pytest.fixture
def call(proxy: Daemon, upstream: GrpcUpstream) -> Callable[..., list[JSON]]:
    """Run calls through the proxy with a clean upstream log; return the client's events."""
    upstream.clear()

    def run(*calls: JSON) -> list[JSON]:
        return run_calls(list(calls), proxy=proxy.proxy, ca_file=proxy.ca_cert, timeout=90)

    return run


def request(text: str, model: str = MODEL) -> JSON:
    return {"model": f"models/{model}", "contents": [{"role": "user", "parts": [{"text": text}]}]}


def generate(text: str, method: str = "stream", model: str = MODEL, **extra: Any) -> JSON:
    return {"method": method, "request": request(text, model), "metadata": API_KEY, **extra}


def of_call(events: list[JSON], index: int) -> tuple[JSON, list[JSON], JSON]:
    """A call's (request event, messages, final status event) from the client's events."""
    mine = [event for event in events if event["call"] == index]
    sent = [event for event in mine if "sent" in event]
    messages = [event for event in mine if "t" in event]
    ends = [event for event in mine if "status" in event]
    assert len(sent) == 1 and len(ends) == 1, mine
    return sent[0], messages, ends[0]


def assert_intact(sent: JSON, messages: list[JSON], logged: JSON) -> None:
    """What the server got is what the client sent; what the client got is what it sent."""
    assert logged["request"] == sent["sent"]
    assert logged["request_sha256"] == sent["request_sha256"]  # byte for byte
    assert [event["message"] for event in messages] == logged["sent"]
    assert logged["metadata"]["x-goog-api-key"] == "present"


def test_unary_and_stream_reach_the_client_intact(
    call: Callable[..., list[JSON]], upstream: GrpcUpstream
) -> None:
    events = call(
        generate("Hello over gRPC [[sim:events=4]]", "generate"),
        generate("Hello over gRPC [[sim:events=4]]", "stream"),
    )
    logged = upstream.requests()
    assert [entry["method"] for entry in logged] == [UNARY, STREAM]

    sent, messages, end = of_call(events, 0)
    assert end == {"call": 0, "status": "OK"}
    assert len(messages) == 1
    assert_intact(sent, messages, logged[0])
    assert logged[0]["status"] == "OK" and logged[0]["model"] == MODEL

    sent, messages, end = of_call(events, 1)
    assert end == {"call": 1, "status": "OK"}
    assert len(messages) == 4
    assert_intact(sent, messages, logged[1])
    assert logged[1]["status"] == "OK"
    assert messages[-1]["message"]["candidates"][0]["finishReason"] == "STOP"
    # the unary answer is the stream folded, so both carry the same final usage
    assert logged[0]["usage"] == logged[1]["usage"]


def test_v1_service_passes_through(call: Callable[..., list[JSON]], upstream: GrpcUpstream) -> None:
    events = call(generate("Hello v1 [[sim:events=2]]", version="v1"))
    (logged,) = upstream.requests()
    assert logged["method"] == STREAM.replace(".v1beta.", ".v1.")
    sent, messages, end = of_call(events, 0)
    assert end["status"] == "OK"
    assert_intact(sent, messages, logged)


def test_stream_is_not_buffered(call: Callable[..., list[JSON]], upstream: GrpcUpstream) -> None:
    events = call(generate("Slowly [[sim:delay=400,events=4]]"))
    (logged,) = upstream.requests()
    sent, messages, end = of_call(events, 0)
    assert end["status"] == "OK"
    assert_intact(sent, messages, logged)
    received = [event["t"] for event in messages]
    sent_at = logged["sent_at"]
    assert len(received) == len(sent_at) == 4
    assert received[0] < sent_at[-1]
    # each message reached the client before the server even produced the next one
    for index in range(3):
        assert received[index] < sent_at[index + 1], (received, sent_at)


def test_gzip_messages_pass_through(
    call: Callable[..., list[JSON]], upstream: GrpcUpstream
) -> None:
    events = call(generate("Squeeze [[sim:gzip,events=3]]"))
    (logged,) = upstream.requests()
    sent, messages, end = of_call(events, 0)
    assert end["status"] == "OK"
    assert_intact(sent, messages, logged)


def test_count_tokens_passes_through(
    call: Callable[..., list[JSON]], upstream: GrpcUpstream
) -> None:
    body = request("one two three four five")
    events = call({"method": "count", "request": body, "metadata": API_KEY})
    sent, messages, end = of_call(events, 0)
    # CountTokens is not a generate call: the daemon streams its request untouched, so the
    # upstream override must apply before mitmproxy connects (at requestheaders)
    assert end["status"] == "OK", end
    (logged,) = upstream.requests()
    assert logged["method"] == COUNT
    assert logged["request"] == sent["sent"]
    assert logged["request_sha256"] == sent["request_sha256"]
    assert [event["message"] for event in messages] == logged["sent"]
    assert messages[0]["message"]["totalTokens"] == 5


@pytest.mark.parametrize("method", ["generate", "stream"])
@pytest.mark.parametrize(
    ("directive", "expected", "delay"),
    [
        ("429", sim_errors.rate_limited(Flavour.GEMINI, MODEL), 26.0),
        ("quota", sim_errors.quota_exhausted(Flavour.GEMINI, MODEL), 43200.0),
    ],
)
def test_error_status_and_details_reach_the_client(
    call: Callable[..., list[JSON]],
    upstream: GrpcUpstream,
    method: str,
    directive: str,
    expected: ErrorReply,
    delay: float,
) -> None:
    events = call(generate(f"Fail [[sim:error={directive}]]", method))
    (logged,) = upstream.requests()
    sent, messages, end = of_call(events, 0)
    assert messages == []
    assert logged["request_sha256"] == sent["request_sha256"]
    assert logged["status"] == "RESOURCE_EXHAUSTED"
    assert end["status"] == "RESOURCE_EXHAUSTED"
    assert end["message"] == expected.error["message"]
    assert end["details"] == expected.error["details"]
    assert end["retry_delay"] == delay


def test_midstream_error_follows_the_messages(
    call: Callable[..., list[JSON]], upstream: GrpcUpstream
) -> None:
    events = call(generate("Break [[sim:error=midstream,events=5]]"))
    (logged,) = upstream.requests()
    sent, messages, end = of_call(events, 0)
    assert_intact(sent, messages, logged)
    assert len(messages) == 2
    assert logged["status"] == "UNAVAILABLE"
    expected = sim_errors.unavailable(Flavour.GEMINI, MODEL).error
    assert end == {
        "call": 0,
        "status": "UNAVAILABLE",
        "message": expected["message"],
        "details": [],
        "retry_delay": None,
    }


def test_cut_stream_ends_unavailable_after_its_messages(
    call: Callable[..., list[JSON]], upstream: GrpcUpstream
) -> None:
    """grpcio cannot reset a stream, so the stand-in's cut is an UNAVAILABLE status."""
    events = call(generate("Cut [[sim:cut=2,events=5]]"))
    (logged,) = upstream.requests()
    sent, messages, end = of_call(events, 0)
    assert_intact(sent, messages, logged)
    assert len(messages) == 2
    assert logged["status"] == "UNAVAILABLE"
    assert (end["status"], end["message"]) == ("UNAVAILABLE", CUT_MESSAGE)


# --- what the daemon observed -----------------------------------------------------------------


def scrape(daemon: Daemon) -> Samples:
    with urllib.request.urlopen(f"{daemon.sidecar}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
# Only the observation test asks for this model, so its series and usage rows are its own.
OBSERVED_MODEL = "gemini-2.5-pro"
TOKEN_COUNTERS = ("input_tokens", "output_tokens", "reasoning_output_tokens")


def observed(samples: Samples, name: str) -> float:
    labels = frozenset({("model", OBSERVED_MODEL), ("source", "observed")})
    return samples.get((f"zerogravity_{name}_total", labels), 0.0)


def usage_model(daemon: Daemon) -> JSON:
    summary = get_json(f"{daemon.sidecar}/v1/usage")
    for entry in summary["models"]:
        if entry["model"] == OBSERVED_MODEL:
            model: JSON = entry
            return model
    return {"requests": 0, "observed": 0, "prompt_tokens": 0, "output_tokens": 0}


def wait_for[T](read: Callable[[], T], done: Callable[[T], bool], timeout: float = 10) -> T:
    """The first reading `done` accepts (records are written after the response ends)."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def test_daemon_observes_the_streamed_usage(
    call: Callable[..., list[JSON]], upstream: GrpcUpstream, proxy: Daemon
) -> None:
    metrics_before = scrape(proxy)
    usage_before = usage_model(proxy)

    events = call(generate("Count me [[sim:events=3]]", model=OBSERVED_MODEL))
    (logged,) = upstream.requests()
    assert logged["model"] == OBSERVED_MODEL
    sent, messages, end = of_call(events, 0)
    assert end["status"] == "OK"
    assert_intact(sent, messages, logged)
    usage = logged["usage"]
    expected = {
        "input_tokens": usage.get("promptTokenCount", 0) + usage.get("toolUsePromptTokenCount", 0),
        "output_tokens": usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0),
        "reasoning_output_tokens": usage.get("thoughtsTokenCount", 0),
    }
    assert expected["input_tokens"] > 0 and expected["output_tokens"] > 0

    def grown(samples: Samples) -> dict[str, float]:
        return {
            name: observed(samples, name) - observed(metrics_before, name)
            for name in TOKEN_COUNTERS
        }

    metrics_after = wait_for(lambda: scrape(proxy), lambda s: grown(s)["input_tokens"] > 0)
    assert grown(metrics_after) == expected, proxy.log()[-3000:]

    usage_after = wait_for(
        lambda: usage_model(proxy), lambda u: u["requests"] > usage_before["requests"]
    )
    assert usage_after["requests"] - usage_before["requests"] == 1
    assert usage_after["observed"] - usage_before["observed"] == 1
    assert usage_after["prompt_tokens"] - usage_before["prompt_tokens"] == expected["input_tokens"]
    assert usage_after["output_tokens"] - usage_before["output_tokens"] == expected["output_tokens"]
