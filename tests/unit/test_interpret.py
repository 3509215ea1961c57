"""ChunkInterpreter: parts, signatures, tool calls, grounding offsets, usage, finish, errors."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.events import assert_well_formed
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
from zerogravity_proxy.gemini.interpret import ChunkInterpreter, new_call_id

JSON = dict[str, Any]


def ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"call_{next(counter)}"


def run(*chunks: JSON) -> list[Event]:
    interpreter = ChunkInterpreter(ids())
    events: list[Event] = []
    for chunk in chunks:
        events += interpreter.feed(chunk)
    return events + interpreter.close()


def chunk(*parts: JSON, finish: str | None = None, **candidate: Any) -> JSON:
    cand: JSON = {"content": {"role": "model", "parts": list(parts)}, **candidate}
    if finish:
        cand["finishReason"] = finish
    return {"candidates": [cand], "modelVersion": "gemini-2.5-flash", "responseId": "r1"}


# antigravity.md 1.5, the reconstructed Cloud Code sample.
CLOUDCODE_CHUNKS: list[JSON] = [
    {
        "response": {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"text": "Looking at the file first.", "thought": True}],
                    }
                }
            ],
            "modelVersion": "gemini-3-flash",
            "responseId": "eBNcat8X5evPsg_lhqyQAg",
        },
        "traceId": "55650653afd3c738",
    },
    {
        "response": {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {
                                "thoughtSignature": "EqADCp0DAXLI2nx...",
                                "functionCall": {
                                    "name": "view_file",
                                    "args": {"AbsolutePath": "/a"},
                                },
                            }
                        ],
                    },
                    "finishReason": "STOP",
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 11291,
                "candidatesTokenCount": 64,
                "thoughtsTokenCount": 16,
                "totalTokenCount": 11371,
            },
            "modelVersion": "gemini-3-flash",
            "responseId": "eBNcat8X5evPsg_lhqyQAg",
        },
        "traceId": "55650653afd3c738",
    },
]


def test_cloudcode_sample() -> None:
    assert run(*CLOUDCODE_CHUNKS) == [
        ThoughtDelta("Looking at the file first."),
        ToolCall("call_1", "view_file", {"AbsolutePath": "/a"}, "EqADCp0DAXLI2nx..."),
        Finish("STOP"),
        Usage(prompt=11291, candidates=64, thoughts=16, total=11371),
    ]


def test_thoughts_text_and_a_signature_only_final_part() -> None:
    events = run(
        chunk({"text": "**Planning** the answer", "thought": True}),
        chunk({"text": "Hello"}, usageMetadata={"promptTokenCount": 5}),
        chunk({"text": ", world."}),
        {
            **chunk({"text": "", "thoughtSignature": "c2lnLWZpbmFs"}, finish="STOP"),
            "usageMetadata": {
                "promptTokenCount": 5,
                "cachedContentTokenCount": 2,
                "candidatesTokenCount": 3,
                "thoughtsTokenCount": 40,
                "toolUsePromptTokenCount": 1,
                "totalTokenCount": 49,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 5}],
            },
        },
    )
    assert events == [
        ThoughtDelta("**Planning** the answer"),
        TextDelta("Hello"),
        TextDelta(", world."),
        TextDelta("", "c2lnLWZpbmFs"),
        Finish("STOP"),
        Usage(prompt=5, cached=2, candidates=3, thoughts=40, tool_use_prompt=1, total=49),
    ]


def test_signature_only_thought_part_stays_a_thought() -> None:
    assert run(chunk({"thought": True, "thoughtSignature": "dGg="}, finish="STOP")) == [
        ThoughtDelta("", "dGg="),
        Finish("STOP"),
    ]


def test_signature_on_a_text_part_is_kept_with_it() -> None:
    assert run(chunk({"text": "Done.", "thoughtSignature": "c2ln"}, finish="STOP")) == [
        TextDelta("Done.", "c2ln"),
        Finish("STOP"),
    ]


def test_parallel_function_calls_signature_only_on_the_first() -> None:
    events = run(
        chunk(
            {
                "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                "thoughtSignature": "Q2lzQkFYTEk=",
            },
            {"functionCall": {"name": "get_weather", "args": {"city": "Zürich"}}},
            {"functionCall": {"id": "fc-gemini-7", "name": "get_time"}},
            finish="STOP",
        )
    )
    assert events == [
        ToolCall("call_1", "get_weather", {"city": "Paris"}, "Q2lzQkFYTEk="),
        ToolCall("call_2", "get_weather", {"city": "Zürich"}),
        ToolCall("fc-gemini-7", "get_time", {}),
        Finish("STOP"),
    ]


def test_default_call_ids_are_openai_style_and_unique() -> None:
    first, second = new_call_id(), new_call_id()
    assert re.fullmatch(r"call_[0-9a-f]{24}", first)
    assert first != second


def test_grounding_offsets_are_characters_of_the_answer_text() -> None:
    # Byte offsets: "Der Kölner Dom ist 157 m hoch." is bytes 0..31 (chars 0..30);
    # "Fertigstellung 1880 🎉" is bytes 52..76 (chars 51..72). Thought text does not count.
    events = run(
        chunk({"text": "Höhe prüfen…", "thought": True}),
        chunk({"text": "Der Kölner Dom ist 157 m hoch. "}),
        chunk(
            {"text": "Baubeginn war 1248, Fertigstellung 1880 🎉."},
            finish="STOP",
            groundingMetadata={
                "webSearchQueries": ["Kölner Dom Höhe", "Kölner Dom Bauzeit"],
                "searchEntryPoint": {"renderedContent": "<div></div>"},
                "groundingChunks": [
                    {"web": {"uri": "https://vertexaisearch.example/a", "title": "wikipedia.org"}},
                    {"retrievedContext": {"uri": "gs://bucket/doc"}},
                    {"web": {"uri": "https://vertexaisearch.example/b", "title": "koelner-dom.de"}},
                ],
                "groundingSupports": [
                    {
                        "segment": {"endIndex": 31, "text": "Der Kölner Dom ist 157 m hoch."},
                        "groundingChunkIndices": [0, 2],
                        "confidenceScores": [0.9, 0.8],
                    },
                    {
                        "segment": {
                            "startIndex": 52,
                            "endIndex": 76,
                            "text": "Fertigstellung 1880 🎉",
                        },
                        "groundingChunkIndices": [2],
                    },
                ],
            },
        ),
    )
    assert events == [
        ThoughtDelta("Höhe prüfen…"),
        TextDelta("Der Kölner Dom ist 157 m hoch. "),
        TextDelta("Baubeginn war 1248, Fertigstellung 1880 🎉."),
        Grounding(
            queries=("Kölner Dom Höhe", "Kölner Dom Bauzeit"),
            sources=(
                Source("https://vertexaisearch.example/a", "wikipedia.org"),
                Source("", ""),
                Source("https://vertexaisearch.example/b", "koelner-dom.de"),
            ),
            supports=(
                Support(0, 30, "Der Kölner Dom ist 157 m hoch.", (0, 2)),
                Support(51, 72, "Fertigstellung 1880 🎉", (2,)),
            ),
        ),
        Finish("STOP"),
    ]


def test_offset_inside_a_character_rounds_down() -> None:
    events = run(
        chunk(
            {"text": "€5"},
            finish="STOP",
            groundingMetadata={
                "groundingSupports": [{"segment": {"startIndex": 2, "endIndex": 4}}]
            },
        )
    )
    assert events[1] == Grounding((), (), (Support(0, 2, "", ()),))


def test_empty_grounding_metadata_is_not_an_event() -> None:
    assert run(chunk({"text": "a"}, finish="STOP", groundingMetadata={})) == [
        TextDelta("a"),
        Finish("STOP"),
    ]


def test_usage_is_the_last_one_and_reported_once() -> None:
    events = run(
        {**chunk({"text": "a"}), "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}},
        {**chunk({"text": "b"}), "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 10}},
        {
            **chunk(finish="STOP"),
            "usageMetadata": {
                "promptTokenCount": 9,
                "candidatesTokenCount": 2,
                "totalTokenCount": 11,
            },
        },
    )
    assert events == [
        TextDelta("a"),
        TextDelta("b"),
        Finish("STOP"),
        Usage(prompt=9, candidates=2, total=11),
    ]


def test_finish_is_emitted_once_and_later_parts_still_flow() -> None:
    events = run(
        chunk({"text": "a"}, finish="STOP"),
        chunk({"text": "", "thoughtSignature": "bGF0ZQ=="}, finish="STOP"),
    )
    assert events == [TextDelta("a"), Finish("STOP"), TextDelta("", "bGF0ZQ==")]


def test_finish_message_is_kept() -> None:
    message = "Malformed function call: print(default_api.view_file(AbsolutePath='/a'"
    events = run(chunk(finish="MALFORMED_FUNCTION_CALL", finishMessage=message))
    assert events == [Finish("MALFORMED_FUNCTION_CALL", message)]


def test_unspecified_finish_reason_is_still_an_end() -> None:
    assert run(chunk(finish="FINISH_REASON_UNSPECIFIED")) == [Finish("FINISH_REASON_UNSPECIFIED")]


def test_safety_stop_with_a_contentless_candidate() -> None:
    contentless = {"candidates": [{"finishReason": "SAFETY", "index": 0}]}
    assert run(chunk({"text": "Sure"}), contentless) == [TextDelta("Sure"), Finish("SAFETY")]


def test_blocked_prompt() -> None:
    blocked = {
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
    }
    assert run(blocked) == [
        Finish("PROMPT_BLOCKED", "prompt blocked: SAFETY"),
        Usage(prompt=7, total=7),
    ]


def test_blocked_prompt_with_a_message() -> None:
    blocked = {
        "response": {
            "promptFeedback": {
                "blockReason": "PROHIBITED_CONTENT",
                "blockReasonMessage": "The prompt was blocked.",
            }
        }
    }
    assert run(blocked) == [
        Finish("PROMPT_BLOCKED", "prompt blocked: PROHIBITED_CONTENT (The prompt was blocked.)")
    ]


def test_mid_stream_error_ends_the_stream() -> None:
    error = {
        "error": {
            "code": 503,
            "message": "The model is overloaded. Please try again later.",
            "status": "UNAVAILABLE",
        }
    }
    events = run(
        {**chunk({"text": "par"}), "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 5}},
        error,
        chunk({"text": "tial"}, finish="STOP"),
    )
    assert events == [
        TextDelta("par"),
        UpstreamError(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
        Usage(prompt=4, total=5),
    ]


def test_error_inside_the_cloudcode_envelope() -> None:
    error = {"response": {"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED"}}}
    assert run(error) == [UpstreamError(429, "RESOURCE_EXHAUSTED", "m", None, "rate_limit")]


def test_truncated_stream() -> None:
    assert run(chunk({"text": "Once upon"})) == [
        TextDelta("Once upon"),
        UpstreamError(502, "STREAM_TRUNCATED", "upstream stream ended without a finish reason"),
    ]


def test_empty_stream() -> None:
    assert run() == [UpstreamError(502, "STREAM_TRUNCATED", "upstream stream was empty")]


def test_finished_property() -> None:
    interpreter = ChunkInterpreter(ids())
    interpreter.feed(chunk({"text": "a"}))
    before = interpreter.finished
    interpreter.feed(chunk(finish="STOP"))
    assert (before, interpreter.finished, interpreter.failed) == (False, True, False)


def test_media_and_code_parts_are_skipped_with_their_signatures() -> None:
    events = run(
        chunk(
            {"inlineData": {"mimeType": "image/png", "data": "iVBO"}, "thoughtSignature": "aW1n"},
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
            {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}},
            {"text": "Here it is."},
            finish="STOP",
        )
    )
    assert events == [TextDelta("Here it is."), Finish("STOP")]


def test_empty_parts_are_skipped() -> None:
    assert run(chunk({"text": ""}, {}, finish="STOP")) == [Finish("STOP")]


_keys = st.sampled_from(
    [
        "response",
        "error",
        "candidates",
        "content",
        "parts",
        "text",
        "thought",
        "thoughtSignature",
        "functionCall",
        "name",
        "args",
        "id",
        "finishReason",
        "finishMessage",
        "usageMetadata",
        "promptTokenCount",
        "promptFeedback",
        "blockReason",
        "groundingMetadata",
        "groundingChunks",
        "web",
        "uri",
        "groundingSupports",
        "segment",
        "startIndex",
        "endIndex",
        "groundingChunkIndices",
        "webSearchQueries",
    ]
)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=25,
)


@given(st.lists(st.dictionaries(_keys, _json, max_size=4), max_size=5))
def test_arbitrary_chunks_never_raise(chunks: list[JSON]) -> None:
    events = run(*chunks)
    assert_well_formed(events)
