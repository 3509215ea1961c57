"""ChatRender against the official SDK's models and stream accumulator (protocols.md F.1, F.3)."""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Sequence
from typing import Any

import httpx2
import openai
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.chat.parsed_chat_completion import ParsedChatCompletion

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
from zerogravity_proxy.openai.chat_render import (
    SSE_DONE,
    ChatRender,
    combined_completion,
    sse_chunk,
    total_usage,
)
from zerogravity_proxy.openai.errors import OpenAIError

ID = "chatcmpl-test"
CREATED = 1_767_225_600
MODEL = "gemini-2.5-flash"


def render(include_usage: bool = False) -> ChatRender:
    return ChatRender(completion_id=ID, created=CREATED, model=MODEL, include_usage=include_usage)


def stream(events: Iterable[Event], include_usage: bool = False) -> list[dict[str, Any]]:
    r = render(include_usage)
    chunks = [chunk for event in events for chunk in r.feed(event)]
    return chunks + r.finish()


def complete(events: Iterable[Event]) -> dict[str, Any]:
    """The non-streaming path: every event fed, nothing sent, then the whole body."""
    r = render()
    for event in events:
        r.feed(event)
    return r.completion()


def validated(chunks: Sequence[dict[str, Any]]) -> list[ChatCompletionChunk]:
    """Each chunk as it goes on the wire, parsed strictly by the SDK model."""
    out = []
    for chunk in chunks:
        wire = sse_chunk(chunk)
        assert wire.startswith(b"data: ")
        assert wire.endswith(b"\n\n")
        out.append(ChatCompletionChunk.model_validate_json(wire[6:-2], strict=True))
    return out


def accumulate(chunks: Sequence[dict[str, Any]]) -> ChatCompletionStreamState[None]:
    """The SDK's own accumulator over the chunks (what `chat.completions.stream` uses)."""
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for chunk in validated(chunks):
        state.handle_chunk(chunk)
    return state


def final(chunks: Sequence[dict[str, Any]]) -> ParsedChatCompletion[None]:
    return accumulate(chunks).get_final_completion()


def deltas(chunks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def finish_reasons(chunks: Sequence[dict[str, Any]]) -> list[str | None]:
    return [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]


WEATHER = ToolCall("call_a", "get_weather", {"city": "Zürich", "units": ["c"]})
TIME = ToolCall("call_b", "get_time", {"tz": "Europe/Zurich"})


def test_text_stream_exact_chunks() -> None:
    chunks = stream(
        [TextDelta("Hel"), TextDelta("lo"), Finish("STOP"), Usage(3, 0, 2, 0, 0, 5)],
        include_usage=True,
    )
    head = {
        "id": ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "system_fingerprint": None,
    }

    def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choices = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        return {**head, "choices": choices}

    usage = {
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "total_tokens": 5,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    assert chunks == [
        choice({"role": "assistant", "content": ""}),
        choice({"content": "Hel"}),
        choice({"content": "lo"}),
        choice({}, "stop"),
        {**head, "choices": [], "usage": usage},
    ]
    validated(chunks)


def test_every_chunk_shares_id_created_model() -> None:
    chunks = stream(
        [ThoughtDelta("hmm"), TextDelta("a"), WEATHER, Finish("STOP"), Usage(1, 0, 1, 0, 0, 2)],
        include_usage=True,
    )
    assert {(c["id"], c["created"], c["model"], c["object"]) for c in chunks} == {
        (ID, CREATED, MODEL, "chat.completion.chunk")
    }
    assert deltas(chunks)[0] == {"role": "assistant", "content": None}  # a thought came first
    assert all("role" not in d for d in deltas(chunks)[1:])


def test_signature_only_parts_produce_no_chunk() -> None:
    r = render()
    assert r.feed(TextDelta("", signature="sig")) == []
    assert r.feed(ThoughtDelta("", signature="sig")) == []
    first = r.feed(TextDelta("x"))
    assert [c["choices"][0]["delta"] for c in first] == [
        {"role": "assistant", "content": ""},
        {"content": "x"},
    ]


def test_thoughts_stream_as_reasoning_content() -> None:
    events: list[Event] = [
        ThoughtDelta("Let me "),
        ThoughtDelta("think."),
        TextDelta("42"),
        Finish("STOP"),
    ]
    chunks = stream(events)
    assert deltas(chunks)[1:3] == [
        {"reasoning_content": "Let me "},
        {"reasoning_content": "think."},
    ]
    streamed = final(chunks).choices[0].message
    assert streamed.content == "42"
    assert streamed.model_extra == {"reasoning_content": "Let me think."}
    message = complete(events)["choices"][0]["message"]
    assert message["content"] == "42"
    assert message["reasoning_content"] == "Let me think."


def test_parallel_tool_calls_rebuild_exactly() -> None:
    events: list[Event] = [TextDelta("Checking."), WEATHER, TIME, Finish("STOP")]
    chunks = stream(events)
    calls = [d["tool_calls"] for d in deltas(chunks) if "tool_calls" in d]
    weather_args = json.dumps(WEATHER.args, ensure_ascii=False, separators=(",", ":"))
    assert calls == [
        [
            {
                "index": 0,
                "id": "call_a",
                "type": "function",
                "function": {"name": "get_weather", "arguments": weather_args},
            }
        ],
        [
            {
                "index": 1,
                "id": "call_b",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz":"Europe/Zurich"}'},
            }
        ],
    ]
    assert weather_args == '{"city":"Zürich","units":["c"]}'
    assert finish_reasons(chunks)[-1] == "tool_calls"

    choice = final(chunks).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking."
    assert [
        (c.id, c.type, c.function.name, c.function.arguments)
        for c in choice.message.tool_calls or []
        if c.type == "function"
    ] == [
        ("call_a", "function", "get_weather", weather_args),
        ("call_b", "function", "get_time", '{"tz":"Europe/Zurich"}'),
    ]


def test_tool_call_only_answer_has_null_content() -> None:
    events: list[Event] = [WEATHER, Finish("STOP")]
    chunks = stream(events)
    assert deltas(chunks)[0] == {"role": "assistant", "content": None}
    assert final(chunks).choices[0].message.content is None
    body = ChatCompletion.model_validate(complete(events), strict=True)
    assert body.choices[0].message.content is None
    assert body.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("events", "content"),
    [
        ([ThoughtDelta("hmm"), WEATHER, Finish("STOP")], None),
        ([ThoughtDelta("hmm"), Finish("STOP")], ""),
        ([ThoughtDelta("hmm"), TextDelta("a"), Finish("STOP")], "a"),
    ],
)
def test_thought_first_streams_the_content_the_completion_has(
    events: list[Event], content: str | None
) -> None:
    chunks = stream(events)
    assert deltas(chunks)[0] == {"role": "assistant", "content": None}
    assert deltas(chunks)[-1] == ({"content": ""} if content == "" else {})
    assert accumulate(chunks).current_completion_snapshot.choices[0].message.content == content
    assert complete(events)["choices"][0]["message"]["content"] == content


def two_choices(include_usage: bool) -> tuple[list[ChatRender], list[Event], list[Event]]:
    renders = [
        ChatRender(
            completion_id=ID, created=CREATED, model=MODEL, include_usage=include_usage, index=i
        )
        for i in range(2)
    ]
    first: list[Event] = [TextDelta("A"), TextDelta("a"), Finish("STOP"), Usage(3, 1, 2, 1, 0, 6)]
    second: list[Event] = [WEATHER, Finish("STOP"), Usage(3, 1, 4, 0, 1, 9)]
    return renders, first, second


def test_index_and_combined_choices() -> None:
    renders, first, second = two_choices(False)
    chunks: list[dict[str, Any]] = []
    for k, event in enumerate(first):  # interleaved, as they arrive
        chunks += renders[0].feed(event) + (renders[1].feed(second[k]) if k < len(second) else [])
    chunks += renders[1].finish() + renders[0].finish()
    chunks.append(renders[0].usage_chunk(total_usage(r.usage for r in renders)))
    assert [c["choices"][0]["index"] for c in chunks if c["choices"]] == [0, 0, 1, 1, 0, 1, 0]
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]] == [
        None, None, None, None, None, "tool_calls", "stop"
    ]  # fmt: skip
    usage = {
        "prompt_tokens": 7,
        "completion_tokens": 7,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 2},
        "completion_tokens_details": {"reasoning_tokens": 1},
    }
    snapshot = accumulate(chunks).current_completion_snapshot
    assert [(c.index, c.finish_reason, c.message.content) for c in snapshot.choices] == [
        (0, "stop", "Aa"),
        (1, "tool_calls", None),
    ]
    assert snapshot.usage is not None
    assert snapshot.usage.model_dump(exclude_none=True) == usage

    body = combined_completion(renders)
    assert [(c["index"], c["finish_reason"]) for c in body["choices"]] == [
        (0, "stop"),
        (1, "tool_calls"),
    ]
    assert body["usage"] == usage
    assert [c["message"]["content"] for c in body["choices"]] == ["Aa", None]
    ChatCompletion.model_validate(body, strict=True)


def test_total_usage_sums_every_field() -> None:
    assert total_usage([Usage(1, 2, 3, 4, 5, 15), Usage(10, 20, 30, 40, 50, 150)]) == Usage(
        11, 22, 33, 44, 55, 165
    )
    assert total_usage([]) == Usage()


def test_combined_completion_raises_a_failed_choice() -> None:
    renders, first, _ = two_choices(False)
    for event in first:
        renders[0].feed(event)
    renders[1].feed(TextDelta("cut"))  # never finished
    with pytest.raises(OpenAIError) as err:
        combined_completion(renders)
    assert err.value.code == "upstream_incomplete"


def test_tool_call_args_mapping_proxy() -> None:
    args = types.MappingProxyType({"nested": types.MappingProxyType({"k": 1})})
    chunks = render().feed(ToolCall("call_x", "f", args))
    assert chunks[-1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] == (
        '{"nested":{"k":1}}'
    )


def test_tool_call_args_orjson_cannot_encode() -> None:
    args = {"id": 2**70, "deep": [[[[]]]]}
    chunks = render().feed(ToolCall("call_x", "f", args))
    arguments = chunks[-1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
    assert arguments == '{"id":1180591620717411303424,"deep":[[[[]]]]}'


def test_usage_numbers() -> None:
    usage = Usage(prompt=10, cached=4, candidates=7, thoughts=5, tool_use_prompt=2, total=24)
    events: list[Event] = [TextDelta("x"), Finish("STOP"), usage]
    chunks = stream(events, include_usage=True)
    expected = {
        "prompt_tokens": 12,
        "completion_tokens": 12,
        "total_tokens": 24,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 5},
    }
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == expected
    assert all("usage" not in c for c in chunks[:-1])
    assert finish_reasons(chunks)[-1] == "stop"
    assert complete(events)["usage"] == expected


def test_no_usage_chunk_without_include_usage() -> None:
    chunks = stream([TextDelta("x"), Finish("STOP"), Usage(1, 0, 1, 0, 0, 2)])
    assert all("usage" not in c and c["choices"] for c in chunks)
    assert all(c.usage is None for c in validated(chunks))


def test_missing_usage_is_zeros() -> None:
    zeros = {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    r = render(include_usage=True)
    r.feed(TextDelta("x"))
    r.feed(Finish("STOP"))
    assert r.finish()[-1]["usage"] == zeros
    assert r.completion()["usage"] == zeros


@pytest.mark.parametrize(
    ("gemini", "openai"),
    [
        ("STOP", "stop"),
        ("FINISH_REASON_UNSPECIFIED", "stop"),
        ("OTHER", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("LANGUAGE", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("IMAGE_PROHIBITED_CONTENT", "content_filter"),
        ("IMAGE_RECITATION", "content_filter"),
        ("PROMPT_BLOCKED", "content_filter"),
        ("SOMETHING_NEW", "stop"),
    ],
)
def test_finish_reason_mapping(gemini: str, openai: str) -> None:
    chunks = stream([TextDelta("x"), Finish(gemini)])
    assert finish_reasons(chunks) == [None, None, openai]
    assert chunks[-1]["choices"][0]["delta"] == {}
    validated(chunks)
    assert complete([TextDelta("x"), Finish(gemini)])["choices"][0]["finish_reason"] == openai


@pytest.mark.parametrize("gemini", ["STOP", "MAX_TOKENS", "SAFETY"])
def test_any_tool_call_means_tool_calls(gemini: str) -> None:
    assert finish_reasons(stream([WEATHER, Finish(gemini)]))[-1] == "tool_calls"


@pytest.mark.parametrize(
    ("gemini", "code"),
    [
        ("MALFORMED_FUNCTION_CALL", "malformed_function_call"),
        ("UNEXPECTED_TOOL_CALL", "unexpected_tool_call"),
        ("TOO_MANY_TOOL_CALLS", "too_many_tool_calls"),
    ],
)
def test_tool_failures_raise(gemini: str, code: str) -> None:
    r = render(include_usage=True)
    r.feed(WEATHER)  # even with a call already streamed, the turn is broken
    assert r.feed(Finish(gemini, "Malformed function call: print(x")) == []
    for close in (r.finish, r.completion):
        with pytest.raises(OpenAIError) as info:
            close()
        err = info.value
        assert (err.status, err.type, err.code) == (502, "api_error", code)
        assert gemini in err.message
        assert "Malformed function call: print(x" in err.message


def test_upstream_error_raises_mapped_error() -> None:
    r = render()
    r.feed(TextDelta("partial"))
    with pytest.raises(OpenAIError) as info:
        r.feed(UpstreamError(429, "RESOURCE_EXHAUSTED", "Slow down.", retry_delay=26.0))
    err = info.value
    assert (err.status, err.code, err.retry_after) == (429, "rate_limit_exceeded", 26.0)
    assert err.headers() == {"Retry-After": "26"}
    for close in (r.finish, r.completion):
        with pytest.raises(OpenAIError) as again:
            close()
        assert again.value is err


def test_unfinished_answer_never_succeeds() -> None:
    r = render(include_usage=True)
    r.feed(TextDelta("cut off"))
    r.feed(Usage(1, 0, 1, 0, 0, 2))
    for close in (r.finish, r.completion):
        with pytest.raises(OpenAIError) as info:
            close()
        assert (info.value.status, info.value.code) == (502, "upstream_incomplete")


def test_empty_successful_answer() -> None:
    r = render()
    r.feed(Finish("STOP"))
    chunks = r.finish()
    assert deltas(chunks) == [{"role": "assistant", "content": ""}, {}]
    assert finish_reasons(chunks) == [None, "stop"]
    assert final(chunks).choices[0].message.content == ""
    message = r.completion()["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "", "refusal": None, "annotations": []}


def test_finish_is_sent_once() -> None:
    r = render(include_usage=True)
    r.feed(TextDelta("x"))
    assert r.feed(Finish("STOP")) == []
    assert len(r.finish()) == 2
    assert r.finish() == []


GROUNDING = Grounding(
    queries=("weather zurich",),
    sources=(Source("https://a.example/", "A"), Source("https://b.example/", "B")),
    supports=(
        Support(0, 6, "Sunny.", (1, 0)),
        Support(7, 12, "Warm.", ()),  # no source: nothing to cite
        Support(7, 12, "Warm.", (0,)),
    ),
)
ANNOTATIONS = [
    {
        "type": "url_citation",
        "url_citation": {
            "start_index": 0,
            "end_index": 6,
            "title": "B",
            "url": "https://b.example/",
        },
    },
    {
        "type": "url_citation",
        "url_citation": {
            "start_index": 7,
            "end_index": 12,
            "title": "A",
            "url": "https://a.example/",
        },
    },
]


def test_grounding_annotations() -> None:
    events: list[Event] = [TextDelta("Sunny. Warm."), GROUNDING, Finish("STOP")]
    chunks = stream(events)
    assert chunks[-1]["choices"][0]["delta"] == {"annotations": ANNOTATIONS}
    streamed = final(chunks).choices[0].message.annotations or []
    assert [a.model_dump() for a in streamed] == ANNOTATIONS
    body = complete(events)
    assert body["choices"][0]["message"]["annotations"] == ANNOTATIONS
    ChatCompletion.model_validate(body, strict=True)


def test_completion_exact() -> None:
    body = complete([ThoughtDelta("t"), TextDelta("Hi"), WEATHER, Finish("STOP")])
    assert body == {
        "id": ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hi",
                    "refusal": None,
                    "annotations": [],
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {
                                "name": "get_weather",
                                "arguments": '{"city":"Zürich","units":["c"]}',
                            },
                        }
                    ],
                    "reasoning_content": "t",
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    ChatCompletion.model_validate_json(orjson.dumps(body), strict=True)


def test_sse_framing() -> None:
    assert sse_chunk({"a": "é"}) == 'data: {"a":"é"}\n\n'.encode()
    assert SSE_DONE == b"data: [DONE]\n\n"


def sdk_client(body: bytes) -> openai.OpenAI:
    """A strict SDK client whose every request is answered with `body` as an SSE stream."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return openai.OpenAI(
        api_key="x",
        base_url="http://proxy.test/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
        _strict_response_validation=True,
        max_retries=0,
    )


def test_sdk_client_reads_the_wire_stream() -> None:
    events: list[Event] = [
        ThoughtDelta("plan"),
        TextDelta("Checking."),
        WEATHER,
        TIME,
        Finish("STOP"),
        Usage(10, 0, 5, 2, 0, 17),
    ]
    body = b"".join(map(sse_chunk, stream(events, include_usage=True))) + SSE_DONE
    client = sdk_client(body)
    with client.chat.completions.stream(
        model=MODEL,
        messages=[{"role": "user", "content": "hi"}],
        stream_options={"include_usage": True},
    ) as s:
        completion = s.get_final_completion()
    message = completion.choices[0].message
    assert message.content == "Checking."
    assert message.model_extra == {"reasoning_content": "plan"}
    assert [c.function.name for c in message.tool_calls or [] if c.type == "function"] == [
        "get_weather",
        "get_time",
    ]
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 7)


def test_sdk_client_raises_mid_stream_error() -> None:
    r = render()
    wire = b"".join(map(sse_chunk, r.feed(TextDelta("partial"))))
    with pytest.raises(OpenAIError) as info:
        r.feed(UpstreamError(503, "UNAVAILABLE", "The model is overloaded."))
    wire += sse_chunk(info.value.body()) + SSE_DONE
    stream_ = sdk_client(wire).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    with pytest.raises(openai.APIError) as raised:
        for _ in stream_:
            pass
    assert raised.value.code == "overloaded"


# --- property: streaming accumulated by the SDK == the non-streaming completion ---

_text = st.text(max_size=8)
_content_event = st.one_of(
    st.builds(TextDelta, _text, st.none() | st.just("sig")),
    st.builds(ThoughtDelta, _text, st.none() | st.just("sig")),
    st.builds(
        lambda name, args: ToolCall("", name, args),
        st.sampled_from(["f", "g_2", "ñame"]),
        st.dictionaries(_text, st.none() | st.booleans() | st.integers() | _text, max_size=3),
    ),
)
_grounding = st.builds(
    Grounding,
    st.just(()),
    st.lists(st.builds(Source, _text, _text), max_size=3).map(tuple),
    st.lists(
        st.builds(
            Support,
            st.integers(0, 50),
            st.integers(0, 50),
            _text,
            st.lists(st.integers(0, 3), max_size=2).map(tuple),
        ),
        max_size=3,
    ).map(tuple),
)
_finish = st.builds(
    Finish,
    st.sampled_from(["STOP", "MAX_TOKENS", "SAFETY", "OTHER", "PROMPT_BLOCKED", "NEW_REASON"]),
    st.none() | _text,
)
_usage = st.builds(Usage, *(st.integers(0, 10**6) for _ in range(6)))


@st.composite
def exchanges(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for n, event in enumerate(draw(st.lists(_content_event, max_size=12))):
        # Tool-call ids are minted unique per exchange by the decoder.
        events.append(
            ToolCall(f"call_{n}", event.name, event.args) if isinstance(event, ToolCall) else event
        )
    if grounding := draw(st.none() | _grounding):
        events.append(grounding)
    events.append(draw(_finish))
    if usage := draw(st.none() | _usage):
        events.append(usage)
    return events


@settings(max_examples=300, deadline=None)
@given(events=exchanges(), include_usage=st.booleans())
def test_stream_equals_completion(events: list[Event], include_usage: bool) -> None:
    r = render(include_usage)
    chunks = [chunk for event in events for chunk in r.feed(event)] + r.finish()
    body = ChatCompletion.model_validate_json(orjson.dumps(r.completion()), strict=True)
    expected = body.choices[0]

    # Framing invariants (F.3 items 18-21).
    with_choices = [c for c in chunks if c["choices"]]
    assert with_choices[0]["choices"][0]["delta"]["role"] == "assistant"
    assert sum(c["choices"][0]["finish_reason"] is not None for c in with_choices) == 1
    assert with_choices[-1]["choices"][0]["finish_reason"] == expected.finish_reason
    usage_chunks = [c for c in chunks if "usage" in c]
    if include_usage:
        assert usage_chunks == [chunks[-1]]
        assert chunks[-1]["choices"] == []
    else:
        assert usage_chunks == []

    # The raw snapshot: get_final_completion() refuses "length" and "content_filter" answers.
    snapshot = accumulate(chunks).current_completion_snapshot
    got = snapshot.choices[0]
    assert got.finish_reason == expected.finish_reason
    # No exception: a thought or a tool call opens with null, and a thought-only answer gets
    # its "" on the finish chunk, so the content always agrees with the completion's.
    assert got.message.content == expected.message.content
    assert got.message.model_extra == expected.message.model_extra  # reasoning_content
    assert [
        (c.id, c.type, c.function.name, c.function.arguments)
        for c in got.message.tool_calls or []
        if c.type == "function"
    ] == [
        (c.id, c.type, c.function.name, c.function.arguments)
        for c in expected.message.tool_calls or []
        if c.type == "function"
    ]
    assert (got.message.annotations or []) == expected.message.annotations
    if include_usage:
        assert snapshot.usage == body.usage
    else:
        assert snapshot.usage is None
    usage = body.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
