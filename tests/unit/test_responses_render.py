"""ResponsesRender against the official SDK's models and stream accumulator (protocols.md B.3,
B.4, E.5, F.3 items 27-34)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import httpx2
import openai
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai import omit
from openai.lib.streaming.responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from zerogravity_proxy.events import (
    Event,
    Finish,
    Grounding,
    Source,
    Support,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    UpstreamError,
    Usage,
)
from zerogravity_proxy.openai.chat_render import SSE_DONE
from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.openai.responses_render import ResponsesRender, sse_event

ID = "resp_0123456789abcdef"
CREATED = 1_767_225_600
COMPLETED = CREATED + 7
MODEL = "gemini-2.5-flash"
ECHO: dict[str, Any] = {
    "instructions": "Be brief.",
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            "strict": False,
        }
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "temperature": 0.5,
    "top_p": None,
    "text": {"format": {"type": "text"}},
    "reasoning": {"effort": "low", "summary": "auto"},
    "metadata": {"k": "v"},
    "max_output_tokens": None,
    "previous_response_id": None,
    "truncation": "disabled",
    "user": None,
    "store": True,
}
ZERO_USAGE = {
    "input_tokens": 0,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 0,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 0,
}
STREAM_EVENT: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
TERMINAL = ("response.completed", "response.incomplete", "response.failed")
ID_FORMAT = {
    "reasoning": re.compile(r"rs_[0-9a-f]{24}"),
    "message": re.compile(r"msg_[0-9a-f]{24}"),
    "function_call": re.compile(r"fc_[0-9a-f]{24}"),
}

WEATHER = ToolCall("call_a", "get_weather", {"city": "Zürich"}, "sig-a")
TIME = ToolCall("call_b", "get_time", {"tz": "Europe/Zurich"})


def render(*, include_encrypted: bool = False, echo: dict[str, Any] = ECHO) -> ResponsesRender:
    return ResponsesRender(
        response_id=ID,
        created_at=CREATED,
        model=MODEL,
        echo=echo,
        include_encrypted=include_encrypted,
        clock=lambda: COMPLETED + 0.9,
    )


def run(
    events: Iterable[Event], *, include_encrypted: bool = False
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The streaming path, every event validated; then the final object, validated too."""
    r = render(include_encrypted=include_encrypted)
    out = [emitted for event in events for emitted in r.feed(event)]
    out += r.finish()
    validated(out)
    final = r.response()
    assert out[-1]["response"] is final  # non-streaming returns what the stream ended with
    valid_response(final)
    return out, final


def finished(events: Iterable[Event], *, include_encrypted: bool = False) -> dict[str, Any]:
    return run(events, include_encrypted=include_encrypted)[1]


def validated(events: Sequence[dict[str, Any]]) -> list[ResponseStreamEvent]:
    """Each event as it goes on the wire, parsed strictly by the SDK's event union."""
    parsed = []
    for event in events:
        wire = sse_event(event)
        head = f"event: {event['type']}\ndata: ".encode()
        assert wire.startswith(head)
        assert wire.endswith(b"\n\n")
        parsed.append(STREAM_EVENT.validate_json(wire[len(head) : -2], strict=True))
    return parsed


def valid_response(obj: dict[str, Any]) -> Response:
    return Response.model_validate_json(orjson.dumps(obj), strict=True)


def response_object(status: str, output: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "id": ID,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "model": MODEL,
        "output": output,
        **ECHO,
        "usage": None,
        "error": None,
        "incomplete_details": None,
        **fields,
    }


def opening() -> list[dict[str, Any]]:
    snapshot = response_object("in_progress", [])
    return [
        {"type": "response.created", "sequence_number": 0, "response": snapshot},
        {"type": "response.in_progress", "sequence_number": 1, "response": snapshot},
    ]


def added_ids(out: Sequence[dict[str, Any]]) -> list[str]:
    return [e["item"]["id"] for e in out if e["type"] == "response.output_item.added"]


# --- exact event sequences ---


def test_text_only_exact() -> None:
    out, final = run([TextDelta("Hel"), TextDelta("lo"), Finish("STOP"), Usage(3, 1, 2, 0, 0, 5)])
    [msg] = added_ids(out)
    assert ID_FORMAT["message"].fullmatch(msg)
    head = {"item_id": msg, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": "Hello", "annotations": []}
    item = {"id": msg, "type": "message", "role": "assistant", "status": "completed"}
    usage = {
        "input_tokens": 3,
        "input_tokens_details": {"cached_tokens": 1, "cache_write_tokens": 0},
        "output_tokens": 2,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 5,
    }
    expected_final = response_object(
        "completed", [{**item, "content": [part]}], usage=usage, completed_at=COMPLETED
    )
    assert out == [
        *opening(),
        {
            "type": "response.output_item.added",
            "sequence_number": 2,
            "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            "sequence_number": 3,
            **head,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 4,
            **head,
            "delta": "Hel",
            "logprobs": [],
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 5,
            **head,
            "delta": "lo",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 6,
            **head,
            "text": "Hello",
            "logprobs": [],
        },
        {"type": "response.content_part.done", "sequence_number": 7, **head, "part": part},
        {
            "type": "response.output_item.done",
            "sequence_number": 8,
            "output_index": 0,
            "item": {**item, "content": [part]},
        },
        {"type": "response.completed", "sequence_number": 9, "response": expected_final},
    ]
    assert final == expected_final


def test_reasoning_summary_then_text_exact() -> None:
    events: list[Event] = [
        ThoughtDelta("Let me "),
        ThoughtDelta("think.", "sig-1"),
        TextDelta("Answer."),
        Finish("STOP"),
        Usage(prompt=10, cached=4, candidates=3, thoughts=7, tool_use_prompt=2, total=22),
    ]
    out, final = run(events, include_encrypted=True)
    rs, msg = added_ids(out)
    assert ID_FORMAT["reasoning"].fullmatch(rs)
    r_head = {"item_id": rs, "output_index": 0, "summary_index": 0}
    m_head = {"item_id": msg, "output_index": 1, "content_index": 0}
    summary = {"type": "summary_text", "text": "Let me think."}
    reasoning = {"id": rs, "type": "reasoning", "summary": [summary], "encrypted_content": "sig-1"}
    part = {"type": "output_text", "text": "Answer.", "annotations": []}
    message = {"id": msg, "type": "message", "role": "assistant", "status": "completed"}
    usage = {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "output_tokens": 10,
        "output_tokens_details": {"reasoning_tokens": 7},
        "total_tokens": 22,
    }
    expected_final = response_object(
        "completed",
        [reasoning, {**message, "content": [part]}],
        usage=usage,
        completed_at=COMPLETED,
    )
    assert out == [
        *opening(),
        {
            "type": "response.output_item.added",
            "sequence_number": 2,
            "output_index": 0,
            "item": {"id": rs, "type": "reasoning", "summary": []},
        },
        {
            "type": "response.reasoning_summary_part.added",
            "sequence_number": 3,
            **r_head,
            "part": {"type": "summary_text", "text": ""},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "sequence_number": 4,
            **r_head,
            "delta": "Let me ",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "sequence_number": 5,
            **r_head,
            "delta": "think.",
        },
        {
            "type": "response.reasoning_summary_text.done",
            "sequence_number": 6,
            **r_head,
            "text": "Let me think.",
        },
        {
            "type": "response.reasoning_summary_part.done",
            "sequence_number": 7,
            **r_head,
            "part": summary,
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 8,
            "output_index": 0,
            "item": reasoning,
        },
        {
            "type": "response.output_item.added",
            "sequence_number": 9,
            "output_index": 1,
            "item": {**message, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            "sequence_number": 10,
            **m_head,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 11,
            **m_head,
            "delta": "Answer.",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 12,
            **m_head,
            "text": "Answer.",
            "logprobs": [],
        },
        {"type": "response.content_part.done", "sequence_number": 13, **m_head, "part": part},
        {
            "type": "response.output_item.done",
            "sequence_number": 14,
            "output_index": 1,
            "item": {**message, "content": [part]},
        },
        {"type": "response.completed", "sequence_number": 15, "response": expected_final},
    ]
    assert final == expected_final


def test_parallel_tool_calls_exact() -> None:
    """Gemini signs only the first of parallel calls; an empty reasoning item carries it."""
    out, final = run([WEATHER, TIME, Finish("STOP")], include_encrypted=True)
    rs, fc_a, fc_b = added_ids(out)
    assert ID_FORMAT["function_call"].fullmatch(fc_a) and ID_FORMAT["function_call"].fullmatch(fc_b)
    reasoning = {"id": rs, "type": "reasoning", "summary": [], "encrypted_content": "sig-a"}
    call_a = {"id": fc_a, "type": "function_call", "call_id": "call_a", "name": "get_weather"}
    call_b = {"id": fc_b, "type": "function_call", "call_id": "call_b", "name": "get_time"}
    args_a, args_b = '{"city":"Zürich"}', '{"tz":"Europe/Zurich"}'
    done_a = {**call_a, "arguments": args_a, "status": "completed"}
    done_b = {**call_b, "arguments": args_b, "status": "completed"}
    expected_final = response_object(
        "completed", [reasoning, done_a, done_b], usage=ZERO_USAGE, completed_at=COMPLETED
    )

    def call_events(seq: int, index: int, item: dict[str, Any], args: str) -> list[dict[str, Any]]:
        head = {"item_id": item["id"], "output_index": index}
        done = {**item, "arguments": args, "status": "completed"}
        return [
            {
                "type": "response.output_item.added",
                "sequence_number": seq,
                "output_index": index,
                "item": {**item, "arguments": "", "status": "in_progress"},
            },
            {
                "type": "response.function_call_arguments.delta",
                "sequence_number": seq + 1,
                **head,
                "delta": args,
            },
            {
                "type": "response.function_call_arguments.done",
                "sequence_number": seq + 2,
                **head,
                "name": item["name"],
                "arguments": args,
            },
            {
                "type": "response.output_item.done",
                "sequence_number": seq + 3,
                "output_index": index,
                "item": done,
            },
        ]

    assert out == [
        *opening(),
        {
            "type": "response.output_item.added",
            "sequence_number": 2,
            "output_index": 0,
            "item": {"id": rs, "type": "reasoning", "summary": []},
        },
        {
            "type": "response.output_item.done",
            "sequence_number": 3,
            "output_index": 0,
            "item": reasoning,
        },
        *call_events(4, 1, call_a, args_a),
        *call_events(8, 2, call_b, args_b),
        {"type": "response.completed", "sequence_number": 12, "response": expected_final},
    ]
    assert final == expected_final


GROUNDING = Grounding(
    queries=("weather zurich",),
    sources=(Source("https://a.example/", "A"), Source("https://b.example/", "B")),
    supports=(
        Support(0, 6, "Sunny.", (1, 0)),  # the first source is cited
        Support(7, 12, "Warm.", ()),  # no source: nothing to cite
        Support(7, 12, "Warm.", (5,)),  # no such source
        Support(7, 12, "Warm.", (0,)),
    ),
)
ANNOTATIONS = [
    {
        "type": "url_citation",
        "start_index": 0,
        "end_index": 6,
        "title": "B",
        "url": "https://b.example/",
    },
    {
        "type": "url_citation",
        "start_index": 7,
        "end_index": 12,
        "title": "A",
        "url": "https://a.example/",
    },
]


def test_grounding_annotations_exact() -> None:
    out, final = run([TextDelta("Sunny. "), TextDelta("Warm."), GROUNDING, Finish("STOP")])
    [msg] = added_ids(out)
    head = {"item_id": msg, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": "Sunny. Warm.", "annotations": ANNOTATIONS}
    item = {
        "id": msg,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [part],
    }
    expected_final = response_object("completed", [item], usage=ZERO_USAGE, completed_at=COMPLETED)
    assert out[2:] == [
        {
            "type": "response.output_item.added",
            "sequence_number": 2,
            "output_index": 0,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            "sequence_number": 3,
            **head,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 4,
            **head,
            "delta": "Sunny. ",
            "logprobs": [],
        },
        {
            "type": "response.output_text.delta",
            "sequence_number": 5,
            **head,
            "delta": "Warm.",
            "logprobs": [],
        },
        {
            "type": "response.output_text.annotation.added",
            "sequence_number": 6,
            **head,
            "annotation_index": 0,
            "annotation": ANNOTATIONS[0],
        },
        {
            "type": "response.output_text.annotation.added",
            "sequence_number": 7,
            **head,
            "annotation_index": 1,
            "annotation": ANNOTATIONS[1],
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 8,
            **head,
            "text": "Sunny. Warm.",
            "logprobs": [],
        },
        {"type": "response.content_part.done", "sequence_number": 9, **head, "part": part},
        {
            "type": "response.output_item.done",
            "sequence_number": 10,
            "output_index": 0,
            "item": item,
        },
        {"type": "response.completed", "sequence_number": 11, "response": expected_final},
    ]
    assert final == expected_final


def test_max_tokens_incomplete_exact() -> None:
    """The item cut short is closed `incomplete`; the finished reasoning stays as it was."""
    usage_event = Usage(5, 0, 8, 3, 0, 16)
    out, final = run(
        [ThoughtDelta("plan"), TextDelta("Once upon"), Finish("MAX_TOKENS"), usage_event]
    )
    rs, msg = added_ids(out)
    head = {"item_id": msg, "output_index": 1, "content_index": 0}
    part = {"type": "output_text", "text": "Once upon", "annotations": []}
    reasoning = {
        "id": rs,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "plan"}],
    }
    message = {
        "id": msg,
        "type": "message",
        "role": "assistant",
        "status": "incomplete",
        "content": [part],
    }
    usage = {
        "input_tokens": 5,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 11,
        "output_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": 16,
    }
    expected_final = response_object(
        "incomplete",
        [reasoning, message],
        usage=usage,
        incomplete_details={"reason": "max_output_tokens"},
    )
    assert "completed_at" not in final
    assert out[-5:] == [
        {
            "type": "response.output_text.delta",
            "sequence_number": 10,
            **head,
            "delta": "Once upon",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 11,
            **head,
            "text": "Once upon",
            "logprobs": [],
        },
        {"type": "response.content_part.done", "sequence_number": 12, **head, "part": part},
        {
            "type": "response.output_item.done",
            "sequence_number": 13,
            "output_index": 1,
            "item": message,
        },
        {"type": "response.incomplete", "sequence_number": 14, "response": expected_final},
    ]
    assert out[7]["item"] == reasoning  # closed "completed" when the text began
    assert final == expected_final


def test_malformed_function_call_failed_exact() -> None:
    r = render()
    out = r.feed(TextDelta("Calling"))
    assert r.feed(Finish("MALFORMED_FUNCTION_CALL", "Malformed function call: print(x")) == []
    out += r.finish()
    validated(out)
    [msg] = added_ids(out)
    head = {"item_id": msg, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": "Calling", "annotations": []}
    message = {
        "id": msg,
        "type": "message",
        "role": "assistant",
        "status": "incomplete",
        "content": [part],
    }
    message_text = "Gemini stopped with MALFORMED_FUNCTION_CALL: Malformed function call: print(x"
    expected_final = response_object(
        "failed",
        [message],
        usage=ZERO_USAGE,
        error={"code": "server_error", "message": message_text},
    )
    assert out[-5:] == [
        {
            "type": "response.output_text.delta",
            "sequence_number": 4,
            **head,
            "delta": "Calling",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 5,
            **head,
            "text": "Calling",
            "logprobs": [],
        },
        {"type": "response.content_part.done", "sequence_number": 6, **head, "part": part},
        {
            "type": "response.output_item.done",
            "sequence_number": 7,
            "output_index": 0,
            "item": message,
        },
        {"type": "response.failed", "sequence_number": 8, "response": expected_final},
    ]
    assert r.response() == expected_final
    valid_response(expected_final)
    failure = r.failure
    assert failure is not None
    assert (failure.status, failure.code) == (502, "malformed_function_call")


def test_upstream_error_mid_stream_fails_exact() -> None:
    r = render()
    out = r.feed(TextDelta("partial"))
    assert r.feed(UpstreamError(503, "UNAVAILABLE", "The model is overloaded.")) == []
    assert r.feed(TextDelta("ignored")) == []
    assert r.feed(Finish("STOP")) == []
    out += r.finish()
    validated(out)
    [msg] = added_ids(out)
    head = {"item_id": msg, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": "partial", "annotations": []}
    message = {
        "id": msg,
        "type": "message",
        "role": "assistant",
        "status": "incomplete",
        "content": [part],
    }
    expected_final = response_object(
        "failed",
        [message],
        usage=ZERO_USAGE,
        error={"code": "server_error", "message": "The model is overloaded."},
    )
    assert out[-5:] == [
        {
            "type": "response.output_text.delta",
            "sequence_number": 4,
            **head,
            "delta": "partial",
            "logprobs": [],
        },
        {
            "type": "response.output_text.done",
            "sequence_number": 5,
            **head,
            "text": "partial",
            "logprobs": [],
        },
        {"type": "response.content_part.done", "sequence_number": 6, **head, "part": part},
        {
            "type": "response.output_item.done",
            "sequence_number": 7,
            "output_index": 0,
            "item": message,
        },
        {"type": "response.failed", "sequence_number": 8, "response": expected_final},
    ]
    assert r.response() == expected_final
    assert r.failure is not None and r.failure.code == "overloaded"


def test_upstream_error_first_raises_with_status() -> None:
    r = render()
    assert r.feed(TextDelta("", "sig")) == []  # nothing to send yet: still nothing started
    with pytest.raises(OpenAIError) as info:
        r.feed(UpstreamError(429, "RESOURCE_EXHAUSTED", "Slow down.", retry_delay=26.0))
    err = info.value
    assert (err.status, err.code, err.retry_after) == (429, "rate_limit_exceeded", 26.0)
    assert r.failure is err
    # A renderer asked to finish anyway still tells the same story.
    out = r.finish()
    validated(out)
    assert [e["type"] for e in out] == [
        "response.created",
        "response.in_progress",
        "response.failed",
    ]
    assert out[-1]["response"]["error"]["code"] == "rate_limit_exceeded"


def test_upstream_error_after_explicit_start_is_recorded() -> None:
    r = render()
    assert [e["type"] for e in r.start()] == ["response.created", "response.in_progress"]
    assert r.start() == []
    assert r.feed(UpstreamError(500, "INTERNAL", "Boom.")) == []
    out = r.finish()
    assert [e["type"] for e in out] == ["response.failed"]
    assert out[0]["sequence_number"] == 2


@pytest.mark.parametrize(
    ("status", "code", "response_code"),
    [
        (400, "INVALID_ARGUMENT", "invalid_prompt"),
        (403, "PERMISSION_DENIED", "server_error"),
        (429, "RESOURCE_EXHAUSTED", "rate_limit_exceeded"),
        (500, "INTERNAL", "server_error"),
        (503, "UNAVAILABLE", "server_error"),
        (504, "DEADLINE_EXCEEDED", "server_error"),
        (502, "STREAM_TRUNCATED", "server_error"),
    ],
)
def test_error_codes_fit_the_response_enum(status: int, code: str, response_code: str) -> None:
    final = finished([TextDelta("x"), UpstreamError(status, code, "why")])
    assert final["error"] == {"code": response_code, "message": "why"}


# --- finish semantics ---


@pytest.mark.parametrize(
    ("gemini", "status", "reason"),
    [
        ("STOP", "completed", None),
        ("OTHER", "completed", None),
        ("SOMETHING_NEW", "completed", None),
        ("MAX_TOKENS", "incomplete", "max_output_tokens"),
        ("SAFETY", "incomplete", "content_filter"),
        ("RECITATION", "incomplete", "content_filter"),
        ("PROHIBITED_CONTENT", "incomplete", "content_filter"),
        ("PROMPT_BLOCKED", "incomplete", "content_filter"),
    ],
)
def test_finish_reason_mapping(gemini: str, status: str, reason: str | None) -> None:
    out, final = run([TextDelta("x"), Finish(gemini)])
    assert out[-1]["type"] == f"response.{status}"
    assert final["status"] == status
    assert final["incomplete_details"] == (reason and {"reason": reason})
    assert ("completed_at" in final) == (status == "completed")


def test_blocked_prompt_without_content() -> None:
    out, final = run([Finish("PROMPT_BLOCKED")])
    assert [e["type"] for e in out] == [
        "response.created",
        "response.in_progress",
        "response.incomplete",
    ]
    assert final["output"] == [] and final["incomplete_details"] == {"reason": "content_filter"}


@pytest.mark.parametrize("gemini", ["STOP", "MAX_TOKENS", "SAFETY"])
def test_any_tool_call_means_completed(gemini: str) -> None:
    """As in Chat, where any call makes the finish reason `tool_calls`."""
    assert run([TIME, Finish(gemini)])[1]["status"] == "completed"


@pytest.mark.parametrize(
    "gemini", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"]
)
def test_tool_failures_fail(gemini: str) -> None:
    final = finished([TIME, Finish(gemini)])
    assert final["status"] == "failed"
    assert final["error"]["code"] == "server_error" and gemini in final["error"]["message"]
    assert [i["type"] for i in final["output"]] == ["function_call"]  # done items stay


def test_unfinished_answer_fails() -> None:
    final = finished([TextDelta("cut off"), Usage(1, 0, 1, 0, 0, 2)])
    assert final["status"] == "failed"
    assert final["error"] == {"code": "server_error", "message": "upstream ended without finishing"}
    assert final["output"][0]["status"] == "incomplete"
    assert final["usage"]["total_tokens"] == 2


def test_reasoning_cut_short() -> None:
    out, final = run([ThoughtDelta("pla"), Finish("MAX_TOKENS")])
    part_done = next(e for e in out if e["type"] == "response.reasoning_summary_part.done")
    assert part_done["status"] == "incomplete"
    assert final["output"][0]["status"] == "incomplete"


def test_content_after_finish_and_empty_parts() -> None:
    """Signature-only parts send nothing, even after Finish; the answer still completes."""
    out, final = run([TextDelta("Hi"), ThoughtDelta(""), Finish("STOP"), TextDelta("", "sig")])
    assert [e["type"] for e in out].count("response.output_text.delta") == 1
    assert final["status"] == "completed"
    # A trailing signature has no function call to go with: no reasoning item for it.
    assert [i["type"] for i in final["output"]] == ["message"]


def test_finish_and_fail_are_final() -> None:
    r = render()
    r.feed(TextDelta("x"))
    r.feed(Finish("STOP"))
    assert r.finish()[-1]["type"] == "response.completed"
    assert r.finish() == []
    assert r.fail(OpenAIError(500, "late")) == []
    assert r.feed(TextDelta("more")) == []
    assert r.response()["status"] == "completed"


def test_fail_closes_nothing() -> None:
    r = render()
    out = r.feed(ThoughtDelta("t"))
    out += r.feed(TextDelta("open"))
    out += r.fail(OpenAIError(504, "Deadline exceeded.", "server_error", "timeout"))
    validated(out)
    assert [e["type"] for e in out][-2:] == ["response.output_text.delta", "response.failed"]
    final = r.response()
    valid_response(final)
    assert [i["type"] for i in final["output"]] == ["reasoning"]  # the message never finished
    assert final["error"] == {"code": "server_error", "message": "Deadline exceeded."}
    assert r.failure is not None and r.failure.code == "timeout"


def test_fail_before_anything_is_still_a_whole_stream() -> None:
    out = render().fail(OpenAIError(429, "Slow down.", "requests", "rate_limit_exceeded"))
    validated(out)
    assert [e["sequence_number"] for e in out] == [0, 1, 2]
    assert out[-1]["response"]["error"]["code"] == "rate_limit_exceeded"


def test_non_streaming_finishes_itself() -> None:
    r = render()
    for event in (TextDelta("Hi"), Finish("STOP")):
        r.feed(event)
    final = r.response()
    assert final["status"] == "completed" and final["output"][0]["content"][0]["text"] == "Hi"
    assert r.finish() == []
    assert r.response() is final


# --- items and signatures ---


def test_item_order_follows_content() -> None:
    events: list[Event] = [
        ThoughtDelta("a"),
        TextDelta("b"),
        ThoughtDelta("c"),  # thought after text: a new reasoning item
        TIME,
        TextDelta("d"),  # text after a call: a new message item
        Finish("STOP"),
    ]
    out, final = run(events)
    types = [i["type"] for i in final["output"]]
    assert types == ["reasoning", "message", "reasoning", "function_call", "message"]
    assert len(set(added_ids(out))) == 5


def test_signature_on_open_reasoning_item() -> None:
    """Thoughts then a signed call: the thoughts' item carries it, no extra item."""
    final = finished([ThoughtDelta("plan"), WEATHER, Finish("STOP")], include_encrypted=True)
    assert [i["type"] for i in final["output"]] == ["reasoning", "function_call"]
    assert final["output"][0]["encrypted_content"] == "sig-a"


def test_text_signature_goes_to_a_later_unsigned_call() -> None:
    final = finished(
        [TextDelta("Let me check.", "sig-t"), TIME, Finish("STOP")], include_encrypted=True
    )
    assert [i["type"] for i in final["output"]] == ["message", "reasoning", "function_call"]
    assert final["output"][1] == {
        "id": final["output"][1]["id"],
        "type": "reasoning",
        "summary": [],
        "encrypted_content": "sig-t",
    }


def test_encrypted_content_only_when_asked() -> None:
    r = render(include_encrypted=False)
    out = [
        e for event in (ThoughtDelta("t", "sig-1"), WEATHER, Finish("STOP")) for e in r.feed(event)
    ]
    out += r.finish()
    assert all("encrypted_content" not in e.get("item", {}) for e in out)
    plain = r.response()
    assert [i.get("encrypted_content") for i in plain["output"]] == [None, None]
    # The stored copy keeps the signature; the items are the same ones.
    kept = r.response(include_encrypted=True)
    valid_response(kept)
    assert [i.get("encrypted_content") for i in kept["output"]] == ["sig-a", None]
    assert [i["id"] for i in kept["output"]] == [i["id"] for i in plain["output"]]
    assert r.response(include_encrypted=False) is plain


def test_grounding_without_open_message_is_dropped() -> None:
    out, final = run([TextDelta("Sunny. Warm."), TIME, GROUNDING, Finish("STOP")])
    assert not any(e["type"] == "response.output_text.annotation.added" for e in out)
    assert final["output"][0]["content"][0]["annotations"] == []


def test_grounding_offsets_rebased_onto_the_open_message() -> None:
    grounding = Grounding(
        (),
        (Source("https://a.example/", "A"),),
        (Support(0, 3, "abc", (0,)), Support(5, 8, "xyz", (0,))),
    )
    final = finished([TextDelta("abc"), TIME, TextDelta("xyz"), grounding, Finish("STOP")])
    assert final["output"][0]["content"][0]["annotations"] == []
    [annotation] = final["output"][2]["content"][0]["annotations"]
    assert (annotation["start_index"], annotation["end_index"]) == (2, 5)


def test_arguments_json_like_chat() -> None:
    big = ToolCall("call_x", "f", {"n": 2**70, "s": "é"})
    final = finished([big, Finish("STOP")])
    assert final["output"][0]["arguments"] == '{"n":1180591620717411303424,"s":"é"}'


# --- the Response object ---


def test_echo_cannot_override_own_fields_and_defaults_fill_required() -> None:
    echo = {"id": "resp_evil", "status": "queued", "output": ["x"], "model": "gpt", "store": False}
    r = render(echo=echo)
    r.feed(Finish("STOP"))
    final = r.response()
    valid_response(final)
    assert (final["id"], final["status"], final["output"], final["model"]) == (
        ID,
        "completed",
        [],
        MODEL,
    )
    assert (final["tools"], final["tool_choice"], final["parallel_tool_calls"]) == (
        [],
        "auto",
        True,
    )
    assert final["store"] is False


def test_sse_framing() -> None:
    event = {"type": "response.output_text.delta", "delta": "é"}
    assert (
        sse_event(event)
        == 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"é"}\n\n'.encode()
    )


# --- the official SDK over our bytes ---


def sdk_client(body: bytes, content_type: str = "text/event-stream") -> openai.OpenAI:
    """A strict SDK client whose every request is answered with `body`."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": content_type}, content=body)

    return openai.OpenAI(
        api_key="x",
        base_url="http://proxy.test/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
        _strict_response_validation=True,
        max_retries=0,
    )


RICH: list[Event] = [
    ThoughtDelta("Look it up. "),
    ThoughtDelta("Then answer."),
    TextDelta("Sunny. "),
    TextDelta("Warm."),
    GROUNDING,
    WEATHER,
    TIME,
    Finish("STOP"),
    Usage(10, 2, 5, 4, 1, 20),
]


def dumped(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Items as sent on the wire, without the SDK's local `parsed*` additions."""
    out = []
    for item in items:
        data = item.model_dump(mode="json", exclude_unset=True)
        data.pop("parsed_arguments", None)
        for part in data.get("content") or []:
            part.pop("parsed", None)
        out.append(data)
    return out


def test_sdk_stream_helper_rebuilds_the_response() -> None:
    out, final = run(RICH, include_encrypted=True)
    body = b"".join(map(sse_event, out)) + SSE_DONE
    with sdk_client(body).responses.stream(model=MODEL, input="x") as stream:
        got = stream.get_final_response()
    ours = valid_response(final)
    assert got.id == ID and got.status == "completed"
    assert got.output_text == ours.output_text == "Sunny. Warm."
    assert dumped(got.output) == dumped(ours.output) == final["output"]
    assert got.usage == ours.usage
    assert got.usage is not None and got.usage.total_tokens == 20


def test_sdk_stream_reports_failure() -> None:
    r = render()
    out = r.feed(TextDelta("partial"))
    r.feed(UpstreamError(503, "UNAVAILABLE", "The model is overloaded."))
    out += r.finish()
    body = b"".join(map(sse_event, out)) + SSE_DONE
    with sdk_client(body).responses.stream(model=MODEL, input="x") as stream:
        events = list(stream)
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            stream.get_final_response()
    last = events[-1]
    assert last.type == "response.failed"
    assert last.response.status == "failed"
    assert last.response.error is not None and last.response.error.code == "server_error"


def test_sdk_non_streaming_create() -> None:
    r = render(include_encrypted=True)
    for event in RICH:
        r.feed(event)
    body = orjson.dumps(r.response())
    got = sdk_client(body, "application/json").responses.create(model=MODEL, input="x")
    assert got.output_text == "Sunny. Warm."
    assert dumped(got.output) == r.response()["output"]


# --- property: stream invariants over generated exchanges ---

_text = st.text(max_size=6)
_signature = st.none() | st.sampled_from(["sig-1", "sig-2"])
_content_event = st.one_of(
    st.builds(TextDelta, _text, _signature),
    st.builds(ThoughtDelta, _text, _signature),
    st.builds(
        lambda name, args, sig: ToolCall("", name, args, sig),
        st.sampled_from(["f", "g_2", "ñame"]),
        st.dictionaries(_text, st.none() | st.booleans() | st.integers() | _text, max_size=3),
        _signature,
    ),
)
_grounding = st.builds(
    Grounding,
    st.just(()),
    st.lists(st.builds(Source, _text, _text), max_size=3).map(tuple),
    st.lists(
        st.builds(
            Support,
            st.integers(0, 30),
            st.integers(0, 30),
            _text,
            st.lists(st.integers(0, 3), max_size=2).map(tuple),
        ),
        max_size=3,
    ).map(tuple),
)
_finish = st.builds(
    Finish,
    st.sampled_from(
        ["STOP", "MAX_TOKENS", "SAFETY", "PROMPT_BLOCKED", "MALFORMED_FUNCTION_CALL", "NEW"]
    ),
    st.none() | _text,
)
_usage = st.builds(Usage, *(st.integers(0, 10**6) for _ in range(6)))
_error = st.builds(
    UpstreamError,
    st.sampled_from([400, 429, 500, 503]),
    st.sampled_from(["INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE"]),
    _text,
)


@st.composite
def exchanges(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for n, event in enumerate(draw(st.lists(_content_event, max_size=10))):
        # Tool-call ids are minted unique per exchange by the decoder.
        events.append(replace(event, id=f"call_{n}") if isinstance(event, ToolCall) else event)
    if grounding := draw(st.none() | _grounding):
        events.append(grounding)
    if draw(st.integers(0, 5)):  # mostly finished
        events.append(draw(_finish))
    events += draw(st.lists(st.builds(TextDelta, st.just(""), _signature), max_size=1))
    if usage := draw(st.none() | _usage):
        events.append(usage)
    if draw(st.integers(0, 3)) == 0:  # sometimes failed, anywhere
        events.insert(draw(st.integers(0, len(events))), draw(_error))
    return events


def check_stream(out: Sequence[dict[str, Any]], final: dict[str, Any]) -> None:
    """What clients check (B.4, F.3 item 28) and what the SDK's accumulator relies on."""
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    types = [e["type"] for e in out]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] in TERMINAL and sum(t in TERMINAL for t in types) == 1
    assert out[-1]["response"] == final

    added = [e for e in out if e["type"] == "response.output_item.added"]
    done = [e for e in out if e["type"] == "response.output_item.done"]
    assert [e["output_index"] for e in added] == list(range(len(added)))
    assert [e["output_index"] for e in done] == list(range(len(done)))  # one done each, in order
    assert len(done) == len(added)
    ids = [e["item"]["id"] for e in added]
    assert len(set(ids)) == len(ids)
    assert final["output"] == [e["item"] for e in done]

    for index, (a, d) in enumerate(zip(added, done, strict=True)):
        kind, item_id, item = a["item"]["type"], ids[index], d["item"]
        assert ID_FORMAT[kind].fullmatch(item_id)
        assert item["id"] == item_id and item["type"] == kind
        own = out[out.index(a) + 1 : out.index(d)]
        assert all(e.get("output_index") == index for e in own)  # never interleaved
        assert all(e["item_id"] == item_id for e in own)
        if kind == "message":
            assert all(e["content_index"] == 0 for e in own)
            text = "".join(e["delta"] for e in own if e["type"] == "response.output_text.delta")
            [text_done] = [e for e in own if e["type"] == "response.output_text.done"]
            assert text == text_done["text"] == item["content"][0]["text"] != ""
            annotations = [e for e in own if e["type"] == "response.output_text.annotation.added"]
            assert [e["annotation_index"] for e in annotations] == list(range(len(annotations)))
            assert [e["annotation"] for e in annotations] == item["content"][0]["annotations"]
        elif kind == "reasoning":
            assert all(e["summary_index"] == 0 for e in own)
            text = "".join(e["delta"] for e in own if e["type"].endswith("summary_text.delta"))
            assert [s["text"] for s in item["summary"]] == ([text] if text else [])
        else:
            [delta] = [e for e in own if e["type"].endswith("arguments.delta")]
            [args_done] = [e for e in own if e["type"].endswith("arguments.done")]
            assert delta["delta"] == args_done["arguments"] == item["arguments"]
            assert args_done["name"] == item["name"]


@settings(max_examples=300, deadline=None)
@given(events=exchanges(), include_encrypted=st.booleans())
def test_stream_invariants(events: list[Event], include_encrypted: bool) -> None:
    r = render(include_encrypted=include_encrypted)
    out: list[dict[str, Any]] = []
    for event in events:
        try:
            out += r.feed(event)
        except OpenAIError:
            assert isinstance(event, UpstreamError) and out == []  # raised only before anything
    out += r.finish()
    validated(out)
    final = r.response()
    ours = valid_response(final)
    check_stream(out, final)

    deltas = "".join(e["delta"] for e in out if e["type"] == "response.output_text.delta")
    assert deltas == ours.output_text
    assert (final["status"] == "failed") == (r.failure is not None)
    if not include_encrypted:
        assert all("encrypted_content" not in item for item in final["output"])
    usage = final["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]

    # The SDK's own accumulator agrees with the object we send.
    state: ResponseStreamState[None] = ResponseStreamState(input_tools=omit, text_format=omit)
    for parsed in validated(out):
        handled = state.handle_event(parsed)
    if final["status"] == "completed":
        completed = handled[-1]
        assert completed.type == "response.completed"
        assert dumped(completed.response.output) == final["output"]
