"""The simulator over real loopback HTTP: framing, envelopes, auth, directives, gzip, the log."""

from __future__ import annotations

import asyncio
import gzip
import os
import sys
import time
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from zerogravity_proxy.simulator import DUMMY_SIGNATURE, SimConfig, Simulator
from zerogravity_proxy.simulator.errors import MISSING_SIGNATURE

JSON = dict[str, Any]
KEY = {"x-goog-api-key": "test-key", "Accept-Encoding": "identity"}
BEARER = {"Authorization": "Bearer ya29.test", "Accept-Encoding": "identity"}
GEMINI3 = "gemini-3-flash"
WEATHER = {
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
TIME = {"name": "get_time", "parameters": {"type": "object", "properties": {}}}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator()
    await simulator.start("127.0.0.1", 0)
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def request(text: str = "Hello there", **extra: Any) -> JSON:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


def wrap(inner: JSON, model: str = GEMINI3) -> JSON:
    return {
        "model": model,
        "project": "robotic-victory-pst7f0",
        "request": inner,
        "requestId": "agent/1/2/3/1",
        "userAgent": "antigravity",
        "requestType": "agent",
    }


def gemini_url(
    sim: Simulator, method: str, model: str = "gemini-2.5-flash", query: str = ""
) -> str:
    return f"{sim.base_url}/v1beta/models/{model}:{method}{query}"


def cloud_url(sim: Simulator, method: str, query: str = "") -> str:
    return f"{sim.base_url}/v1internal:{method}{query}"


async def post(
    session: aiohttp.ClientSession, url: str, body: Any, headers: dict[str, str]
) -> tuple[int, Any, bytes]:
    async with session.post(url, json=body, headers=headers) as resp:
        return resp.status, resp.headers, await resp.read()


def sse_events(raw: bytes, newline: bytes) -> list[JSON]:
    separator = newline * 2
    assert raw.endswith(separator)
    frames = raw[: -len(separator)].split(separator)
    assert all(frame.startswith(b"data: ") and newline not in frame for frame in frames)
    return [orjson.loads(frame[len(b"data: ") :]) for frame in frames]


def text_of(chunks: list[JSON]) -> str:
    return "".join(
        part.get("text", "")
        for chunk in chunks
        for candidate in chunk.get("candidates", [])
        for part in candidate.get("content", {}).get("parts", [])
        if not part.get("thought")
    )


async def http_chunks(resp: aiohttp.ClientResponse) -> list[bytes]:
    """The body as the HTTP chunks it was written in."""
    chunks: list[bytes] = []
    current = b""
    async for data, end_of_chunk in resp.content.iter_chunks():
        current += data
        if end_of_chunk and current:
            chunks.append(current)
            current = b""
    if current:
        chunks.append(current)
    return chunks


# --- framing ---------------------------------------------------------------------------------


async def test_public_sse_uses_crlf_and_no_envelope(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = gemini_url(sim, "streamGenerateContent", query="?alt=sse")
    status, headers, raw = await post(session, url, request("Hi"), KEY)
    assert status == 200
    assert headers["Content-Type"] == "text/event-stream"
    assert headers["Server"] == "ESF"
    assert "Content-Encoding" not in headers
    events = sse_events(raw, b"\r\n")
    assert b"\n\n" not in raw.replace(b"\r\n", b"")
    assert all("candidates" in event and "response" not in event for event in events)
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert text_of(events).startswith("You said: Hi.")


async def test_public_sse_line_ending_is_configurable(session: aiohttp.ClientSession) -> None:
    async with Simulator(SimConfig(gemini_sse_newline="\n")) as simulator:
        url = gemini_url(simulator, "streamGenerateContent", query="?alt=sse")
        _, _, raw = await post(session, url, request(), KEY)
    assert b"\r" not in raw and sse_events(raw, b"\n")


async def test_cloud_code_sse_uses_lf_and_the_envelope(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    status, headers, raw = await post(
        session, cloud_url(sim, "streamGenerateContent", "?alt=sse"), wrap(request()), BEARER
    )
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    assert b"\r" not in raw
    events = sse_events(raw, b"\n")
    trace = headers["X-Cloudaicompanion-Trace-Id"]
    assert all(set(event) == {"response", "traceId"} for event in events)
    assert {event["traceId"] for event in events} == {trace}
    chunks = [event["response"] for event in events]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]


async def test_json_array_stream_writes_one_element_at_a_time(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = gemini_url(sim, "streamGenerateContent")
    async with session.post(url, json=request("Hi [[sim:delay=30]]"), headers=KEY) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json; charset=UTF-8"
        chunks = await http_chunks(resp)
    body = b"".join(chunks)
    elements = orjson.loads(body)
    assert chunks[0].startswith(b"[{") and chunks[1].startswith(b"\r\n,\r\n{")
    assert chunks[-1] == b"]" and len(chunks) == len(elements) + 1
    assert text_of(elements).startswith("You said: Hi.")


async def test_sse_events_are_separate_writes(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = gemini_url(sim, "streamGenerateContent", query="?alt=sse")
    async with session.post(url, json=request("Hi [[sim:delay=30]]"), headers=KEY) as resp:
        chunks = await http_chunks(resp)
    assert all(chunk.startswith(b"data: ") and chunk.count(b"data: ") == 1 for chunk in chunks)


async def test_unary_public_and_cloud_code(sim: Simulator, session: aiohttp.ClientSession) -> None:
    status, headers, raw = await post(session, gemini_url(sim, "generateContent"), request(), KEY)
    assert status == 200 and headers["Content-Type"] == "application/json; charset=UTF-8"
    assert raw.startswith(b'{\n  "candidates"')
    response = orjson.loads(raw)
    parts = response["candidates"][0]["content"]["parts"]
    assert len(parts) == 1 and parts[0]["text"].startswith("You said: Hello there.")
    status, headers, raw = await post(
        session, cloud_url(sim, "generateContent"), wrap(request()), BEARER
    )
    wrapped = orjson.loads(raw)
    assert status == 200 and set(wrapped) == {"response", "traceId"}
    assert wrapped["traceId"] == headers["X-Cloudaicompanion-Trace-Id"]
    part = wrapped["response"]["candidates"][0]["content"]["parts"][0]
    assert part["text"].startswith("You said:") and part["thoughtSignature"]


async def test_same_request_same_bytes(sim: Simulator, session: aiohttp.ClientSession) -> None:
    url = cloud_url(sim, "streamGenerateContent", "?alt=sse")
    first = await post(session, url, wrap(request("same")), BEARER)
    second = await post(session, url, wrap(request("same")), BEARER)
    assert first[2] == second[2]


# --- auth ------------------------------------------------------------------------------------


async def test_public_without_key_is_403(sim: Simulator, session: aiohttp.ClientSession) -> None:
    headers = {"Accept-Encoding": "identity"}
    status, _, raw = await post(session, gemini_url(sim, "generateContent"), request(), headers)
    error = orjson.loads(raw)["error"]
    assert status == 403 and error["status"] == "PERMISSION_DENIED" and error["code"] == 403
    assert error["message"].startswith("Method doesn't allow unregistered callers")
    status, _, _ = await post(
        session, gemini_url(sim, "generateContent", query="?key=k"), request(), headers
    )
    assert status == 200


async def test_cloud_code_without_bearer_is_401(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = cloud_url(sim, "streamGenerateContent", "?alt=sse")
    status, headers, raw = await post(
        session, url, wrap(request()), {"Accept-Encoding": "identity"}
    )
    error = orjson.loads(raw)["error"]
    assert status == 401 and error["status"] == "UNAUTHENTICATED"
    assert error["details"][0]["reason"] == "CREDENTIALS_MISSING"
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert headers["Content-Type"] == "text/event-stream"


# --- directives over HTTP ---------------------------------------------------------------------


async def test_429_public_is_plain_json(sim: Simulator, session: aiohttp.ClientSession) -> None:
    url = gemini_url(sim, "streamGenerateContent", query="?alt=sse")
    status, headers, raw = await post(session, url, request("x [[sim:error=429]]"), KEY)
    assert status == 429 and headers["Content-Type"] == "application/json; charset=UTF-8"
    error = orjson.loads(raw)["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    retry = next(d for d in error["details"] if d["@type"].endswith("RetryInfo"))
    assert retry["retryDelay"] == "26s"


async def test_429_cloud_code_is_array_wrapped_on_an_sse_content_type(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = cloud_url(sim, "streamGenerateContent", "?alt=sse")
    status, headers, raw = await post(session, url, wrap(request("x [[sim:error=429]]")), BEARER)
    assert status == 429 and headers["Content-Type"] == "text/event-stream"
    assert headers["Content-Length"] == str(len(raw))
    body = orjson.loads(raw)
    assert isinstance(body, list) and len(body) == 1
    error = body[0]["error"]
    assert error["code"] == 429
    assert {d["@type"].rsplit(".", 1)[1]: d for d in error["details"]}["RetryInfo"] == {
        "@type": "type.googleapis.com/google.rpc.RetryInfo",
        "retryDelay": "26s",
    }


@pytest.mark.parametrize(
    ("directive", "status", "name"),
    [
        ("quota", 429, "RESOURCE_EXHAUSTED"),
        ("500", 500, "INTERNAL"),
        ("503", 503, "UNAVAILABLE"),
        ("context", 400, "INVALID_ARGUMENT"),
    ],
)
async def test_error_directives(
    sim: Simulator, session: aiohttp.ClientSession, directive: str, status: int, name: str
) -> None:
    body = request(f"x [[sim:error={directive}]]")
    got, _, raw = await post(session, gemini_url(sim, "generateContent"), body, KEY)
    assert got == status and orjson.loads(raw)["error"]["status"] == name


async def test_array_stream_errors_are_array_wrapped(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = gemini_url(sim, "streamGenerateContent")
    status, _, raw = await post(session, url, request("x [[sim:error=500]]"), KEY)
    assert status == 500 and orjson.loads(raw)[0]["error"]["status"] == "INTERNAL"


async def test_schema_400_over_http(sim: Simulator, session: aiohttp.ClientSession) -> None:
    declaration = {"name": "f", "parameters": {"type": "object", "additionalProperties": False}}
    body = request(tools=[{"functionDeclarations": [declaration]}])
    status, _, raw = await post(session, gemini_url(sim, "generateContent"), body, KEY)
    assert status == 400
    assert orjson.loads(raw)["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "additionalProperties" at '
        "'tools[0].function_declarations[0].parameters': Cannot find field."
    )


async def test_midstream_error_event(sim: Simulator, session: aiohttp.ClientSession) -> None:
    url = cloud_url(sim, "streamGenerateContent", "?alt=sse")
    status, _, raw = await post(session, url, wrap(request("x [[sim:error=midstream]]")), BEARER)
    events = sse_events(raw, b"\n")
    assert status == 200 and len(events) == 3
    assert all("finishReason" not in e["response"]["candidates"][0] for e in events[:2])
    assert events[-1] == {"error": events[-1]["error"]} and events[-1]["error"]["code"] == 503


async def test_cut_truncates_the_stream(sim: Simulator, session: aiohttp.ClientSession) -> None:
    url = gemini_url(sim, "streamGenerateContent", query="?alt=sse")
    received = b""
    async with session.post(url, json=request("x [[sim:cut=2]]"), headers=KEY) as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            async for data in resp.content.iter_any():
                received += data
    events = sse_events(received, b"\r\n")
    assert len(events) == 2
    assert all("finishReason" not in event["candidates"][0] for event in events)


async def test_cut_unary_body_is_short(sim: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.post(
        gemini_url(sim, "generateContent"), json=request("x [[sim:cut=1]]"), headers=KEY
    ) as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()


async def test_stall_trips_an_idle_timeout_and_stop_is_prompt(
    session: aiohttp.ClientSession,
) -> None:
    simulator = Simulator()
    await simulator.start()
    url = gemini_url(simulator, "streamGenerateContent", query="?alt=sse")
    timeout = aiohttp.ClientTimeout(sock_read=0.3)
    first = b""
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        async with session.post(
            url, json=request("x [[sim:stall=30]]"), headers=KEY, timeout=timeout
        ) as resp:
            async for data in resp.content.iter_any():
                first += data
    assert time.monotonic() - started < 5
    assert len(sse_events(first, b"\r\n")) == 1
    stopping = time.monotonic()
    await simulator.stop()
    assert time.monotonic() - stopping < 5


async def test_delay_paces_chunks(sim: Simulator, session: aiohttp.ClientSession) -> None:
    url = gemini_url(sim, "streamGenerateContent", query="?alt=sse")
    started = time.monotonic()
    _, _, raw = await post(session, url, request("x [[sim:events=5,delay=60]]"), KEY)
    assert time.monotonic() - started >= 0.2
    assert len(sse_events(raw, b"\r\n")) == 5


# --- gzip ---------------------------------------------------------------------------------------


async def test_gzip_when_accepted_each_event_flushed(sim: Simulator) -> None:
    headers = {**KEY, "Accept-Encoding": "gzip"}
    url = gemini_url(sim, "streamGenerateContent", query="?alt=sse")
    async with aiohttp.ClientSession(auto_decompress=False) as raw_session:
        async with raw_session.post(
            url, json=request("Hi [[sim:delay=20]]"), headers=headers
        ) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            chunks = await http_chunks(resp)
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        frames = [decoder.decompress(chunk) for chunk in chunks]
        assert decoder.eof
        assert all(frame.startswith(b"data: ") for frame in frames if frame)
        _, _, plain = await post(raw_session, url, request("Hi [[sim:delay=20]]"), KEY)
    assert b"".join(frames) == plain


async def test_gzip_directive_forces_compression(sim: Simulator) -> None:
    async with aiohttp.ClientSession(auto_decompress=False) as raw_session:
        url = cloud_url(sim, "generateContent")
        status, headers, raw = await post(raw_session, url, wrap(request("x [[sim:gzip]]")), BEARER)
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert orjson.loads(gzip.decompress(raw))["response"]["candidates"]


# --- thought signatures end to end ----------------------------------------------------------


async def first_turn(sim: Simulator, session: aiohttp.ClientSession) -> JSON:
    inner = request(
        "use get_weather and get_time", tools=[{"functionDeclarations": [WEATHER, TIME]}]
    )
    _, _, raw = await post(
        session, cloud_url(sim, "streamGenerateContent", "?alt=sse"), wrap(inner), BEARER
    )
    model_content: JSON = sse_events(raw, b"\n")[-1]["response"]["candidates"][0]["content"]
    return model_content


def second_turn(model_content: JSON) -> JSON:
    responses = [
        {"functionResponse": {"name": part["functionCall"]["name"], "response": {"result": "ok"}}}
        for part in model_content["parts"]
    ]
    return {
        "contents": [
            {"role": "user", "parts": [{"text": "use get_weather and get_time"}]},
            model_content,
            {"role": "user", "parts": responses},
        ],
        "tools": [{"functionDeclarations": [WEATHER, TIME]}],
    }


async def test_parallel_calls_and_signature_round_trip(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    content = await first_turn(sim, session)
    parts = content["parts"]
    assert [p["functionCall"]["name"] for p in parts] == ["get_weather", "get_time"]
    assert "thoughtSignature" in parts[0] and "thoughtSignature" not in parts[1]
    sim.clear_requests()
    url = cloud_url(sim, "streamGenerateContent", "?alt=sse")
    status, _, raw = await post(session, url, wrap(second_turn(content)), BEARER)
    assert status == 200
    answer = text_of([event["response"] for event in sse_events(raw, b"\n")])
    assert 'get_weather returned {"result": "ok"}.' in answer and "get_time returned" in answer
    [entry] = sim.requests
    assert entry["signatures_enforced"] is True
    assert entry["signatures"] == [{"position": 2, "name": "get_weather", "result": "real"}]


@pytest.mark.parametrize(
    ("signature", "status", "result"),
    [(None, 400, "missing"), ("Zm9yZ2Vk", 400, "invalid"), (DUMMY_SIGNATURE, 200, "dummy")],
)
async def test_replayed_signature_verdicts(
    sim: Simulator, session: aiohttp.ClientSession, signature: str | None, status: int, result: str
) -> None:
    content = await first_turn(sim, session)
    if signature is None:
        del content["parts"][0]["thoughtSignature"]
    else:
        content["parts"][0]["thoughtSignature"] = signature
    sim.clear_requests()
    url = cloud_url(sim, "streamGenerateContent", "?alt=sse")
    got, _, raw = await post(session, url, wrap(second_turn(content)), BEARER)
    assert got == status
    assert sim.requests[0]["signatures"][0]["result"] == result
    if signature is None:
        expected = MISSING_SIGNATURE.format(name="get_weather", position=2)
        assert orjson.loads(raw)["error"]["message"] == expected


# --- grounding and usage over HTTP ------------------------------------------------------------


async def test_grounding_and_usage_on_the_stream(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = gemini_url(sim, "streamGenerateContent", query="?alt=sse")
    _, _, raw = await post(session, url, request("café ☕", tools=[{"googleSearch": {}}]), KEY)
    events = sse_events(raw, b"\r\n")
    text = text_of(events).encode()
    supports = events[-1]["candidates"][0]["groundingMetadata"]["groundingSupports"]
    for support in supports:
        segment = support["segment"]
        assert text[segment.get("startIndex", 0) : segment["endIndex"]].decode() == segment["text"]
    totals = [event["usageMetadata"]["totalTokenCount"] for event in events]
    assert totals == sorted(totals)
    final = events[-1]["usageMetadata"]
    assert final["totalTokenCount"] == (
        final["promptTokenCount"]
        + final["candidatesTokenCount"]
        + final.get("thoughtsTokenCount", 0)
        + final["toolUsePromptTokenCount"]
    )


async def test_max_tokens_and_stop_sequences(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = gemini_url(sim, "streamGenerateContent", model="gemini-2.0-flash", query="?alt=sse")
    body = request("a b c d e f", generationConfig={"maxOutputTokens": 4})
    events = sse_events((await post(session, url, body, KEY))[2], b"\r\n")
    assert text_of(events) == "You said: a b"
    assert events[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"
    body = request("a zebra b", generationConfig={"stopSequences": ["zebra"]})
    events = sse_events((await post(session, url, body, KEY))[2], b"\r\n")
    assert text_of(events) == "You said: a "
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"


# --- the request log and the other endpoints ------------------------------------------------


async def test_request_log_redacts_and_clears(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    await post(
        session,
        gemini_url(sim, "generateContent", query="?key=secret"),
        request(),
        {"X-Extra": "1"},
    )
    await post(session, cloud_url(sim, "generateContent"), wrap(request()), BEARER)
    async with session.get(f"{sim.base_url}/_sim/requests") as resp:
        log = await resp.json()
    assert [entry["path"] for entry in log] == [
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "/v1internal:generateContent",
    ]
    public, cloud = log
    assert public["query"] == {"key": "present"} and public["headers"]["x-extra"] == "1"
    assert public["method"] == "POST" and public["status"] == 200
    assert public["body"] == request() and public["model"] == "gemini-2.5-flash"
    assert cloud["headers"]["authorization"] == "present" and cloud["model"] == GEMINI3
    assert "secret" not in orjson.dumps(log).decode()
    async with session.delete(f"{sim.base_url}/_sim/requests") as resp:
        assert (await resp.json()) == {"cleared": 2}
    assert sim.requests == []


async def test_request_log_is_bounded(session: aiohttp.ClientSession) -> None:
    async with Simulator(SimConfig(request_log_size=3)) as simulator:
        for index in range(5):
            await post(session, gemini_url(simulator, "generateContent"), request(f"n{index}"), KEY)
        texts = [entry["body"]["contents"][0]["parts"][0]["text"] for entry in simulator.requests]
    assert texts == ["n2", "n3", "n4"]


async def test_model_lists_and_housekeeping(session: aiohttp.ClientSession) -> None:
    clock = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    async with Simulator(SimConfig(clock=lambda: clock)) as simulator:
        async with session.get(f"{simulator.base_url}/v1beta/models", headers=KEY) as resp:
            models = (await resp.json())["models"]
        assert resp.status == 200 and all(m["name"].startswith("models/") for m in models)
        _, _, raw = await post(session, cloud_url(simulator, "fetchAvailableModels"), {}, BEARER)
        available = orjson.loads(raw)["models"]
        flash = available["gemini-3-flash"]
        assert flash["model"] == "MODEL_PLACEHOLDER_M18"
        assert flash["quotaInfo"] == {"remainingFraction": 0.8, "resetTime": "2026-01-01T17:00:00Z"}
        for method in ("loadCodeAssist", "fetchUserInfo", "recordCodeAssistMetrics", "onboardUser"):
            status, headers, raw = await post(session, cloud_url(simulator, method), {}, BEARER)
            assert status == 200 and isinstance(orjson.loads(raw), dict)
            assert headers["X-Cloudaicompanion-Trace-Id"]
        status, _, raw = await post(session, cloud_url(simulator, "nope"), {}, BEARER)
        assert status == 404 and orjson.loads(raw)["error"]["status"] == "NOT_FOUND"


async def test_count_tokens(sim: Simulator, session: aiohttp.ClientSession) -> None:
    _, _, raw = await post(session, gemini_url(sim, "countTokens"), request("one two three"), KEY)
    assert orjson.loads(raw)["totalTokens"] == 3
    body = {"request": {"model": "models/gemini-3-flash", "contents": request("a b")["contents"]}}
    _, _, raw = await post(session, cloud_url(sim, "countTokens"), body, BEARER)
    assert orjson.loads(raw) == {"totalTokens": 2}


async def test_invalid_json_body(sim: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.post(gemini_url(sim, "generateContent"), data=b"{nope", headers=KEY) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["message"].startswith("Invalid JSON payload received.")


async def test_fifty_concurrent_benchmark_streams(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    url = cloud_url(sim, "streamGenerateContent", "?alt=sse")

    async def one(index: int) -> int:
        body = wrap(request(f"bench {index} [[sim:events=50,size=20]]"))
        _, _, raw = await post(session, url, body, BEARER)
        events = sse_events(raw, b"\n")
        return sum(
            1
            for event in events
            for part in event["response"]["candidates"][0].get("content", {}).get("parts", [])
            if part.get("text")
        )

    started = time.monotonic()
    counts = await asyncio.gather(*(one(index) for index in range(50)))
    assert counts == [50] * 50
    assert time.monotonic() - started < 10


async def test_command_line_entry_point() -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "zerogravity_proxy.simulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        base = line.rsplit(" ", 1)[1].strip()
        assert base.startswith("http://127.0.0.1:")
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"{base}/v1beta/models", headers=KEY) as resp,
        ):
            assert resp.status == 200
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 20) == 0


async def test_unary_takes_as_long_as_the_stream(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    started = time.monotonic()
    status, _, _ = await post(
        session, gemini_url(sim, "generateContent"), request("x [[sim:events=5,delay=60]]"), KEY
    )
    assert status == 200 and time.monotonic() - started >= 0.2
