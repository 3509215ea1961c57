"""The official `openai` client, strict, against the real daemon, proxy and simulator."""

from __future__ import annotations

import base64
import json
from typing import Any

import openai
import pytest

from tests.integration.harness import Daemon, image_message

FLASH = "gemini-2.5-flash"
GEMINI3 = "gemini-3-pro-preview"

WEATHER_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {
                    "city": {"type": "string", "format": "uri"},
                    "unit": {"anyOf": [{"type": "string", "enum": ["c", "f"]}, {"type": "null"}]},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "parameters": {
                "type": "object",
                "properties": {"zone": {"type": ["string", "null"], "const": "UTC"}},
                "required": ["zone"],
            },
        },
    },
]


def generation_requests(daemon: Daemon) -> list[dict[str, Any]]:
    return [r for r in daemon.simulator_requests() if "enerateContent" in r["path"]]


def test_models_say_simulator(client: openai.OpenAI, daemon: Daemon) -> None:
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert FLASH in ids and GEMINI3 in ids
    assert {m.owned_by for m in models.data} == {"zerogravity-simulator"}
    assert client.models.retrieve(FLASH).id == FLASH
    with pytest.raises(openai.NotFoundError) as e:
        client.models.retrieve("gpt-4o")
    assert e.value.code == "model_not_found"
    health = daemon.health()
    assert health["simulator"] is True and health["upstream"]["mode"] == "simulator"
    assert "SIMULATOR MODE" in daemon.log()


def test_non_streaming_text(client: openai.OpenAI, daemon: Daemon) -> None:
    daemon.clear_simulator_requests()
    completion = client.chat.completions.create(
        model=FLASH,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello there"},
        ],
        temperature=0.2,
        max_tokens=200,
        stop=["zebra"],
    )
    choice = completion.choices[0]
    assert completion.object == "chat.completion"
    assert choice.finish_reason == "stop"
    assert "Hello there" in (choice.message.content or "")
    assert completion.usage is not None
    assert (
        completion.usage.total_tokens
        == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert completion.usage.completion_tokens > 0
    [sent] = generation_requests(daemon)
    body = sent["body"]
    # The placeholder was replaced by the client's conversation, through the proxy.
    assert body["contents"] == [{"role": "user", "parts": [{"text": "Hello there"}]}]
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["generationConfig"]["temperature"] == 0.2
    assert body["generationConfig"]["maxOutputTokens"] == 200
    assert body["generationConfig"]["stopSequences"] == ["zebra"]
    assert "x-zerogravity-exchange" not in sent["headers"]


def test_streaming_matches_non_streaming(client: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": "Tell me about streams [[sim:events=8,size=12]]"}]
    whole = client.chat.completions.create(model=FLASH, messages=messages)
    stream = client.chat.completions.create(
        model=FLASH, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].usage.model_dump() == whole.usage.model_dump() if whole.usage else False


def test_reasoning_content_streams(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=GEMINI3,
        messages=[{"role": "user", "content": "Think, then answer."}],
        reasoning_effort="low",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
        for c in chunks
        if c.choices
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert reasoning and content
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens_details is not None
    assert (
        usage.completion_tokens_details.reasoning_tokens
        and usage.completion_tokens_details.reasoning_tokens > 0
    )


def test_parallel_tool_round_trip_restores_signatures(
    client: openai.OpenAI, daemon: Daemon
) -> None:
    daemon.clear_simulator_requests()
    messages: list[Any] = [{"role": "user", "content": "Use get_weather and get_time for Paris."}]
    with client.chat.completions.stream(
        model=GEMINI3, messages=messages, tools=WEATHER_TOOLS
    ) as stream:
        first = stream.get_final_completion()
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert all(json.loads(c.function.arguments) for c in calls)
    assert len({c.id for c in calls}) == 2
    # Turn two: the client knows nothing of thought signatures; the proxy restores them.
    messages.append(choice.message.model_dump(exclude_none=True))
    messages += [
        {"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp": 21}'},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "12:00"},
    ]
    second = client.chat.completions.create(model=GEMINI3, messages=messages, tools=WEATHER_TOOLS)
    answer = second.choices[0].message.content or ""
    assert second.choices[0].finish_reason == "stop"
    assert "get_weather" in answer and "get_time" in answer
    turn_two = generation_requests(daemon)[-1]
    model_turn, results = turn_two["body"]["contents"][1:3]
    calls_sent = [p for p in model_turn["parts"] if "functionCall" in p]
    assert [p["functionCall"]["name"] for p in calls_sent] == ["get_weather", "get_time"]
    assert "thoughtSignature" in calls_sent[0]
    assert calls_sent[0]["thoughtSignature"] != "skip_thought_signature_validator"
    assert "thoughtSignature" not in calls_sent[1]
    assert [p["functionResponse"]["name"] for p in results["parts"]] == ["get_weather", "get_time"]
    assert results["role"] == "user"
    # The tool schemas reached Gemini cleaned of what it rejects.
    params = turn_two["body"]["tools"][0]["functionDeclarations"][0]["parameters"]
    assert "$schema" not in params and "additionalProperties" not in params


def test_unknown_tool_call_id_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model=FLASH,
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "call_nope", "content": "x"},
            ],
        )
    assert e.value.param is not None and "tool_call_id" in e.value.param


def test_image_data_uri_becomes_inline_data(client: openai.OpenAI, daemon: Daemon) -> None:
    daemon.clear_simulator_requests()
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
    completion = client.chat.completions.create(
        model=FLASH,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
                ],
            }
        ],
    )
    assert completion.choices[0].finish_reason == "stop"
    [sent] = generation_requests(daemon)
    parts = sent["body"]["contents"][0]["parts"]
    assert {"inlineData": {"mimeType": "image/png", "data": png}} in parts


def test_remote_image_url_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model=FLASH,
            messages=image_message("https://example.com/cat.png"),
        )
    assert e.value.param is not None and "image_url" in e.value.param


def test_json_schema_output(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    completion = client.chat.completions.create(
        model=FLASH,
        messages=[{"role": "user", "content": "Largest city in France?"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": schema, "strict": True},
        },
    )
    data = json.loads(completion.choices[0].message.content or "")
    assert set(data) == {"city", "population"}
    assert isinstance(data["city"], str) and isinstance(data["population"], int)


def test_length_finish(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=FLASH,
        messages=[{"role": "user", "content": "Talk a lot [[sim:events=40,size=30]]"}],
        max_tokens=5,
    )
    assert completion.choices[0].finish_reason == "length"


def test_n_choices(client: openai.OpenAI, daemon: Daemon) -> None:
    messages: Any = [{"role": "user", "content": "Two answers, please."}]
    single = client.chat.completions.create(model=FLASH, messages=messages)
    assert single.usage is not None
    daemon.clear_simulator_requests()
    whole = client.chat.completions.create(model=FLASH, messages=messages, n=2)
    assert len(generation_requests(daemon)) == 2  # one exchange per choice
    assert [(c.index, c.finish_reason) for c in whole.choices] == [(0, "stop"), (1, "stop")]
    text = single.choices[0].message.content
    assert [c.message.content for c in whole.choices] == [text, text]  # the simulator is fixed
    assert whole.usage is not None
    assert whole.usage.prompt_tokens == 2 * single.usage.prompt_tokens
    assert whole.usage.completion_tokens == 2 * single.usage.completion_tokens
    assert whole.usage.total_tokens == 2 * single.usage.total_tokens

    with client.chat.completions.stream(
        model=FLASH, messages=messages, n=2, stream_options={"include_usage": True}
    ) as stream:
        streamed = stream.get_final_completion()
    assert [(c.index, c.finish_reason) for c in streamed.choices] == [(0, "stop"), (1, "stop")]
    assert [c.message.content for c in streamed.choices] == [text, text]
    assert streamed.usage is not None
    assert streamed.usage.model_dump() == whole.usage.model_dump()


def test_tool_results_in_any_order_go_in_call_order(client: openai.OpenAI, daemon: Daemon) -> None:
    daemon.clear_simulator_requests()
    messages: list[Any] = [{"role": "user", "content": "Use get_weather and get_time for Paris."}]
    first = client.chat.completions.create(model=GEMINI3, messages=messages, tools=WEATHER_TOOLS)
    calls = [c for c in first.choices[0].message.tool_calls or [] if c.type == "function"]
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages += [
        {"role": "tool", "tool_call_id": calls[1].id, "content": "12:00"},
        {"role": "tool", "tool_call_id": calls[0].id, "content": '{"temp": 21}'},
    ]
    no_args: Any = {"type": "function", "function": {"name": "ping"}}
    second = client.chat.completions.create(
        model=GEMINI3, messages=messages, tools=[*WEATHER_TOOLS, no_args]
    )
    assert second.choices[0].finish_reason == "stop"
    body = generation_requests(daemon)[-1]["body"]
    results = body["contents"][2]["parts"]
    assert [p["functionResponse"]["id"] for p in results] == [calls[0].id, calls[1].id]
    assert body["tools"][0]["functionDeclarations"][2] == {"name": "ping"}
