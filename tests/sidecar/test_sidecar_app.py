"""The sidecar app on real loopback sockets, with stub drivers that script the upstream side.

A stub driver stands where the direct driver and the proxy would: it takes the exchange (as
the inject addon does) and delivers event batches (as the capture addon does).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from aiohttp.test_utils import TestServer
from openai.types.chat import ChatCompletionMessageParam

from zerogravity_proxy.events import Event, Finish, TextDelta, UpstreamError, Usage
from zerogravity_proxy.exchanges import Exchange, Outcome
from zerogravity_proxy.runtime import Runtime
from zerogravity_proxy.settings import Settings
from zerogravity_proxy.sidecar import chat as sidecar_chat
from zerogravity_proxy.sidecar.app import create_app
from zerogravity_proxy.store.responses import ResponseStore

JSON = dict[str, Any]
Script = Callable[[Runtime, Exchange], Awaitable[None]]

MODEL = "gemini-2.5-flash"
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello"}]
USAGE = Usage(prompt=5, candidates=2, thoughts=1, total=8)
ANSWER: list[list[Event]] = [
    [TextDelta("Hello")],
    [TextDelta(", world")],
    [Finish("STOP"), USAGE],
]
RATE_LIMITED = UpstreamError(
    429,
    "RESOURCE_EXHAUSTED",
    "Resource has been exhausted (e.g. check quota).",
    retry_delay=26,
    quota="rate_limit",
)
OVERLOADED = UpstreamError(503, "UNAVAILABLE", "The model is overloaded.")


# --- stub drivers ---------------------------------------------------------------------------


def take(runtime: Runtime, exchange: Exchange) -> Exchange:
    taken = runtime.exchanges.take(exchange.id, "stub")
    assert taken is exchange
    return taken


def deliver(exchange: Exchange, *batches: list[Event]) -> None:
    for batch in batches:
        exchange.deliver(batch, time.monotonic())


async def forever() -> None:
    await asyncio.Event().wait()


async def never_sends(runtime: Runtime, exchange: Exchange) -> None:
    await forever()


def answers(*batches: list[Event], end: bool = True) -> Script:
    async def script(runtime: Runtime, exchange: Exchange) -> None:
        take(runtime, exchange)
        for batch in batches:
            await asyncio.sleep(0)  # batches arrive one by one, as chunks do
            deliver(exchange, batch)
        if end:
            exchange.upstream_done()
        else:
            await forever()  # the upstream goes silent, the connection stays open

    return script


async def takes_then_silent(runtime: Runtime, exchange: Exchange) -> None:
    take(runtime, exchange)
    await forever()


@dataclass
class StubDriver:
    runtime: Runtime
    script: Script
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def start(self, exchange: Exchange) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._run(exchange))
        self.tasks.append(task)
        return task

    async def _run(self, exchange: Exchange) -> None:
        try:
            await self.script(self.runtime, exchange)
        except asyncio.CancelledError:
            self.cancelled.append(exchange.id)
            raise


# --- the server -----------------------------------------------------------------------------


@dataclass
class Sidecar:
    runtime: Runtime
    driver: StubDriver
    url: str
    http: aiohttp.ClientSession
    ended: list[Exchange]
    end_signal: asyncio.Event

    def client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=f"{self.url}/v1",
            api_key="unused",
            max_retries=0,
            timeout=10,
            _strict_response_validation=True,
        )

    async def post(self, body: JSON, path: str = "/v1/chat/completions") -> aiohttp.ClientResponse:
        return await self.http.post(f"{self.url}{path}", json=body)

    async def wait_ended(self, count: int, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.ended) < count:
                self.end_signal.clear()
                await self.end_signal.wait()

    async def settled(self, *outcomes: Outcome) -> list[Exchange]:
        """Every exchange ended exactly once, with these outcomes; none is left in flight."""
        await self.wait_ended(len(outcomes))
        assert [e.outcome for e in self.ended] == list(outcomes)
        assert all(count == 1 for count in Counter(id(e) for e in self.ended).values())
        assert len(self.runtime.exchanges) == 0
        # Whatever the driver still ran was abandoned with its exchange.
        pending = [task for task in self.driver.tasks if not task.done()]
        if pending:
            _, still_running = await asyncio.wait(pending, timeout=1)
            assert not still_running
        return self.ended


@asynccontextmanager
async def serve(script: Script, settings: Settings | None = None) -> AsyncIterator[Sidecar]:
    runtime = Runtime(settings or Settings())
    ended: list[Exchange] = []
    end_signal = asyncio.Event()

    def on_end(exchange: Exchange) -> None:
        ended.append(exchange)
        end_signal.set()

    runtime.exchanges.on_end = on_end
    driver = StubDriver(runtime, script)
    with tempfile.TemporaryDirectory() as tmp:
        store = ResponseStore(Path(tmp) / "responses.sqlite3", retention=3600, max_rows=100)
        async with aiohttp.ClientSession() as upstream_http, aiohttp.ClientSession() as client_http:
            app = create_app(runtime, driver, upstream_http, store)
            server = TestServer(app, host="127.0.0.1", port=0)
            await server.start_server()
            try:
                url = str(server.make_url("")).rstrip("/")
                yield Sidecar(runtime, driver, url, client_http, ended, end_signal)
            finally:
                await server.close()
                await store.close()
                for task in driver.tasks:
                    task.cancel()


def chat(stream: bool = False, **extra: Any) -> JSON:
    return {"model": MODEL, "messages": MESSAGES, "stream": stream, **extra}


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> JSON:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


async def sse_payloads(resp: aiohttp.ClientResponse) -> list[str]:
    text = (await resp.read()).decode()
    assert text.endswith("\n\n")
    events = text.split("\n\n")[:-1]
    assert all(e.startswith("data: ") for e in events), events
    return [e.removeprefix("data: ") for e in events]


# --- the match gate, the idle clock ---------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_unmatched_exchange_fails_after_gate_timeout(stream: bool) -> None:
    async with serve(never_sends, Settings(gate_timeout=0.2)) as sidecar:
        started = time.monotonic()
        resp = await sidecar.post(chat(stream=stream))
        elapsed = time.monotonic() - started
        assert resp.status == 502
        assert resp.content_type == "application/json"
        message = "The upstream request was not matched within 0.2s."
        assert await resp.json() == error_body(message, "api_error", "upstream_not_matched")
        assert 0.2 <= elapsed < 1.5
        [exchange] = await sidecar.settled(Outcome.FAILED)
        assert exchange.reason == f"upstream_not_matched: {message}"
        assert not exchange.matched.is_set()
        assert sidecar.driver.cancelled == [exchange.id]


async def test_idle_stream_times_out() -> None:
    settings = Settings(gate_timeout=0.2, idle_timeout=0.3)
    async with serve(takes_then_silent, settings) as sidecar:
        resp = await sidecar.post(chat(stream=True))
        assert resp.status == 504
        message = "The upstream stream was idle for 0.3s."
        assert await resp.json() == error_body(message, "server_error", "upstream_idle_timeout")
        [exchange] = await sidecar.settled(Outcome.FAILED)
        assert exchange.rule == "stub"
        assert exchange.reason == f"upstream_idle_timeout: {message}"
        assert sidecar.driver.cancelled == [exchange.id]


async def test_idle_after_some_content_times_out_in_stream() -> None:
    settings = Settings(gate_timeout=0.2, idle_timeout=0.3)
    async with serve(answers([TextDelta("Hel")], end=False), settings) as sidecar:
        resp = await sidecar.post(chat(stream=True))
        assert resp.status == 200
        payloads = await sse_payloads(resp)
        assert payloads[-1] == "[DONE]"
        assert '"content":"Hel"' in payloads[1]
        assert payloads[-2] == (
            '{"error":{"message":"The upstream stream was idle for 0.3s.",'
            '"type":"server_error","param":null,"code":"upstream_idle_timeout"}}'
        )
        await sidecar.settled(Outcome.FAILED)


async def test_request_timeout_ends_a_dribbling_stream() -> None:
    async def dribbles(runtime: Runtime, exchange: Exchange) -> None:
        take(runtime, exchange)
        while True:
            deliver(exchange, [TextDelta(".")])
            await asyncio.sleep(0.05)

    settings = Settings(gate_timeout=0.2, idle_timeout=10, request_timeout=0.4)
    async with serve(dribbles, settings) as sidecar:
        resp = await sidecar.post(chat(stream=True))
        assert resp.status == 200
        payloads = await sse_payloads(resp)
        assert payloads[-2:] == [
            '{"error":{"message":"The request did not complete within 0.4s.",'
            '"type":"server_error","param":null,"code":"request_timeout"}}',
            "[DONE]",
        ]
        assert len(payloads) > 4  # the dots did stream before the deadline
        [exchange] = await sidecar.settled(Outcome.FAILED)
        assert exchange.reason == "request_timeout: The request did not complete within 0.4s."
        assert sidecar.driver.cancelled == [exchange.id]


async def test_idle_clock_starts_at_the_match() -> None:
    settings = Settings(gate_timeout=1.0, idle_timeout=0.1)
    async with serve(takes_then_silent, settings) as sidecar:
        started = time.monotonic()
        resp = await sidecar.post(chat())
        elapsed = time.monotonic() - started
        assert resp.status == 504
        await sidecar.settled(Outcome.FAILED)
        assert elapsed < 0.6


# --- answers through the official client ----------------------------------------------------


async def test_non_streaming_answer() -> None:
    async with serve(answers(*ANSWER)) as sidecar, sidecar.client() as client:
        completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        assert completion.object == "chat.completion"
        assert completion.id.startswith("chatcmpl-")
        assert completion.model == MODEL
        [choice] = completion.choices
        assert choice.index == 0
        assert choice.finish_reason == "stop"
        assert choice.message.role == "assistant"
        assert choice.message.content == "Hello, world"
        assert choice.message.tool_calls is None
        assert completion.usage is not None
        assert completion.usage.prompt_tokens == 5
        assert completion.usage.completion_tokens == 3
        assert completion.usage.total_tokens == 8
        details = completion.usage.completion_tokens_details
        assert details is not None and details.reasoning_tokens == 1

        [exchange] = await sidecar.settled(Outcome.COMPLETED)
        assert exchange.reason is None
        assert exchange.endpoint == "chat.completions"
        assert exchange.rule == "stub"
        assert exchange.spec.model == MODEL and exchange.spec.upstream_model == MODEL
        assert exchange.spec.contents == [{"role": "user", "parts": [{"text": "Say hello"}]}]
        assert exchange.first_event_at is not None


async def test_streaming_answer() -> None:
    async with serve(answers(*ANSWER)) as sidecar, sidecar.client() as client:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        with_choices = [c for c in chunks if c.choices]
        assert [c.choices[0].delta.content for c in with_choices] == ["", "Hello", ", world", None]
        assert with_choices[0].choices[0].delta.role == "assistant"
        assert [c.choices[0].finish_reason for c in with_choices] == [None, None, None, "stop"]
        assert len({c.id for c in chunks}) == 1
        assert all(c.object == "chat.completion.chunk" and c.model == MODEL for c in chunks)
        last = chunks[-1]
        assert last.choices == []
        assert last.usage is not None
        assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (5, 3)
        assert last.usage.total_tokens == 8
        await sidecar.settled(Outcome.COMPLETED)


async def test_streaming_wire_format() -> None:
    async with serve(answers(*ANSWER)) as sidecar:
        resp = await sidecar.post(chat(stream=True))
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert resp.headers["Cache-Control"] == "no-cache"
        payloads = await sse_payloads(resp)
        assert payloads[-1] == "[DONE]"
        assert len(payloads) == 5  # role, two deltas, finish, [DONE]: no usage unless asked
        await sidecar.settled(Outcome.COMPLETED)


async def test_stream_that_ends_without_finish_is_an_error() -> None:
    async with serve(answers([TextDelta("Hel")])) as sidecar:
        resp = await sidecar.post(chat())
        assert resp.status == 502
        assert await resp.json() == error_body(
            "upstream ended without finishing", "api_error", "upstream_incomplete"
        )
        [exchange] = await sidecar.settled(Outcome.FAILED)
        assert exchange.reason == "upstream_incomplete: upstream ended without finishing"


# --- upstream errors ------------------------------------------------------------------------

RATE_LIMIT_BODY = error_body(
    "Resource has been exhausted (e.g. check quota). Please try again in 26s.",
    "requests",
    "rate_limit_exceeded",
)


@pytest.mark.parametrize("stream", [False, True])
async def test_rate_limit_before_content_is_a_real_429(stream: bool) -> None:
    async with serve(answers([RATE_LIMITED])) as sidecar:
        resp = await sidecar.post(chat(stream=stream))
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "26"
        assert resp.content_type == "application/json"
        assert await resp.json() == RATE_LIMIT_BODY
        [exchange] = await sidecar.settled(Outcome.FAILED)
        assert exchange.reason == (
            "rate_limit_exceeded: Resource has been exhausted (e.g. check quota). "
            "Please try again in 26s."
        )


async def test_rate_limit_reaches_the_sdk_as_rate_limit_error() -> None:
    async with serve(answers([RATE_LIMITED])) as sidecar, sidecar.client() as client:
        with pytest.raises(openai.RateLimitError) as info:
            await client.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                stream=True,
            )
        assert info.value.status_code == 429
        assert info.value.code == "rate_limit_exceeded"
        assert info.value.response.headers["retry-after"] == "26"
        await sidecar.settled(Outcome.FAILED)


async def test_error_after_content_ends_the_stream_with_an_error_event() -> None:
    script = answers([TextDelta("Partial")], [OVERLOADED])
    async with serve(script) as sidecar, sidecar.client() as client:
        stream = await client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            stream=True,
        )
        received: list[str | None] = []
        with pytest.raises(openai.APIError) as info:
            async for chunk in stream:
                received.append(chunk.choices[0].delta.content)
        assert received == ["", "Partial"]
        assert not isinstance(info.value, openai.APIStatusError)
        assert info.value.message == "The model is overloaded."
        assert info.value.body == {
            "message": "The model is overloaded.",
            "type": "server_error",
            "param": None,
            "code": "overloaded",
        }
        [exchange] = await sidecar.settled(Outcome.FAILED)
        assert exchange.reason == "overloaded: The model is overloaded."


async def test_error_after_content_wire_format() -> None:
    script = answers([TextDelta("Partial")], [OVERLOADED])
    async with serve(script) as sidecar:
        resp = await sidecar.post(chat(stream=True))
        assert resp.status == 200
        payloads = await sse_payloads(resp)
        assert payloads[-2:] == [
            '{"error":{"message":"The model is overloaded.","type":"server_error",'
            '"param":null,"code":"overloaded"}}',
            "[DONE]",
        ]
        await sidecar.settled(Outcome.FAILED)


async def test_error_after_content_without_streaming_is_a_status() -> None:
    script = answers([TextDelta("Partial")], [OVERLOADED])
    async with serve(script) as sidecar:
        resp = await sidecar.post(chat())
        assert resp.status == 503
        assert "Retry-After" not in resp.headers
        assert await resp.json() == error_body(
            "The model is overloaded.", "server_error", "overloaded"
        )
        await sidecar.settled(Outcome.FAILED)


# --- capacity -------------------------------------------------------------------------------


async def test_max_exchanges_overload() -> None:
    taken = asyncio.Event()
    release = asyncio.Event()

    async def slow(runtime: Runtime, exchange: Exchange) -> None:
        take(runtime, exchange)
        taken.set()
        await release.wait()
        deliver(exchange, *ANSWER)
        exchange.upstream_done()

    async with serve(slow, Settings(max_exchanges=1)) as sidecar:
        first = asyncio.get_running_loop().create_task(sidecar.post(chat()))
        await asyncio.wait_for(taken.wait(), 2)
        health = await (await sidecar.http.get(f"{sidecar.url}/healthz")).json()
        assert health["exchanges_in_flight"] == 1

        second = await sidecar.post(chat())
        assert second.status == 503
        assert second.headers["Retry-After"] == "1"
        assert await second.json() == error_body(
            "The proxy is at capacity: 1 exchanges in flight (max_exchanges).",
            "server_error",
            "overloaded",
        )

        release.set()
        resp = await asyncio.wait_for(first, 2)
        assert resp.status == 200
        assert (await resp.json())["choices"][0]["message"]["content"] == "Hello, world"
        # The slot is free again.
        third = await sidecar.post(chat())
        assert third.status == 200
        await sidecar.settled(Outcome.COMPLETED, Outcome.COMPLETED)


# --- client disconnects ---------------------------------------------------------------------


async def test_client_disconnect_mid_stream_cancels_the_exchange() -> None:
    script = answers([TextDelta("partial")], end=False)
    async with serve(script) as sidecar:
        resp = await sidecar.post(chat(stream=True))
        assert resp.status == 200
        seen = b""
        async with asyncio.timeout(2):
            while b"partial" not in seen:
                seen += await resp.content.readany()
        resp.close()  # drops the connection mid-stream
        [exchange] = await sidecar.settled(Outcome.CANCELLED)
        assert exchange.reason == "client went away"
        assert sidecar.driver.cancelled == [exchange.id]
        assert sidecar.driver.tasks[0].cancelled()


async def test_client_disconnect_while_waiting_cancels_the_exchange() -> None:
    async with serve(takes_then_silent) as sidecar:
        request = asyncio.get_running_loop().create_task(sidecar.post(chat()))
        async with asyncio.timeout(2):
            while not sidecar.driver.tasks or len(sidecar.runtime.exchanges) == 0:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
        request.cancel()
        [exchange] = await sidecar.settled(Outcome.CANCELLED)
        assert exchange.reason == "client went away"
        assert sidecar.driver.cancelled == [exchange.id]


# --- request errors that never open an exchange ---------------------------------------------


async def test_unknown_model_opens_no_exchange() -> None:
    async with serve(never_sends) as sidecar:
        resp = await sidecar.post({"model": "gpt-4o", "messages": MESSAGES})
        assert resp.status == 404
        assert await resp.json() == error_body(
            "The model 'gpt-4o' does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
            "model",
        )
        assert sidecar.ended == [] and sidecar.driver.tasks == []


async def test_invalid_json_body() -> None:
    async with serve(never_sends) as sidecar:
        resp = await sidecar.http.post(
            f"{sidecar.url}/v1/chat/completions",
            data=b"{nope",
            headers={"content-type": "application/json"},
        )
        assert resp.status == 400
        body = await resp.json()
        assert body["error"]["code"] == "invalid_json"
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["message"].startswith("The request body is not valid JSON: ")
        assert sidecar.ended == []


async def test_body_too_large() -> None:
    async with serve(never_sends, Settings(max_body_size=100)) as sidecar:
        resp = await sidecar.post(chat(padding="x" * 200))
        assert resp.status == 413
        assert await resp.json() == error_body(
            "Request body too large: the limit is 100 bytes.",
            "invalid_request_error",
            "request_too_large",
        )
        assert sidecar.ended == []


async def test_body_limit_follows_live_reconfiguration() -> None:
    async with serve(answers(*ANSWER), Settings(max_body_size=100)) as sidecar:
        sidecar.runtime.apply(Settings(max_body_size=10_000))
        resp = await sidecar.post(chat(padding="x" * 300))
        assert resp.status == 200
        await sidecar.settled(Outcome.COMPLETED)


async def test_driver_failing_to_start_ends_the_exchange() -> None:
    async with serve(never_sends) as sidecar:

        def broken_start(exchange: Exchange) -> asyncio.Task[None]:
            raise RuntimeError("cannot start")

        sidecar.driver.start = broken_start  # type: ignore[method-assign]
        resp = await sidecar.post(chat())
        assert resp.status == 500
        assert await resp.json() == error_body(
            "Internal error in the proxy.", "server_error", "server_error"
        )
        assert len(sidecar.runtime.exchanges) == 0
        assert [e.outcome for e in sidecar.ended] == [Outcome.FAILED]


# --- routes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/nope"), ("POST", "/v1/completions"), ("GET", "/"), ("POST", "/v1/embeddings")],
)
async def test_unknown_route_is_an_openai_404(method: str, path: str) -> None:
    async with serve(never_sends) as sidecar:
        resp = await sidecar.http.request(method, f"{sidecar.url}{path}")
        assert resp.status == 404
        assert resp.content_type == "application/json"
        assert await resp.json() == error_body(
            f"Not Found: {method} {path}", "invalid_request_error", "not_found"
        )


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/chat/completions"), ("POST", "/v1/models"), ("DELETE", "/healthz")],
)
async def test_wrong_method_is_an_openai_405(method: str, path: str) -> None:
    async with serve(never_sends) as sidecar:
        resp = await sidecar.http.request(method, f"{sidecar.url}{path}")
        assert resp.status == 405
        assert await resp.json() == error_body(
            f"Method Not Allowed: {method} {path}", "invalid_request_error", "method_not_allowed"
        )


async def test_405_carries_allow() -> None:
    async with serve(never_sends) as sidecar:
        resp = await sidecar.http.get(f"{sidecar.url}/v1/chat/completions")
        assert resp.status == 405
        assert resp.headers["Allow"] == "POST"


async def test_models_list_and_retrieve() -> None:
    async with serve(never_sends) as sidecar, sidecar.client() as client:
        page = await client.models.list()
        ids = [m.id for m in page.data]
        assert ids == [m.id for m in sidecar.runtime.catalogue]
        assert MODEL in ids
        assert all(
            m.owned_by == "zerogravity-simulator" and m.created == 1735689600 for m in page.data
        )
        model = await client.models.retrieve(MODEL)
        assert (model.id, model.object, model.owned_by) == (MODEL, "model", "zerogravity-simulator")

        raw = await (await sidecar.http.get(f"{sidecar.url}/v1/models")).json()
        assert raw["object"] == "list"
        assert raw["data"][ids.index(MODEL)] == {
            "id": MODEL,
            "object": "model",
            "created": 1735689600,
            "owned_by": "zerogravity-simulator",
        }

        with pytest.raises(openai.NotFoundError) as info:
            await client.models.retrieve("gpt-4o")
        assert info.value.code == "model_not_found"
        resp = await sidecar.http.get(f"{sidecar.url}/v1/models/gpt-4o")
        assert resp.status == 404
        assert await resp.json() == error_body(
            "The model 'gpt-4o' does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
            "model",
        )


async def test_model_names_with_slashes() -> None:
    settings = Settings(gemini_api_key="k", models=("google/flash=gemini-2.5-flash",))
    async with serve(never_sends, settings) as sidecar:
        resp = await sidecar.http.get(f"{sidecar.url}/v1/models/google/flash")
        assert resp.status == 200
        assert await resp.json() == {
            "id": "google/flash",
            "object": "model",
            "created": 1735689600,
            "owned_by": "google",
        }


@pytest.mark.parametrize(
    ("settings", "simulator_url", "upstream"),
    [
        (
            Settings(),
            None,
            {
                "mode": "google",
                "flavour": "gemini",
                "url": "https://generativelanguage.googleapis.com",
            },
        ),
        (
            Settings(upstream_flavour="cloudcode", upstream_override="http://127.0.0.1:9"),
            None,
            {"mode": "override", "flavour": "cloudcode", "url": "http://127.0.0.1:9"},
        ),
        (
            Settings(upstream_override="http://127.0.0.1:9"),
            "http://127.0.0.1:7",
            {"mode": "simulator", "flavour": "gemini", "url": "http://127.0.0.1:7"},
        ),
    ],
)
async def test_healthz(settings: Settings, simulator_url: str | None, upstream: JSON) -> None:
    async with serve(never_sends, settings) as sidecar:
        sidecar.runtime.simulator_url = simulator_url
        sidecar.runtime.proxy_url = "http://127.0.0.1:8080"
        resp = await sidecar.http.get(f"{sidecar.url}/healthz")
        assert resp.status == 200
        assert await resp.json() == {
            "status": "ok",
            "simulator": simulator_url is not None,
            "upstream": upstream,
            "driver": "direct",
            "proxy": "http://127.0.0.1:8080",
            "exchanges_in_flight": 0,
        }


async def test_many_concurrent_exchanges_each_end_once() -> None:
    async with serve(answers(*ANSWER)) as sidecar:
        responses = await asyncio.gather(
            *(sidecar.post(chat(stream=i % 2 == 0)) for i in range(20))
        )
        assert [r.status for r in responses] == [200] * 20
        ended = await sidecar.settled(*[Outcome.COMPLETED] * 20)
        assert len({e.id for e in ended}) == 20


# --- n choices ------------------------------------------------------------------------------


def by_order(*scripts: Script) -> Script:
    """The k-th exchange started runs the k-th script."""
    started = 0

    async def script(runtime: Runtime, exchange: Exchange) -> None:
        nonlocal started
        started += 1
        await scripts[started - 1](runtime, exchange)

    return script


SECOND_USAGE = Usage(prompt=5, cached=2, candidates=4, thoughts=0, total=9)


async def test_n_choices_without_streaming() -> None:
    second = answers([TextDelta("Bye")], [Finish("MAX_TOKENS"), SECOND_USAGE])
    async with serve(by_order(answers(*ANSWER), second)) as sidecar, sidecar.client() as client:
        completion = await client.chat.completions.create(model=MODEL, messages=MESSAGES, n=2)
        assert [(c.index, c.finish_reason, c.message.content) for c in completion.choices] == [
            (0, "stop", "Hello, world"),
            (1, "length", "Bye"),
        ]
        assert completion.usage is not None
        assert completion.usage.model_dump(exclude_none=True) == {
            "prompt_tokens": 10,
            "completion_tokens": 7,
            "total_tokens": 17,
            "prompt_tokens_details": {"cached_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 1},
        }
        first, other = await sidecar.settled(Outcome.COMPLETED, Outcome.COMPLETED)
        assert first.id != other.id
        assert first.spec == other.spec and first.spec is not other.spec
        assert first.spec.contents is not other.spec.contents  # each its own copy


async def test_n_choices_stream_interleaved_with_one_usage_chunk() -> None:
    async def consumed(exchange: Exchange, *batches: list[Event]) -> None:
        """Deliver, then wait until the sidecar has taken the batches and sent their chunks."""
        deliver(exchange, *batches)
        while not exchange.queue.empty():
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)

    a_sent, b_sent, a_done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def first(runtime: Runtime, exchange: Exchange) -> None:
        take(runtime, exchange)
        await consumed(exchange, [TextDelta("A")])
        a_sent.set()
        await b_sent.wait()
        await consumed(exchange, [Finish("STOP"), USAGE])
        exchange.upstream_done()
        a_done.set()

    async def second(runtime: Runtime, exchange: Exchange) -> None:
        take(runtime, exchange)
        await a_sent.wait()
        await consumed(exchange, [TextDelta("B")])
        b_sent.set()
        await a_done.wait()
        await consumed(exchange, [TextDelta("b")], [Finish("STOP"), SECOND_USAGE])
        exchange.upstream_done()

    async with serve(by_order(first, second)) as sidecar:
        resp = await sidecar.post(chat(stream=True, n=2, stream_options={"include_usage": True}))
        assert resp.status == 200
        payloads = await sse_payloads(resp)
        assert payloads[-1] == "[DONE]"
        chunks = [orjson.loads(p) for p in payloads[:-1]]
        assert len({(c["id"], c["created"]) for c in chunks}) == 1
        with_choices = [c["choices"][0] for c in chunks[:-1]]
        assert [(c["index"], c["delta"], c["finish_reason"]) for c in with_choices] == [
            (0, {"role": "assistant", "content": ""}, None),
            (0, {"content": "A"}, None),
            (1, {"role": "assistant", "content": ""}, None),
            (1, {"content": "B"}, None),
            (0, {}, "stop"),
            (1, {"content": "b"}, None),
            (1, {}, "stop"),
        ]
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"] == {
            "prompt_tokens": 10,
            "completion_tokens": 7,
            "total_tokens": 17,
            "prompt_tokens_details": {"cached_tokens": 2},
            "completion_tokens_details": {"reasoning_tokens": 1},
        }
        await sidecar.settled(Outcome.COMPLETED, Outcome.COMPLETED)


async def test_n_choices_sdk_stream_rebuilds_every_choice() -> None:
    async with serve(answers(*ANSWER)) as sidecar, sidecar.client() as client:
        async with client.chat.completions.stream(
            model=MODEL, messages=MESSAGES, n=3, stream_options={"include_usage": True}
        ) as stream:
            completion = await stream.get_final_completion()
        assert [(c.index, c.finish_reason, c.message.content) for c in completion.choices] == [
            (0, "stop", "Hello, world"),
            (1, "stop", "Hello, world"),
            (2, "stop", "Hello, world"),
        ]
        assert completion.usage is not None
        assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (15, 9)
        await sidecar.settled(*[Outcome.COMPLETED] * 3)


async def test_n_choices_error_mid_stream_ends_everything() -> None:
    failing = answers([TextDelta("Partial")], [OVERLOADED])

    async def late_failure(runtime: Runtime, exchange: Exchange) -> None:
        take(runtime, exchange)
        while not sidecar.ended:  # wait for the other choice's content to go out first
            await asyncio.sleep(0.01)
        await forever()

    async def slow(runtime: Runtime, exchange: Exchange) -> None:
        take(runtime, exchange)
        deliver(exchange, [TextDelta("Slow")])
        await forever()

    async with serve(by_order(slow, failing)) as sidecar:
        resp = await sidecar.post(chat(stream=True, n=2))
        assert resp.status == 200
        payloads = await sse_payloads(resp)
        assert payloads[-2:] == [
            '{"error":{"message":"The model is overloaded.","type":"server_error",'
            '"param":null,"code":"overloaded"}}',
            "[DONE]",
        ]
        contents = [orjson.loads(p)["choices"][0]["delta"].get("content") for p in payloads[:-2]]
        assert sorted(c for c in contents if c) == ["Partial", "Slow"]
        failed, cancelled = await sidecar.settled(Outcome.FAILED, Outcome.CANCELLED)
        assert failed.reason == "overloaded: The model is overloaded."
        assert cancelled.reason == "choice 1 of the request failed"
        assert sidecar.driver.cancelled == [cancelled.id]


@pytest.mark.parametrize("stream", [False, True])
async def test_n_choices_error_before_content_is_a_status(stream: bool) -> None:
    async with serve(by_order(takes_then_silent, answers([RATE_LIMITED]))) as sidecar:
        resp = await sidecar.post(chat(stream=stream, n=2))
        assert resp.status == 429
        assert await resp.json() == RATE_LIMIT_BODY
        _, cancelled = await sidecar.settled(Outcome.FAILED, Outcome.CANCELLED)
        assert cancelled.reason == "choice 1 of the request failed"


async def test_n_choices_over_capacity_is_a_503_and_nothing_is_left() -> None:
    async with serve(takes_then_silent, Settings(max_exchanges=1)) as sidecar:
        resp = await sidecar.post(chat(n=2))
        assert resp.status == 503
        assert (await resp.json())["error"]["code"] == "overloaded"
        [cancelled] = await sidecar.settled(Outcome.CANCELLED)
        assert cancelled.reason == "choice 1 of the request failed"


async def test_one_choice_takes_the_single_exchange_path(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(*args: Any) -> None:
        raise AssertionError("n == 1 must not go through the n-choices path")

    monkeypatch.setattr(sidecar_chat, "_choices", never)
    async with serve(answers(*ANSWER)) as sidecar:
        resp = await sidecar.post(chat(n=1))
        assert resp.status == 200
        assert len((await resp.json())["choices"]) == 1
        assert len(sidecar.driver.tasks) == 1
        await sidecar.settled(Outcome.COMPLETED)
