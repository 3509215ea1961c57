"""The language-server stand-in: its pure parts exactly, its Connect API over real HTTPS, and
its turn loop against a scripted Cloud Code (and once against the simulator)."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from tests.ls_standin import (
    CSRF_HEADER,
    FUNCTION_DECLARATIONS,
    OWN_TOOLS,
    SERVICE,
    SYSTEM_PROMPT,
    WIRE_MODELS,
    LanguageServerStandIn,
    SseDecoder,
    ToolDecision,
    UnknownModelError,
    build_envelope,
    canned_result,
    decide_tools,
    followup_contents,
    ls_directives,
    read_sse,
    replay_parts,
    session_id_for,
    title_body,
    user_input_text,
    wire_model,
)
from tests.ls_standin.sse import BodyDecoder
from zerogravity_proxy.simulator import Simulator

JSON = dict[str, Any]
CID = "5b0b6c4e-1111-4222-8333-944455556666"
TID = "3c887e2f-cd5b-4d63-8182-1dfc4bf70a8f"
M18 = "MODEL_PLACEHOLDER_M18"
WHEN = datetime(2026, 2, 21, 13, 0, 0, tzinfo=timezone(timedelta(hours=1)))
USER = {"role": "user", "parts": [{"text": "hi"}]}
SIG = "EqADCp0DAXLI2nx"


def clock() -> datetime:
    return WHEN


# -- the envelope -------------------------------------------------------------------------


def test_build_envelope_is_the_ls_envelope() -> None:
    contents = [USER]
    body = build_envelope(
        cascade_id=CID,
        trajectory_id=TID,
        step=1,
        model_enum=M18,
        contents=contents,
        unix_ms=1771675200000,
    )
    assert body == {
        "project": "standin-project-1",
        "requestId": f"agent/{CID}/1771675200000/{TID}/1",
        "model": "gemini-3-flash",
        "userAgent": "antigravity",
        "requestType": "agent",
        "request": {
            "contents": [USER],
            "systemInstruction": {"role": "user", "parts": [{"text": SYSTEM_PROMPT}]},
            "tools": [{"functionDeclarations": list(FUNCTION_DECLARATIONS)}],
            "toolConfig": {"functionCallingConfig": {"mode": "VALIDATED"}},
            "generationConfig": {
                "maxOutputTokens": 65536,
                "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "high"},
            },
            "sessionId": session_id_for(CID),
            "labels": {
                "last_step_index": "1",
                "model_enum": M18,
                "trajectory_id": TID,
                "used_claude": "false",
                "used_claude_conservative": "false",
            },
        },
    }
    contents.append({"role": "model", "parts": [{"text": "later"}]})
    assert body["request"]["contents"] == [USER]  # a copy, not the caller's list


def test_envelope_step_and_project() -> None:
    body = build_envelope(
        cascade_id=CID,
        trajectory_id=TID,
        step=7,
        model_enum="MODEL_PLACEHOLDER_M26",
        contents=[USER],
        unix_ms=5,
        project="p-1",
    )
    assert body["project"] == "p-1"
    assert body["requestId"] == f"agent/{CID}/5/{TID}/7"
    assert body["model"] == "claude-opus-4-6-thinking"
    assert body["request"]["labels"]["last_step_index"] == "7"


def test_model_table() -> None:
    assert WIRE_MODELS == {
        "MODEL_PLACEHOLDER_M18": "gemini-3-flash",
        "MODEL_PLACEHOLDER_M26": "claude-opus-4-6-thinking",
        "MODEL_PLACEHOLDER_M35": "claude-sonnet-4-6",
        "MODEL_PLACEHOLDER_M36": "gemini-3.1-pro-low",
        "MODEL_PLACEHOLDER_M37": "gemini-3.1-pro-high",
        "MODEL_PLACEHOLDER_M50": "gemini-3.1-flash-lite",
    }
    with pytest.raises(UnknownModelError, match="model not found: MODEL_PLACEHOLDER_M99"):
        wire_model("MODEL_PLACEHOLDER_M99")
    with pytest.raises(UnknownModelError):
        build_envelope(
            cascade_id=CID,
            trajectory_id=TID,
            step=1,
            model_enum="MODEL_X",
            contents=[],
            unix_ms=0,
        )


def test_session_id_is_a_stable_negative_19_digit_number() -> None:
    assert re.fullmatch(r"-\d{19}", session_id_for(CID))
    assert session_id_for(CID) == session_id_for(CID)
    assert session_id_for(CID) != session_id_for(TID)


def test_user_input_wrapping() -> None:
    assert user_input_text(".", WHEN) == (
        "<USER_REQUEST>\n.\n</USER_REQUEST>\n<ADDITIONAL_METADATA>\n"
        "The current local time is 2026-02-21T13:00:00+01:00. This is the latest source of "
        "truth for time; do not attempt to get the time any other way.\n"
        "</ADDITIONAL_METADATA>"
    )


def test_title_body() -> None:
    assert title_body("fix the bug") == {
        "project": "standin-project-1",
        "model": "gemini-2.5-flash-lite",
        "request": {
            "contents": [
                {"role": "user", "parts": [{"text": "Generate a short title for: fix the bug"}]}
            ]
        },
    }


def test_system_prompt_and_tools() -> None:
    assert SYSTEM_PROMPT.startswith(
        "<identity>\nYou are Antigravity, a powerful agentic AI coding assistant"
    )
    assert 3000 < len(SYSTEM_PROMPT.encode()) < 8000
    assert "[[sim:" not in SYSTEM_PROMPT
    shapes = {d["name"]: d["parameters"]["required"] for d in FUNCTION_DECLARATIONS}
    assert shapes == {
        "view_file": ["AbsolutePath"],
        "run_command": ["CommandLine", "Cwd"],
        "grep_search": ["Query", "SearchPath"],
    }
    assert frozenset(shapes) == OWN_TOOLS


# -- reading answers ----------------------------------------------------------------------


def sse(*chunks: JSON, newline: bytes = b"\n") -> bytes:
    """Cloud Code SSE: every chunk wrapped in `{"response": ..., "traceId": ...}`."""
    return b"".join(
        b"data: " + orjson.dumps({"response": c, "traceId": "t1"}) + newline * 2 for c in chunks
    )


def chunk(*parts: JSON, finish: str | None = None) -> JSON:
    candidate: JSON = {"content": {"role": "model", "parts": list(parts)}}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": "gemini-3-flash"}


THOUGHT: JSON = {"text": "Let me think.", "thought": True}
CALL: JSON = {"functionCall": {"name": "view_file", "args": {"AbsolutePath": "/a"}}}
SIGNED_CALL: JSON = {**CALL, "thoughtSignature": SIG}
ANSWER = sse(chunk(THOUGHT), chunk({"text": "Hello"}), chunk({"text": " there"}, finish="STOP"))


def test_sse_decoder_lines_and_fields() -> None:
    decoder = SseDecoder()
    stream = b': comment\r\ndata: {"a":\r\ndata: 1}\r\nevent: x\r\n\r\ndata: {"b":2}\n\n'
    assert decoder.feed(stream) == [b'{"a":\n1}', b'{"b":2}']
    assert decoder.feed(b"data: tail") == []
    assert decoder.finish() == [b"tail"]


@given(st.lists(st.integers(min_value=0, max_value=len(ANSWER)), max_size=8))
def test_sse_decoder_any_split(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(ANSWER)]
    decoder = SseDecoder()
    events = [e for a, b in itertools.pairwise(bounds) for e in decoder.feed(ANSWER[a:b])]
    assert [*events, *decoder.finish()] == SseDecoder().feed(ANSWER)


def test_read_sse_unwraps_and_collects() -> None:
    result = read_sse(ANSWER)
    assert result.events == 3
    assert result.text == "Hello there"
    assert result.thinking == "Let me think."
    assert result.finish_reason == "STOP"
    assert result.failure is None
    calls = read_sse(sse(chunk(SIGNED_CALL, finish="STOP"), newline=b"\r\n"))
    assert calls.calls == [CALL["functionCall"]]


def test_read_sse_failures() -> None:
    unfinished = read_sse(sse(chunk({"text": "Hel"})))
    assert unfinished.failure == "stream ended without finishReason"
    blocked = read_sse(sse({"promptFeedback": {"blockReason": "SAFETY"}}))
    assert blocked.failure is not None and "blockReason=SAFETY" in blocked.failure
    embedded = read_sse(sse(chunk({"text": "a"})) + b'data: {"error":{"code":500}}\n\n')
    assert embedded.failure == 'error in stream: {"code":500}'
    assert read_sse(b"data: {nope\n\n").failure == "malformed SSE event: {nope"
    bare = read_sse(b"data: " + orjson.dumps(chunk({"text": "x"}, finish="STOP")) + b"\n\n")
    assert (bare.text, bare.finish_reason) == ("x", "STOP")


def test_body_decoder_undoes_gzip_incrementally() -> None:
    packed = gzip.compress(ANSWER)
    decoder = BodyDecoder("gzip")
    out = b"".join(decoder.feed(packed[i : i + 7]) for i in range(0, len(packed), 7))
    assert out + decoder.finish() == ANSWER
    assert BodyDecoder(None).feed(b"x") == b"x"
    with pytest.raises(ValueError, match="unsupported"):
        BodyDecoder("br")


def test_replay_parts() -> None:
    parts: list[JSON] = [
        THOUGHT,
        {"text": "I will "},
        {"text": "look."},
        {"text": "", "thoughtSignature": "S1"},
        SIGNED_CALL,
        {"functionCall": {"name": "grep_search", "args": {}}},
        {"text": ""},
    ]
    assert replay_parts(parts) == [
        {"text": "I will look.", "thoughtSignature": "S1"},
        SIGNED_CALL,
        {"functionCall": {"name": "grep_search", "args": {}}},
    ]


# -- tool dispatch ------------------------------------------------------------------------


def test_decide_tools() -> None:
    own: list[JSON] = [CALL["functionCall"], {"name": "run_command", "args": {}}]
    assert decide_tools(own) == ToolDecision(run=tuple(own))
    assert decide_tools([]) == ToolDecision()
    mixed: list[JSON] = [CALL["functionCall"], {"name": "get_weather"}, {"name": "other"}]
    assert decide_tools(mixed) == ToolDecision(unknown="get_weather")
    with pytest.raises(ValueError, match="not an LS tool"):
        canned_result("get_weather", {})


def test_followup_request_body_for_an_own_tool() -> None:
    first = read_sse(sse(chunk({"text": "Reading."}), chunk(SIGNED_CALL, finish="STOP")))
    decision = decide_tools(first.calls)
    contents = followup_contents([USER], replay_parts(first.parts), decision.run)
    body = build_envelope(
        cascade_id=CID, trajectory_id=TID, step=2, model_enum=M18, contents=contents, unix_ms=9
    )
    assert body["requestId"] == f"agent/{CID}/9/{TID}/2"
    assert body["request"]["labels"]["last_step_index"] == "2"
    assert body["request"]["contents"] == [
        USER,
        {"role": "model", "parts": [{"text": "Reading."}, SIGNED_CALL]},
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "view_file",
                        "response": {"output": canned_result("view_file", {"AbsolutePath": "/a"})},
                    }
                }
            ],
        },
    ]


def test_function_response_echoes_call_ids() -> None:
    call = {"name": "grep_search", "args": {"Query": "q", "SearchPath": "/s"}, "id": "toolu_1"}
    contents = followup_contents([], [{"functionCall": call}], (call,))
    response = contents[1]["parts"][0]["functionResponse"]
    assert response["id"] == "toolu_1"
    assert response["response"] == {"output": "No results found for 'q' in /s."}


def test_ls_directives() -> None:
    assert ls_directives("go [[ls:followup]]") == {"followup"}
    assert ls_directives("[[sim:delay=5]] plain") == frozenset()
    with pytest.raises(ValueError, match=r"\[\[ls:folowup\]\]"):
        ls_directives("[[ls:folowup]]")


# -- a scripted Cloud Code ----------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer. `hold`: headers go out, the body waits for the event."""

    body: bytes = ANSWER
    status: int = 200
    content_type: str = "text/event-stream"
    gzipped: bool = False
    hold: asyncio.Event | None = None
    stall: bool = False


@dataclass
class FakeCloudCode:
    """Plain-HTTP Cloud Code: streamGenerateContent answers come from `replies` in order."""

    replies: list[Reply] = field(default_factory=list)
    seen: list[tuple[str, dict[str, str], JSON]] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    arrived: dict[str, asyncio.Event] = field(default_factory=dict)

    def bodies(self, path: str) -> list[JSON]:
        return [body for seen_path, _, body in self.seen if seen_path == path]

    def arrival(self, kind: str) -> asyncio.Event:
        return self.arrived.setdefault(kind, asyncio.Event())

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        method = request.match_info["method"]
        self.seen.append((method, dict(request.headers), body))
        self.arrival(f"{method}#{len(self.bodies(method))}").set()
        if method != "streamGenerateContent":
            return web.json_response({})
        reply = self.replies.pop(0) if self.replies else Reply()
        payload = gzip.compress(reply.body) if reply.gzipped else reply.body
        self.sent.append(payload)
        headers = {"Content-Type": reply.content_type}
        if reply.gzipped:
            headers["Content-Encoding"] = "gzip"
        response = web.StreamResponse(status=reply.status, headers=headers)
        await response.prepare(request)
        await response.write(b"")
        if reply.hold is not None:
            await reply.hold.wait()
        if reply.stall:
            await asyncio.Event().wait()
        await response.write(payload)
        await response.write_eof()
        return response


@pytest.fixture
async def cloudcode() -> AsyncIterator[tuple[FakeCloudCode, str]]:
    fake = FakeCloudCode()
    app = web.Application()
    app.router.add_post("/v1internal:{method}", fake.handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield fake, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


Factory = Callable[..., Awaitable[LanguageServerStandIn]]


@pytest.fixture
async def make_standin() -> AsyncIterator[Factory]:
    started: list[LanguageServerStandIn] = []

    async def make(**kwargs: Any) -> LanguageServerStandIn:
        standin = LanguageServerStandIn(clock=clock, **kwargs)
        await standin.start()
        started.append(standin)
        return standin

    yield make
    for standin in started:
        await standin.stop()


@pytest.fixture
async def standin(
    make_standin: Factory, cloudcode: tuple[FakeCloudCode, str]
) -> LanguageServerStandIn:
    return await make_standin(cloudcode_url=cloudcode[1])


class Client:
    """Connect JSON calls to one stand-in, over HTTPS that trusts only its certificate."""

    def __init__(self, standin: LanguageServerStandIn, session: aiohttp.ClientSession) -> None:
        self.standin = standin
        self.session = session

    async def call(
        self, method: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        url = f"{self.standin.base_url}/{SERVICE}/{method}"
        data = orjson.dumps({} if body is None else body)
        sent = self.standin.connect_headers() if headers is None else headers
        async with self.session.post(url, data=data, headers=sent) as response:
            return response.status, orjson.loads(await response.read())

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.session.get(self.standin.base_url + path) as response:
            return response.status, orjson.loads(await response.read())

    async def start(self) -> str:
        status, body = await self.call("StartCascade", {"source": 12})
        assert status == 200
        cascade_id: str = body["cascadeId"]
        return cascade_id

    async def send(self, cascade_id: str, text: str, model: str = M18) -> tuple[int, Any]:
        config = {"plannerConfig": {"requestedModel": {"model": model}}}
        body = {"cascadeId": cascade_id, "items": [{"text": text}], "cascadeConfig": config}
        return await self.call("SendUserCascadeMessage", body)

    async def turn(self, text: str, model: str = M18) -> tuple[str, JSON]:
        """Start a cascade, send one message, wait for the turn; (cascade id, hook view)."""
        cascade_id = await self.start()
        assert await self.send(cascade_id, text, model) == (200, {})
        await self.standin.wait_settled(cascade_id, timeout=10)
        status, view = await self.get(f"/_standin/cascades/{cascade_id}")
        assert status == 200
        return cascade_id, view


@pytest.fixture
async def client(standin: LanguageServerStandIn) -> AsyncIterator[Client]:
    connector = aiohttp.TCPConnector(ssl=standin.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        yield Client(standin, session)


# -- the Connect API ----------------------------------------------------------------------


async def test_csrf_token_is_required(client: Client) -> None:
    headers = client.standin.connect_headers()
    del headers[CSRF_HEADER]
    for sent in (headers, client.standin.connect_headers("wrong")):
        status, body = await client.call("Heartbeat", {}, sent)
        assert status == 401
        assert body["code"] == "unauthenticated" and body["message"]
    assert await client.call("Heartbeat") == (200, {})
    assert await client.call("GetUnleashData") == (200, {})


async def test_connect_error_shapes(client: Client) -> None:
    status, body = await client.call("NoSuchMethod")
    assert (status, body["code"]) == (404, "unimplemented")
    status, body = await client.call("NoSuchMethod", {}, client.standin.connect_headers("bad"))
    assert (status, body["code"]) == (401, "unauthenticated")
    headers = {**client.standin.connect_headers()}
    del headers["Connect-Protocol-Version"]
    status, body = await client.call("Heartbeat", {}, headers)
    assert (status, body["code"]) == (400, "invalid_argument")
    headers = {**client.standin.connect_headers(), "Content-Type": "application/proto"}
    status, body = await client.call("Heartbeat", {}, headers)
    assert (status, body["code"]) == (415, "invalid_argument")
    url = f"{client.standin.base_url}/{SERVICE}/Heartbeat"
    async with client.session.post(
        url, data=b"{nope", headers=client.standin.connect_headers()
    ) as response:
        assert response.status == 400
        assert (await response.json())["code"] == "invalid_argument"


async def test_fixed_port_and_token(make_standin: Factory) -> None:
    first = await make_standin(csrf_token="tok-1")
    assert first.csrf_token == "tok-1"
    second = LanguageServerStandIn(port=first.port)
    with pytest.raises(OSError):
        await second.start()  # the port was taken as given, not replaced


async def test_start_cascade_and_unknown_cascades(client: Client) -> None:
    first, second = await client.start(), await client.start()
    assert first != second
    assert re.fullmatch(r"[0-9a-f-]{36}", first)
    for method in (
        "SendUserCascadeMessage",
        "CancelCascadeInvocation",
        "GetCascadeTrajectorySteps",
    ):
        status, body = await client.call(method, {"cascadeId": "nope", "items": []})
        assert (status, body["code"]) == (404, "not_found")
    assert await client.call("GetCascadeTrajectorySteps", {"cascadeId": first}) == (
        200,
        {"steps": []},
    )
    assert await client.call("CancelCascadeInvocation", {"cascadeId": first}) == (200, {})


async def test_send_needs_a_model(client: Client) -> None:
    cascade_id = await client.start()
    body = {"cascadeId": cascade_id, "items": [{"text": "."}]}
    status, answer = await client.call("SendUserCascadeMessage", body)
    assert (status, answer) == (400, {"code": "invalid_argument", "message": "model not found"})
    status, answer = await client.call(
        "SendUserCascadeMessage", {**body, "cascadeConfig": {"plannerConfig": {"planModel": M18}}}
    )
    assert (status, answer) == (200, {})
    assert await client.standin.wait_settled(cascade_id, 10) == "idle"


async def test_unknown_model_enum_ends_in_an_error_step(client: Client) -> None:
    cascade_id, view = await client.turn(".", model="MODEL_PLACEHOLDER_M99")
    assert view["state"] == "error"
    assert view["error"] == "model not found: MODEL_PLACEHOLDER_M99"
    assert view["requests"] == []
    status, steps = await client.call("GetCascadeTrajectorySteps", {"cascadeId": cascade_id})
    assert status == 200
    assert [(s["type"], s["status"]) for s in steps["steps"]] == [
        ("CORTEX_STEP_TYPE_USER_INPUT", "CORTEX_STEP_STATUS_DONE"),
        ("CORTEX_STEP_TYPE_ERROR_MESSAGE", "CORTEX_STEP_STATUS_DONE"),
    ]


async def test_hooks_need_no_token(client: Client) -> None:
    cascade_id = await client.start()
    status, body = await client.get("/_standin/cascades")
    assert status == 200
    assert [c["cascade_id"] for c in body["cascades"]] == [cascade_id]
    assert body["cascades"][0]["state"] == "idle"
    assert (await client.get("/_standin/responses/nope"))[0] == 404
    assert (await client.get("/_standin/cascades/nope"))[0] == 404


async def test_plain_http_to_the_https_port_fails(standin: LanguageServerStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{standin.port}/_standin/cascades"):
                pass


# -- the turn -----------------------------------------------------------------------------


STREAM = "streamGenerateContent"


async def test_a_turn_and_its_requests(
    client: Client, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, _ = cloudcode
    cascade_id, view = await client.turn("hello")
    assert view["state"] == "idle" and view["error"] is None
    assert [(r["kind"], r["path"], r["step"], r["status"]) for r in view["requests"]] == [
        ("fetchAvailableModels", "/v1internal:fetchAvailableModels", None, 200),
        ("main", "/v1internal:streamGenerateContent?alt=sse", 1, 200),
        ("title", "/v1internal:generateContent", None, 200),
        ("metrics", "/v1internal:recordCodeAssistMetrics", None, 200),
    ]
    assert [method for method, _, _ in fake.seen] == [
        "fetchAvailableModels",
        STREAM,
        "generateContent",
        "recordCodeAssistMetrics",
    ]
    assert fake.seen[0][2] == {"project": "standin-project-1"}
    assert fake.seen[2][2] == title_body("hello")
    assert fake.seen[3][2] == {}
    headers = fake.seen[1][1]
    assert headers["Authorization"] == "Bearer ya29.standin-token"
    assert headers["User-Agent"] == "antigravity/1.18.3 linux/amd64"
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept-Encoding"] == "gzip"
    trajectory = view["trajectory_id"]
    unix_ms = int(WHEN.timestamp() * 1000)
    expected = build_envelope(
        cascade_id=cascade_id,
        trajectory_id=trajectory,
        step=1,
        model_enum=M18,
        contents=[{"role": "user", "parts": [{"text": user_input_text("hello", WHEN)}]}],
        unix_ms=unix_ms,
    )
    assert fake.seen[1][2] == expected
    main = view["requests"][1]
    assert main["request_id"] == f"agent/{cascade_id}/{unix_ms}/{trajectory}/1"
    assert main["finish_reason"] == "STOP"
    assert main["response_sha256"] == hashlib.sha256(ANSWER).hexdigest()
    assert main["response_len"] == len(ANSWER) == main["wire_len"]
    status, raw = await client.get(f"/_standin/responses/{cascade_id}")
    assert status == 200
    assert base64.b64decode(raw["responses"][1]["body_b64"]) == ANSWER
    assert orjson.loads(base64.b64decode(raw["responses"][1]["request_b64"])) == expected
    steps = view["steps"]
    assert [s["type"] for s in steps] == [
        "CORTEX_STEP_TYPE_USER_INPUT",
        "CORTEX_STEP_TYPE_PLANNER_RESPONSE",
    ]
    planner = steps[1]["plannerResponse"]
    assert (planner["response"], planner["thinking"]) == ("Hello there", "Let me think.")
    assert steps[1]["status"] == "CORTEX_STEP_STATUS_DONE"


async def test_gzipped_answers_are_recorded_as_sent_and_as_read(
    client: Client, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, _ = cloudcode
    fake.replies.append(Reply(gzipped=True))
    cascade_id, view = await client.turn("hello")
    assert view["state"] == "idle"
    main = view["requests"][1]
    assert main["content_encoding"] == "gzip"
    assert main["response_sha256"] == hashlib.sha256(ANSWER).hexdigest()
    raw = (await client.get(f"/_standin/responses/{cascade_id}"))[1]["responses"][1]
    assert base64.b64decode(raw["wire_b64"]) == fake.sent[0]
    assert base64.b64decode(raw["body_b64"]) == ANSWER


async def test_own_tool_runs_and_is_followed_up(
    client: Client, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, _ = cloudcode
    fake.replies.append(Reply(sse(chunk({"text": "Looking."}), chunk(SIGNED_CALL, finish="STOP"))))
    _, view = await client.turn("read /a")
    assert view["state"] == "idle"
    assert [(r["kind"], r["step"]) for r in view["requests"] if r["step"]] == [
        ("main", 1),
        ("followup", 2),
    ]
    first, second = fake.bodies(STREAM)
    assert second["requestId"].endswith(f"/{view['trajectory_id']}/2")
    assert second["request"]["contents"] == followup_contents(
        first["request"]["contents"], [{"text": "Looking."}, SIGNED_CALL], (CALL["functionCall"],)
    )
    types = [s["type"] for s in view["steps"]]
    assert types == [
        "CORTEX_STEP_TYPE_USER_INPUT",
        "CORTEX_STEP_TYPE_PLANNER_RESPONSE",
        "CORTEX_STEP_TYPE_VIEW_FILE",
        "CORTEX_STEP_TYPE_PLANNER_RESPONSE",
    ]
    assert view["received_unknown_tool"] is None


async def test_unknown_tool_is_recorded_and_ends_the_turn(
    client: Client, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, _ = cloudcode
    weather = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    fake.replies.append(Reply(sse(chunk(weather, finish="STOP"))))
    _, view = await client.turn("weather?")
    assert view["state"] == "error"
    assert view["received_unknown_tool"] == "get_weather"
    assert view["turns"][0]["received_unknown_tool"] == "get_weather"
    assert len(fake.bodies(STREAM)) == 1  # no follow-up
    assert view["steps"][-1]["type"] == "CORTEX_STEP_TYPE_ERROR_MESSAGE"
    assert [r["kind"] for r in view["requests"]][-2:] == ["title", "metrics"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (
            Reply(b'{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}', status=429),
            'HTTP 429: {"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}',
        ),
        (Reply(sse(chunk({"text": "Hel"}))), "stream ended without finishReason"),
    ],
)
async def test_failed_answers_end_in_error(
    client: Client, cloudcode: tuple[FakeCloudCode, str], reply: Reply, error: str
) -> None:
    cloudcode[0].replies.append(reply)
    _, view = await client.turn("hello")
    assert (view["state"], view["error"]) == ("error", error)
    assert view["requests"][1]["response_len"] == len(reply.body)
    planner = view["steps"][1]
    assert planner["status"] == "CORTEX_STEP_STATUS_ERROR"


async def test_a_slow_request_hangs_the_turn(
    make_standin: Factory, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, url = cloudcode
    fake.replies.append(Reply(stall=True))
    standin = await make_standin(cloudcode_url=url, turn_timeout=0.3)
    connector = aiohttp.TCPConnector(ssl=standin.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        _, view = await Client(standin, session).turn("hello")
    assert view["state"] == "hung"
    main = view["requests"][1]
    assert (main["timed_out"], main["complete"], main["status"]) == (True, False, 200)
    assert [r["kind"] for r in view["requests"]] == ["fetchAvailableModels", "main"]


async def test_cancel_stops_the_running_turn(
    client: Client, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, _ = cloudcode
    fake.replies.append(Reply(stall=True))
    cascade_id = await client.start()
    assert await client.send(cascade_id, "hello") == (200, {})
    await asyncio.wait_for(fake.arrival(f"{STREAM}#1").wait(), 5)
    status, body = await client.call("SendUserCascadeMessage", {"cascadeId": cascade_id})
    assert (status, body["code"]) == (400, "failed_precondition")
    assert await client.call("CancelCascadeInvocation", {"cascadeId": cascade_id}) == (200, {})
    view = (await client.get(f"/_standin/cascades/{cascade_id}"))[1]
    assert view["state"] == "cancelled"
    assert view["requests"][-1]["error"] == "cancelled"
    assert view["steps"][-1]["status"] == "CORTEX_STEP_STATUS_CANCELED"
    assert await client.standin.wait_settled(cascade_id, 1) == "cancelled"
    assert await client.send(cascade_id, "again") == (200, {})
    assert await client.standin.wait_settled(cascade_id, 10) == "idle"


async def test_parallel_request_goes_out_while_the_main_one_streams(
    client: Client, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, _ = cloudcode
    parallel_arrived = fake.arrival(f"{STREAM}#2")
    fake.replies.append(Reply(hold=parallel_arrived))  # main body waits for the parallel one
    _, view = await client.turn("hello [[ls:followup]]")
    assert view["state"] == "idle"
    assert view["turns"][0]["parallel_followup"] is True
    assert [(r["kind"], r["step"], r["finish_reason"]) for r in view["requests"] if r["step"]] == [
        ("main", 1, "STOP"),
        ("parallel", 2, "STOP"),
    ]
    main, parallel = fake.bodies(STREAM)
    assert parallel["request"]["contents"] == main["request"]["contents"]
    assert parallel["request"]["labels"]["trajectory_id"] == view["trajectory_id"]
    assert parallel["requestId"].endswith("/2")


async def test_configured_parallel_and_unknown_tool_in_it(
    make_standin: Factory, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, url = cloudcode
    weather = {"functionCall": {"name": "get_weather", "args": {}}}
    fake.replies += [
        Reply(hold=fake.arrival(f"{STREAM}#2")),
        Reply(sse(chunk(weather, finish="STOP"))),
    ]
    standin = await make_standin(cloudcode_url=url, parallel_followup=True)
    connector = aiohttp.TCPConnector(ssl=standin.client_ssl_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        _, view = await Client(standin, session).turn("hello")
    assert (view["state"], view["received_unknown_tool"]) == ("error", "get_weather")


async def test_a_second_turn_carries_the_history(
    client: Client, cloudcode: tuple[FakeCloudCode, str]
) -> None:
    fake, _ = cloudcode
    cascade_id, _ = await client.turn("first")
    assert await client.send(cascade_id, "second") == (200, {})
    assert await client.standin.wait_settled(cascade_id, 10) == "idle"
    view = (await client.get(f"/_standin/cascades/{cascade_id}"))[1]
    second = fake.bodies(STREAM)[1]
    assert second["request"]["contents"] == [
        {"role": "user", "parts": [{"text": user_input_text("first", WHEN)}]},
        {"role": "model", "parts": [{"text": "Hello there"}]},
        {"role": "user", "parts": [{"text": user_input_text("second", WHEN)}]},
    ]
    assert second["requestId"].endswith("/2")
    assert [r["kind"] for r in view["requests"] if r["turn"] == 1] == [
        "fetchAvailableModels",
        "main",
        "metrics",
    ]
    assert view["message_text"] == "second"
    assert [t["state"] for t in view["turns"]] == ["idle", "idle"]


async def test_tool_round_against_the_simulator(make_standin: Factory) -> None:
    """The simulator accepts the envelope and the replayed, signed call of the follow-up."""
    simulator = Simulator()
    port = await simulator.start("127.0.0.1", 0)
    try:
        standin = await make_standin(cloudcode_url=f"http://127.0.0.1:{port}")
        connector = aiohttp.TCPConnector(ssl=standin.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector) as session:
            _, view = await Client(standin, session).turn("please use view_file")
        assert view["state"] == "idle", view["error"]
        streams = [e for e in simulator.requests if e["path"].endswith(STREAM)]
        assert [e["status"] for e in streams] == [200, 200]
        assert [c["result"] for c in streams[1]["signatures"]] == ["real"]
    finally:
        await simulator.stop()
