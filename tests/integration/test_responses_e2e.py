"""The Responses API with the official client, strict, against the real daemon and simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.responses import ResponseReasoningItem

from tests.integration.harness import Daemon, running_daemon

FLASH = "gemini-2.5-flash"
GEMINI3 = "gemini-3-pro-preview"

TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "strict": True,
    },
    {
        "type": "function",
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"type": "string"}},
            "required": ["zone"],
        },
        "strict": False,
    },
]


def generation_requests(daemon: Daemon) -> list[dict[str, Any]]:
    return [r for r in daemon.simulator_requests() if "enerateContent" in r["path"]]


def test_create_non_streaming(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model=FLASH, input="Hello responses", instructions="Be brief."
    )
    assert response.id.startswith("resp_") and response.object == "response"
    assert response.status == "completed"
    assert "Hello responses" in response.output_text
    message = next(item for item in response.output if item.type == "message")
    assert message.id.startswith("msg_")
    assert response.usage is not None
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.usage.input_tokens_details.cache_write_tokens == 0
    assert response.instructions == "Be brief."


def test_streaming_event_sequence(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(model=FLASH, input="Stream me [[sim:events=6,size=8]]", stream=True)
    )
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert len({e.item_id for e in deltas}) == 1
    completed = events[-1].response  # type: ignore[union-attr]
    assert "".join(e.delta for e in deltas) == completed.output_text
    assert [i.id for i in completed.output] == [
        e.item.id for e in events if e.type == "response.output_item.done"
    ]


def test_stream_helper_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model=FLASH, input="Helper please") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.status == "completed" and "Helper please" in final.output_text


def test_tool_loop_by_resending_items(client: openai.OpenAI, daemon: Daemon) -> None:
    daemon.clear_simulator_requests()
    first = client.responses.create(
        model=GEMINI3,
        input="Use get_weather and get_time for Paris.",
        tools=TOOLS,
        include=["reasoning.encrypted_content"],
        store=False,
    )
    calls = [item for item in first.output if item.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert all(c.id and c.id.startswith("fc_") for c in calls)
    # A stateless client resends everything, reasoning items (with their encrypted content) included.
    items: list[Any] = [{"role": "user", "content": "Use get_weather and get_time for Paris."}]
    items += [item.model_dump(exclude_none=True) for item in first.output]
    items += [
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": '{"temp": 21}'},
        {"type": "function_call_output", "call_id": calls[1].call_id, "output": "12:00"},
    ]
    second = client.responses.create(model=GEMINI3, input=items, tools=TOOLS, store=False)
    assert second.status == "completed"
    assert "get_weather" in second.output_text and "get_time" in second.output_text
    replay = generation_requests(daemon)[-1]
    checks = replay["signatures"]
    assert checks and all(c["result"] == "real" for c in checks)


def test_tool_loop_by_previous_response_id(client: openai.OpenAI, daemon: Daemon) -> None:
    daemon.clear_simulator_requests()
    first = client.responses.create(model=GEMINI3, input="Use get_weather for Paris.", tools=TOOLS)
    [call] = [item for item in first.output if item.type == "function_call"]
    second = client.responses.create(
        model=GEMINI3,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=TOOLS,
    )
    assert second.status == "completed" and "get_weather" in second.output_text
    assert second.previous_response_id == first.id
    replay = generation_requests(daemon)[-1]
    assert [c["result"] for c in replay["signatures"]] == ["real"]
    contents = replay["body"]["contents"]
    assert contents[0]["parts"][0]["text"] == "Use get_weather for Paris."


def test_unknown_previous_response_id(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(model=FLASH, input="hi", previous_response_id="resp_missing")
    assert e.value.code == "previous_response_not_found"


def test_reasoning_summary_stream(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model=GEMINI3,
            input="Think first.",
            reasoning={"effort": "low", "summary": "auto"},
            stream=True,
        )
    )
    types = [e.type for e in events]
    assert "response.reasoning_summary_part.added" in types
    assert "response.reasoning_summary_text.delta" in types
    final = events[-1].response  # type: ignore[union-attr]
    reasoning = final.output[0]
    assert isinstance(reasoning, ResponseReasoningItem) and reasoning.summary
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens > 0


def test_json_schema_output(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "rank": {"type": "integer"}},
        "required": ["city", "rank"],
        "additionalProperties": False,
    }
    response = client.responses.create(
        model=FLASH,
        input="Top city?",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
    )
    data = json.loads(response.output_text)
    assert isinstance(data["city"], str) and isinstance(data["rank"], int)


def test_json_schema_without_schema_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        bad_format: Any = {"format": {"type": "json_schema", "name": "n"}}
        client.responses.create(model=FLASH, input="x", text=bad_format)


def test_web_search_citations(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model=FLASH,
        input="Who won the match? Ünïcode first.",
        tools=[{"type": "web_search_preview"}],
    )
    message = next(item for item in response.output if item.type == "message")
    annotations = message.content[0].annotations  # type: ignore[union-attr]
    assert annotations and all(a.type == "url_citation" for a in annotations)
    text = response.output_text
    for a in annotations:
        assert 0 <= a.start_index < a.end_index <= len(text)  # type: ignore[union-attr]


def test_web_search_with_functions_is_refused(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        client.responses.create(
            model=FLASH, input="x", tools=[{"type": "web_search_preview"}, TOOLS[0]]
        )
    assert e.value.code == "unsupported_tool_combination"


def test_max_output_tokens_incomplete(client: openai.OpenAI) -> None:
    response = client.responses.create(
        model=FLASH, input="Go on and on [[sim:events=40,size=30]]", max_output_tokens=30
    )
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"


def test_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        client.responses.create(model="gpt-5", input="hi")
    assert not_found.value.code == "model_not_found"
    with pytest.raises(openai.RateLimitError) as limited:
        client.responses.create(model=FLASH, input="hi [[sim:error=429]]", stream=True)
    assert limited.value.response.headers["retry-after"] == "26"


def test_failure_after_streaming_began_is_response_failed(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(model=FLASH, input="hi [[sim:error=midstream]]", stream=True)
    )
    assert events[-1].type == "response.failed"
    failed = events[-1].response
    assert failed.status == "failed" and failed.error is not None


def test_retrieve_delete_input_items(client: openai.OpenAI) -> None:
    created = client.responses.create(
        model=FLASH,
        input=[
            {"role": "user", "content": "first"},
            {"role": "user", "content": [{"type": "input_text", "text": "second"}]},
        ],
    )
    fetched = client.responses.retrieve(created.id)
    assert fetched.id == created.id and fetched.output_text == created.output_text
    items = client.responses.input_items.list(created.id, order="asc")
    texts = [item.content[0].text for item in items.data]  # type: ignore[union-attr, index]
    assert texts == ["first", "second"]
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


def test_store_false_is_not_stored(client: openai.OpenAI) -> None:
    created = client.responses.create(model=FLASH, input="forget me", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_stored_response_survives_restart(tmp_path: Path) -> None:
    with (
        running_daemon(tmp_path) as daemon,
        openai.OpenAI(
            base_url=daemon.base_url,
            api_key="unused",
            max_retries=0,
            _strict_response_validation=True,
        ) as client,
    ):
        created = client.responses.create(model=FLASH, input="remember me")
    with (
        running_daemon(tmp_path) as daemon,
        openai.OpenAI(
            base_url=daemon.base_url,
            api_key="unused",
            max_retries=0,
            _strict_response_validation=True,
        ) as client,
    ):
        fetched = client.responses.retrieve(created.id)
        assert fetched.output_text == created.output_text
        follow_up = client.responses.create(
            model=FLASH, input="and now?", previous_response_id=created.id
        )
        assert follow_up.status == "completed"
        sent = [r for r in daemon.simulator_requests() if "enerateContent" in r["path"]][-1]
        texts = [p.get("text") for c in sent["body"]["contents"] for p in c["parts"]]
        assert "remember me" in texts and "and now?" in texts
