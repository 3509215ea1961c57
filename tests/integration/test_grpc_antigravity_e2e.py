"""The antigravity driver over gRPC, end to end: all real processes, all real sockets.

The daemon (`--driver antigravity`), the LS stand-in with `--wire grpc` (Google's own gRPC
client, pointed at the daemon's proxy by `https_proxy` and trusting its CA) and, as Google, a
grpcio server playing the simulator (`tests/grpc_upstream.py`). Each turn the stand-in sends
one public-API `StreamGenerateContent` carrying the marker; the proxy swaps in the client's
payload in protobuf, parses the gRPC answer (trailers included) for the sidecar and hides the
client's function calls from the LS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import openai
import orjson
import pytest
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from tests.grpc_upstream import GrpcUpstream
from tests.integration.harness import Daemon, free_port, running_daemon
from tests.integration.test_antigravity_e2e import CSRF, TOOLS, StandIn, start_standin
from zerogravity_proxy.simulator import errors as sim_errors
from zerogravity_proxy.simulator.signatures import check_replayed_calls

MODEL = "gemini-3-flash"
CLAUDE = "claude-sonnet-4-6"  # a budget-thinking model the LS has: reasoning_effort → a budget
STREAM = "/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent"


@dataclass
class Rig:
    daemon: Daemon
    standin: StandIn
    google: GrpcUpstream


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("grpc-antigravity")
    port = free_port()
    with GrpcUpstream() as google:
        args = [
            "--driver", "antigravity",
            "--simulator", "off",
            "--upstream-override", google.url,
            "--set", f"ssl_verify_upstream_trusted_ca={google.cert_file}",
            "--ls-port", str(port),
            "--ls-csrf-token", CSRF,
        ]  # fmt: skip
        with running_daemon(tmp, args) as daemon:
            standin = start_standin(tmp, daemon, port, "--wire", "grpc")
            try:
                yield Rig(daemon, standin, google)
            finally:
                standin.process.terminate()
                standin.process.wait(10)


@pytest.fixture
def client(rig: Rig) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=rig.daemon.base_url,
        api_key="unused",
        max_retries=0,
        timeout=60,
        _strict_response_validation=True,
    ) as c:
        yield c


@pytest.fixture
def fresh(rig: Rig) -> Iterator[set[str]]:
    """An empty upstream log; yields the ids of the cascades that existed before the test."""
    rig.google.clear()
    yield {c["cascade_id"] for c in rig.standin.cascades()}


def calls(rig: Rig) -> list[dict[str, Any]]:
    """Google's log of the StreamGenerateContent calls since the last clear."""
    return [r for r in rig.google.requests() if r["method"] == STREAM]


def new_cascades(rig: Rig, before: set[str]) -> list[dict[str, Any]]:
    return [c for c in rig.standin.settled() if c["cascade_id"] not in before]


def sent_text(call: dict[str, Any], *, thought: bool = False) -> str:
    """The answer (or thought) text Google sent in one call."""
    return "".join(
        part.get("text", "")
        for chunk in call["sent"]
        for candidate in chunk.get("candidates", [])
        for part in candidate.get("content", {}).get("parts", [])
        if bool(part.get("thought")) == thought
    )


def expected_usage(call: dict[str, Any]) -> tuple[int, int, int]:
    """(prompt, completion, total) as the sidecar derives them from Google's last usageMetadata."""
    usage = call["usage"]
    prompt = usage.get("promptTokenCount", 0) + usage.get("toolUsePromptTokenCount", 0)
    completion = usage.get("candidatesTokenCount", 0) + usage.get("thoughtsTokenCount", 0)
    assert usage.get("totalTokenCount") == prompt + completion
    return prompt, completion, prompt + completion


def assert_ls_envelope(call: dict[str, Any], model: str) -> None:
    """The call is the LS's own (its model, its credentials) and no marker reached Google."""
    assert call["request"]["model"] == f"models/{model}"
    assert call["metadata"].get("x-goog-api-key") == "present"
    assert b"<cid:" not in orjson.dumps(call["request"])


def assert_ls_turn(cascade: dict[str, Any], state: str) -> dict[str, Any]:
    """The cascade's one gRPC request, after checking how the turn ended."""
    assert cascade["state"] == state and cascade["received_unknown_tool"] is None
    [request] = cascade["requests"]  # no housekeeping, no parallel request on the gRPC wire
    assert request["wire_format"] == "grpc" and request["path"] == STREAM
    assert request["function_calls"] == []
    return dict(request)


# --- the payload and the answer -----------------------------------------------------------------


def test_chat_carried_by_the_grpc_ls(client: openai.OpenAI, rig: Rig, fresh: set[str]) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "Answer plainly."},
            {"role": "user", "content": "Hello over gRPC"},
        ],
        tools=TOOLS,
        temperature=0.3,
        max_tokens=3000,
    )
    [call] = calls(rig)
    assert call["status"] == "OK"
    assert_ls_envelope(call, MODEL)
    request = call["request"]
    # The payload is the client's: its conversation, system prompt, tools and parameters.
    assert request["contents"] == [{"role": "user", "parts": [{"text": "Hello over gRPC"}]}]
    assert request["systemInstruction"]["parts"] == [{"text": "Answer plainly."}]
    [tool] = request["tools"]
    assert [d["name"] for d in tool["functionDeclarations"]] == ["get_weather"]
    config = request["generationConfig"]
    assert config["temperature"] == pytest.approx(0.3)
    assert config["maxOutputTokens"] == 3000
    assert config["thinkingConfig"] == {"includeThoughts": True}  # no effort: Gemini 3's default
    # The client got exactly what Google sent.
    message = completion.choices[0].message
    assert message.content == sent_text(call) and "Hello over gRPC" in sent_text(call)
    assert (message.model_extra or {}).get("reasoning_content") == sent_text(call, thought=True)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    prompt, output, total = expected_usage(call)
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (prompt, output)
    assert completion.usage.total_tokens == total
    # The LS's turn ended cleanly, on the answer it was shown.
    [cascade] = new_cascades(rig, fresh)
    ls = assert_ls_turn(cascade, "idle")
    assert ls["grpc_status"] == "OK" and ls["finish_reason"] == "STOP"
    assert [m.get("usageMetadata") for m in ls["messages"]][-1] == call["usage"]


def test_streaming_chat_carried_by_the_grpc_ls(
    client: openai.OpenAI, rig: Rig, fresh: set[str]
) -> None:
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Stream over gRPC please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    [call] = calls(rig)
    assert_ls_envelope(call, MODEL)
    assert call["request"]["contents"] == [
        {"role": "user", "parts": [{"text": "Stream over gRPC please"}]}
    ]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == sent_text(call) and "Stream over gRPC please" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == expected_usage(
        call
    )
    [cascade] = new_cascades(rig, fresh)
    assert assert_ls_turn(cascade, "idle")["grpc_status"] == "OK"


def test_parameters_mapped_for_a_budget_model(
    client: openai.OpenAI, rig: Rig, fresh: set[str]
) -> None:
    """reasoning_effort on a budget-taking model becomes a thinking budget (Claude's floor)."""
    completion = client.chat.completions.create(
        model=CLAUDE,
        messages=[{"role": "user", "content": "Think a little over gRPC"}],
        tools=TOOLS,
        reasoning_effort="low",
        max_tokens=3000,
        temperature=0.5,
    )
    [call] = calls(rig)
    assert_ls_envelope(call, CLAUDE)
    config = call["request"]["generationConfig"]
    assert config["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 1024}
    assert config["maxOutputTokens"] == 3000
    assert config["temperature"] == pytest.approx(0.5)
    assert call["request"]["toolConfig"]["functionCallingConfig"]["mode"] == "VALIDATED"
    assert completion.choices[0].message.content == sent_text(call)
    [cascade] = new_cascades(rig, fresh)
    assert_ls_turn(cascade, "idle")


@pytest.mark.parametrize(("effort", "budget"), [("low", 1024), ("high", 24576)])
def test_gemini_3_effort_travels_as_a_budget(
    client: openai.OpenAI, rig: Rig, fresh: set[str], effort: Literal["low", "high"], budget: int
) -> None:
    """Google's public protobuf has no thinkingLevel: Gemini 3 gets the budget the level means."""
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Think over gRPC"}],
        reasoning_effort=effort,
    )
    [call] = calls(rig)
    assert_ls_envelope(call, MODEL)
    thinking = call["request"]["generationConfig"]["thinkingConfig"]
    assert thinking == {"includeThoughts": True, "thinkingBudget": budget}
    assert completion.choices[0].message.content == sent_text(call)
    [cascade] = new_cascades(rig, fresh)
    assert_ls_turn(cascade, "idle")


def test_responses_api_carried_by_the_grpc_ls(
    client: openai.OpenAI, rig: Rig, fresh: set[str]
) -> None:
    response = client.responses.create(
        model=MODEL, instructions="Be brief.", input="Responses over gRPC"
    )
    [call] = calls(rig)
    assert_ls_envelope(call, MODEL)
    assert call["request"]["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert call["request"]["contents"] == [
        {"role": "user", "parts": [{"text": "Responses over gRPC"}]}
    ]
    assert response.status == "completed" and response.output_text == sent_text(call)
    assert response.usage is not None
    prompt, output, total = expected_usage(call)
    assert (response.usage.input_tokens, response.usage.output_tokens) == (prompt, output)
    assert response.usage.total_tokens == total
    [cascade] = new_cascades(rig, fresh)
    assert_ls_turn(cascade, "idle")


# --- tools ----------------------------------------------------------------------------------


def test_tool_round_trip_keeps_the_signature_and_spares_the_ls(
    client: openai.OpenAI, rig: Rig, fresh: set[str]
) -> None:
    messages: list[Any] = [{"role": "user", "content": "Use get_weather for Paris."}]
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    tool_calls = [
        c
        for c in first.choices[0].message.tool_calls or []
        if isinstance(c, ChatCompletionMessageFunctionToolCall)
    ]
    assert first.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in tool_calls] == ["get_weather"]
    [asked] = calls(rig)
    [sent_call] = [
        part
        for chunk in asked["sent"]
        for part in chunk["candidates"][0]["content"]["parts"]
        if "functionCall" in part
    ]
    assert sent_call["thoughtSignature"]  # Gemini 3 signs its call
    assert orjson.loads(tool_calls[0].function.arguments) == sent_call["functionCall"]["args"]

    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": tool_calls[0].id, "content": "sunny"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
    _, replay = calls(rig)
    assert replay["status"] == "OK"
    assert "get_weather" in (second.choices[0].message.content or "")
    assert second.choices[0].message.content == sent_text(replay)
    # The call went back to Google with the signature Google gave it.
    [model_turn] = [c for c in replay["request"]["contents"] if c["role"] == "model"]
    [replayed] = [p for p in model_turn["parts"] if "functionCall" in p]
    for key in ("name", "args"):  # plus the id the proxy pairs the call and its result by
        assert replayed["functionCall"][key] == sent_call["functionCall"][key]
    assert replayed["thoughtSignature"] == sent_call["thoughtSignature"]
    checks = check_replayed_calls(replay["request"]["contents"], rig.google.authority)
    assert [c.result for c in checks] == ["real"]
    # The LS saw neither call: the relay removed it from the LS's copy of the stream.
    cascades = new_cascades(rig, fresh)
    assert len(cascades) == 2
    for cascade in cascades:
        ls = assert_ls_turn(cascade, "idle")
        assert ls["grpc_status"] == "OK" and ls["messages"]
        assert b"functionCall" not in orjson.dumps(ls["messages"])


# --- errors in trailers ---------------------------------------------------------------------


def ask(client: openai.OpenAI, text: str, **kw: Any) -> Any:
    return client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}], **kw
    )


def assert_ls_failed(rig: Rig, before: set[str], grpc_status: str) -> None:
    """The LS's turn ended in error on the same status, unless the driver's cancel came first.

    The driver cancels the cascade of every exchange that did not complete (the sidecar has
    already answered the client), which races the trailers on their way to the LS.
    """
    [cascade] = new_cascades(rig, before)
    if cascade["state"] == "cancelled":
        assert cascade["error"] == "cancelled by CancelCascadeInvocation"
        [ls] = cascade["requests"]
        assert ls["grpc_status"] in (None, grpc_status) and ls["function_calls"] == []
        return
    ls = assert_ls_turn(cascade, "error")
    assert ls["grpc_status"] == grpc_status
    assert cascade["error"].startswith(f"gRPC {grpc_status}")


def test_rate_limit_in_trailers(client: openai.OpenAI, rig: Rig, fresh: set[str]) -> None:
    with pytest.raises(openai.RateLimitError) as e:
        ask(client, "hi [[sim:error=429]]")
    assert e.value.status_code == 429 and e.value.code == "rate_limit_exceeded"
    delay = sim_errors.RATE_LIMIT_DELAY.removesuffix("s")
    assert e.value.response.headers["retry-after"] == delay
    [call] = calls(rig)
    assert call["status"] == "RESOURCE_EXHAUSTED"
    assert_ls_failed(rig, fresh, "RESOURCE_EXHAUSTED")


def test_exhausted_quota_in_trailers_is_not_retried(rig: Rig, fresh: set[str]) -> None:
    with (
        openai.OpenAI(
            base_url=rig.daemon.base_url,
            api_key="unused",
            max_retries=2,
            timeout=60,
            _strict_response_validation=True,
        ) as retrying,
        pytest.raises(openai.RateLimitError) as e,
    ):
        ask(retrying, "hi [[sim:error=quota]]")
    assert e.value.status_code == 429 and e.value.code == "insufficient_quota"
    assert e.value.response.headers["x-should-retry"] == "false"
    assert "retry-after" not in e.value.response.headers
    assert len(calls(rig)) == 1  # the SDK believed us
    assert_ls_failed(rig, fresh, "RESOURCE_EXHAUSTED")


def test_invalid_argument_in_trailers(client: openai.OpenAI, rig: Rig, fresh: set[str]) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        ask(client, "hi [[sim:error=400]]")
    assert e.value.status_code == 400 and e.value.code == "invalid_argument"
    assert "Request contains an invalid argument." in e.value.message
    assert_ls_failed(rig, fresh, "INVALID_ARGUMENT")


def test_unavailable_in_trailers(client: openai.OpenAI, rig: Rig, fresh: set[str]) -> None:
    with pytest.raises(openai.InternalServerError) as e:
        ask(client, "hi [[sim:error=503]]")
    assert e.value.status_code == 503 and e.value.code == "overloaded"
    assert e.value.type == "server_error"
    assert_ls_failed(rig, fresh, "UNAVAILABLE")


def test_midstream_error_ends_the_stream_with_the_error(
    client: openai.OpenAI, rig: Rig, fresh: set[str]
) -> None:
    stream = ask(client, "hi [[sim:error=midstream]]", stream=True)
    received: list[Any] = []
    with pytest.raises(openai.APIError) as e:
        for chunk in stream:
            received.append(chunk)
    [call] = calls(rig)
    assert call["status"] == "UNAVAILABLE" and call["sent"]
    assert received, "content arrived before the error"
    assert not any(c.choices and c.choices[0].finish_reason for c in received)
    assert e.value.code == "overloaded"
    text = "".join(c.choices[0].delta.content or "" for c in received if c.choices)
    assert text == sent_text(call)
    assert_ls_failed(rig, fresh, "UNAVAILABLE")
