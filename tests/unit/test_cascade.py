"""The Antigravity LS's side of an exchange: markers, cascade keys, envelope rewriting, answers."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerogravity_proxy.events import Finish, Usage
from zerogravity_proxy.gemini.cascade import (
    MARKER_RE,
    CascadeRewriteError,
    RequestId,
    apply_ls_spec,
    cascade_keys,
    find_marker,
    for_language_server,
    marker,
    parse_request_id,
    synthetic_stop,
)
from zerogravity_proxy.gemini.request import Endpoint
from zerogravity_proxy.gemini.response import GrpcResponseParser, ResponseParser
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.gemini.wire import stream_answer

JSON = dict[str, Any]

ID = "0123456789abcdef0123456789abcdef"
OTHER_ID = "fedcba9876543210fedcba9876543210"
CONVERSATION = "5b0b6c4e-1d2f-4a8b-9c3d-7e6f5a4b3c2d"
TRAJECTORY = "3c887e2f-cd5b-4d63-8182-1dfc4bf70a8f"
REQUEST_ID = f"agent/{CONVERSATION}/1771650000000/{TRAJECTORY}/2"
LS_SYSTEM = {
    "role": "user",
    "parts": [{"text": "<identity>\nYou are Antigravity, a powerful agentic AI coding assistant"}],
}
LS_LABELS = {
    "last_step_index": "1",
    "model_enum": "MODEL_PLACEHOLDER_M18",
    "trajectory_id": TRAJECTORY,
    "used_claude": "false",
    "used_claude_conservative": "false",
}


def wrapped(text: str) -> str:
    """A user turn as the LS stores it (antigravity.md 1.4)."""
    return (
        f"<USER_REQUEST>\n{text}\n</USER_REQUEST>\n"
        "<ADDITIONAL_METADATA>The current local time is: 2026-02-21T05:00:00Z.</ADDITIONAL_METADATA>"
    )


def user(text: str) -> JSON:
    return {"role": "user", "parts": [{"text": text}]}


def model_turn(text: str) -> JSON:
    return {"role": "model", "parts": [{"text": text}]}


def ls_body(*contents: JSON, model: str = "gemini-3-flash") -> JSON:
    """An LS-style Cloud Code envelope, as reconstructed in antigravity.md 1.4."""
    return {
        "project": "robotic-victory-pst7f0",
        "requestId": REQUEST_ID,
        "model": model,
        "userAgent": "antigravity",
        "requestType": "agent",
        "request": {
            "contents": list(contents) or [user(wrapped(marker(ID)))],
            "systemInstruction": copy.deepcopy(LS_SYSTEM),
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "view_file",
                            "description": "View a file.",
                            "parameters": {
                                "type": "object",
                                "properties": {"AbsolutePath": {"type": "string"}},
                                "required": ["AbsolutePath"],
                            },
                        }
                    ]
                }
            ],
            "toolConfig": {"functionCallingConfig": {"mode": "VALIDATED"}},
            "generationConfig": {
                "maxOutputTokens": 65536,
                "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "high"},
            },
            "sessionId": "-3750763034362895579",
            "labels": dict(LS_LABELS),
        },
    }


WEATHER = {
    "functionDeclarations": [
        {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
}
CLIENT_CONTENTS = [
    user("What is the weather in Paris?"),
    {
        "role": "model",
        "parts": [
            {
                "functionCall": {"name": "get_weather", "args": {"$ref": "#/x", "const": 1}},
                "thoughtSignature": "sig-1",
            }
        ],
    },
    {
        "role": "user",
        "parts": [{"functionResponse": {"name": "get_weather", "response": {"temp": 21}}}],
    },
]


def client_spec(
    *,
    system: JSON | None = None,
    tools: list[JSON] | None = None,
    tool_config: JSON | None = None,
    generation: JSON | None = None,
    labels: dict[str, str] | None = None,
) -> ExchangeSpec:
    return ExchangeSpec(
        model="client-model",
        upstream_model="gemini-3-flash",
        contents=copy.deepcopy(CLIENT_CONTENTS),
        system_instruction=system,
        tools=tools,
        tool_config=tool_config,
        generation_config=generation,
        labels=labels or {},
    )


def generation_after(model: str, generation: JSON | None, **spec: Any) -> JSON | None:
    body = apply_ls_spec(ls_body(model=model), client_spec(generation=generation, **spec))
    config: JSON | None = body["request"].get("generationConfig")
    return config


# --- markers --------------------------------------------------------------------------------


def test_marker_is_the_placeholder_prompt() -> None:
    assert marker(ID) == ".<cid:0123456789abcdef0123456789abcdef>"
    assert MARKER_RE.fullmatch(marker(ID)[1:])


@pytest.mark.parametrize("bad", ["", ID.upper(), ID[:-1], ID + "0", ID[:-1] + "g", f" {ID}"])
def test_marker_refuses_what_find_marker_could_not_read(bad: str) -> None:
    with pytest.raises(ValueError, match="exchange id"):
        marker(bad)


def test_marker_found_inside_the_ls_wrapping() -> None:
    assert find_marker(ls_body(user(wrapped(marker(ID))))) == ID


def test_last_user_turn_wins_in_a_reused_cascade() -> None:
    body = ls_body(
        user(wrapped(marker(OTHER_ID))),
        model_turn("Done."),
        user(wrapped(marker(ID))),
    )
    assert find_marker(body) == ID


def test_earlier_user_turns_are_searched_when_the_last_has_no_marker() -> None:
    tool_result = {
        "role": "user",
        "parts": [{"functionResponse": {"name": "view_file", "response": {"output": "x"}}}],
    }
    body = ls_body(user(wrapped(marker(ID))), model_turn("Looking."), tool_result)
    assert find_marker(body) == ID


def test_last_text_part_wins_within_a_turn() -> None:
    turn = {"role": "user", "parts": [{"text": marker(OTHER_ID)}, {"text": marker(ID)}]}
    assert find_marker(ls_body(turn)) == ID
    assert find_marker(ls_body(user(f"{marker(OTHER_ID)} then {marker(ID)}"))) == ID


def test_markers_outside_user_turns_do_not_count() -> None:
    body = ls_body(user(wrapped(".")), model_turn(f"I saw {marker(ID)}"))
    body["request"]["systemInstruction"]["parts"].append({"text": marker(OTHER_ID)})
    assert find_marker(body) is None
    no_role = {"parts": [{"text": marker(ID)}]}
    assert find_marker(ls_body(no_role)) is None


@pytest.mark.parametrize(
    "text",
    [
        f".<cid:{ID.upper()}>",
        f".<cid:{ID[:-1]}>",
        f".<cid:{ID}0>",
        f".<cid:{ID[:-1]}g>",
        f".<cid: {ID}>",
        f".<cid:{ID}",
        f".cid:{ID}>",
        f".<CID:{ID}>",
        ".",
    ],
)
def test_malformed_markers_are_not_found(text: str) -> None:
    assert find_marker(ls_body(user(wrapped(text)))) is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"request": []},
        {"request": {"contents": {"role": "user"}}},
        {"request": {"contents": ["x", None, {"role": "user", "parts": "x"}]}},
        {"request": {"contents": [{"role": "user", "parts": [None, {"text": 7}]}]}},
    ],
)
def test_find_marker_tolerates_odd_bodies(body: JSON) -> None:
    assert find_marker(body) is None


# --- request ids and cascade keys -----------------------------------------------------------


def test_parse_request_id() -> None:
    assert parse_request_id(REQUEST_ID) == RequestId(CONVERSATION, 1771650000000, TRAJECTORY, 2)


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "agent-5b0b6c4e-1d2f-4a8b-9c3d-7e6f5a4b3c2d",  # the old third-party form
        f"image_gen/1771650000000/{TRAJECTORY}/12",
        f"agents/{CONVERSATION}/1771650000000/{TRAJECTORY}/2",  # wrong prefix
        f"agent/{CONVERSATION}/1771650000000/{TRAJECTORY}/x",  # non-numeric step
        f"agent/{CONVERSATION}/1771650000000/{TRAJECTORY}/-1",
        f"agent/{CONVERSATION}/177165000000a/{TRAJECTORY}/2",  # non-numeric time
        f"agent/{CONVERSATION}/1771650000000/{TRAJECTORY}/٢",  # a non-ASCII digit
        f"agent/{CONVERSATION}/1771650000000/{TRAJECTORY}",  # a segment short
        f"agent/{CONVERSATION}/1771650000000/{TRAJECTORY}/2/3",  # one too many
        f"agent//1771650000000/{TRAJECTORY}/2",  # empty conversation
        f"agent/{CONVERSATION}/1771650000000//2",  # empty trajectory
        REQUEST_ID + "\n",
        "agent/c/1/t/" + "9" * 5000,  # beyond any real step, and beyond int()'s digit limit
    ],
)
def test_parse_request_id_refuses_other_forms(value: object) -> None:
    assert parse_request_id(value) is None


def test_cascade_keys_from_request_id_and_labels() -> None:
    assert cascade_keys(ls_body()) == (f"traj:{TRAJECTORY}", f"conv:{CONVERSATION}")


def test_cascade_keys_keep_both_trajectories_when_they_disagree() -> None:
    body = ls_body()
    body["request"]["labels"]["trajectory_id"] = "other-trajectory"
    assert cascade_keys(body) == (
        f"traj:{TRAJECTORY}",
        "traj:other-trajectory",
        f"conv:{CONVERSATION}",
    )


def test_cascade_keys_from_labels_alone() -> None:
    body = ls_body()
    body["requestId"] = "agent-5b0b6c4e"
    assert cascade_keys(body) == (f"traj:{TRAJECTORY}",)


def test_cascade_keys_from_request_id_alone() -> None:
    body = ls_body()
    del body["request"]["labels"]
    assert cascade_keys(body) == (f"traj:{TRAJECTORY}", f"conv:{CONVERSATION}")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"requestId": "agent-x", "request": {"labels": {"trajectory_id": ""}}},
        {"requestId": 7, "request": {"labels": {"trajectory_id": 7}}},
        {"request": {"labels": ["trajectory_id"]}},
        {"request": "x"},
    ],
)
def test_no_cascade_keys(body: JSON) -> None:
    assert cascade_keys(body) == ()


# --- apply_ls_spec: envelope and payload ----------------------------------------------------

ENVELOPE = ("project", "model", "requestId", "userAgent", "requestType")
CLIENT_SYSTEM = {"parts": [{"text": "You are a weather bot."}]}
GEMINI_3_GENERATION = {
    "temperature": 0.2,
    "maxOutputTokens": 2048,
    "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "low"},
}


def test_replace_keeps_the_envelope_and_takes_the_payload() -> None:
    original = ls_body()
    spec = client_spec(
        system=CLIENT_SYSTEM,
        tools=[WEATHER],
        tool_config={"functionCallingConfig": {"mode": "AUTO"}},
        generation=GEMINI_3_GENERATION,
        labels={"zerogravity_exchange": ID},
    )
    body = apply_ls_spec(copy.deepcopy(original), spec)
    for key in ENVELOPE:
        assert orjson.dumps(body[key]) == orjson.dumps(original[key]), key
    assert body["request"]["sessionId"] == "-3750763034362895579"
    assert body["request"] == {
        "contents": CLIENT_CONTENTS,
        "systemInstruction": CLIENT_SYSTEM,
        "tools": [WEATHER],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": GEMINI_3_GENERATION,
        "sessionId": "-3750763034362895579",
        "labels": {**LS_LABELS, "zerogravity_exchange": ID},
    }
    assert list(body) == list(original)  # no envelope field added or lost


def test_replace_without_a_client_system_instruction_drops_the_ls_one() -> None:
    body = apply_ls_spec(ls_body(), client_spec())
    assert "systemInstruction" not in body["request"]
    assert body["request"]["contents"] == CLIENT_CONTENTS


def test_append_puts_the_client_parts_after_the_ls_parts() -> None:
    system = {"role": "system", "parts": [{"text": "Be brief."}, {"text": "Use metric units."}]}
    body = apply_ls_spec(ls_body(), client_spec(system=system), mode="append")
    assert body["request"]["systemInstruction"] == {
        "role": "user",
        "parts": [*LS_SYSTEM["parts"], {"text": "Be brief."}, {"text": "Use metric units."}],
    }


def test_append_without_a_client_system_instruction_keeps_the_ls_one() -> None:
    body = apply_ls_spec(ls_body(), client_spec(), mode="append")
    assert body["request"]["systemInstruction"] == LS_SYSTEM


def test_append_reads_a_snake_case_ls_system_instruction() -> None:
    original = ls_body()
    original["request"]["system_instruction"] = original["request"].pop("systemInstruction")
    body = apply_ls_spec(original, client_spec(system=CLIENT_SYSTEM), mode="append")
    assert "system_instruction" not in body["request"]
    assert body["request"]["systemInstruction"] == {
        "role": "user",
        "parts": [*LS_SYSTEM["parts"], *CLIENT_SYSTEM["parts"]],
    }


def test_append_with_no_ls_system_instruction_takes_the_client_one() -> None:
    original = ls_body()
    del original["request"]["systemInstruction"]
    body = apply_ls_spec(original, client_spec(system=CLIENT_SYSTEM), mode="append")
    assert body["request"]["systemInstruction"] == CLIENT_SYSTEM


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        apply_ls_spec(ls_body(), client_spec(), mode="stealth")  # type: ignore[arg-type]


def test_the_spec_and_the_history_are_never_mutated() -> None:
    spec = client_spec(
        system=CLIENT_SYSTEM,
        tools=[WEATHER],
        tool_config={"functionCallingConfig": {"mode": "AUTO"}},
        generation={"maxOutputTokens": 100000, "thinkingConfig": {"thinkingLevel": "high"}},
    )
    before = copy.deepcopy(spec)
    body = apply_ls_spec(ls_body(model="claude-opus-4-6-thinking"), spec, mode="append")
    assert spec == before
    assert body["request"]["contents"] == CLIENT_CONTENTS  # `$ref`/`const` in args kept
    assert body["request"]["generationConfig"] == {
        "maxOutputTokens": 64000,
        "thinkingConfig": {"thinkingBudget": 24576},
    }


# --- apply_ls_spec: Cloud Code constraints --------------------------------------------------

CLAUDE = "claude-opus-4-6-thinking"


@pytest.mark.parametrize(
    ("tools", "tool_config", "expected"),
    [
        (
            [WEATHER],
            {"functionCallingConfig": {"mode": "AUTO", "allowedFunctionNames": ["get_weather"]}},
            {
                "functionCallingConfig": {
                    "mode": "VALIDATED",
                    "allowedFunctionNames": ["get_weather"],
                }
            },
        ),
        ([WEATHER], None, {"functionCallingConfig": {"mode": "VALIDATED"}}),
        ([WEATHER], {}, {"functionCallingConfig": {"mode": "VALIDATED"}}),
        (
            [WEATHER],
            {"functionCallingConfig": {"mode": "MODE_UNSPECIFIED"}},
            {"functionCallingConfig": {"mode": "VALIDATED"}},
        ),
        (
            [WEATHER],
            {"functionCallingConfig": {"mode": "ANY"}},
            {"functionCallingConfig": {"mode": "ANY"}},
        ),
        (
            [WEATHER],
            {"functionCallingConfig": {"mode": "NONE"}},
            {"functionCallingConfig": {"mode": "NONE"}},
        ),
        (None, None, None),
    ],
)
def test_claude_calls_functions_in_validated_mode(
    tools: list[JSON] | None, tool_config: JSON | None, expected: JSON | None
) -> None:
    spec = client_spec(tools=tools, tool_config=tool_config)
    body = apply_ls_spec(ls_body(model=CLAUDE), spec)
    assert body["request"].get("toolConfig") == expected


def test_gemini_keeps_auto_mode() -> None:
    spec = client_spec(tools=[WEATHER], tool_config={"functionCallingConfig": {"mode": "AUTO"}})
    body = apply_ls_spec(ls_body(model="gemini-3-flash"), spec)
    assert body["request"]["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        (None, {"maxOutputTokens": 64000}),
        ({"temperature": 1}, {"temperature": 1, "maxOutputTokens": 64000}),
        ({"maxOutputTokens": 65536}, {"maxOutputTokens": 64000}),
        ({"maxOutputTokens": 1000}, {"maxOutputTokens": 1000}),
        ({"maxOutputTokens": "many"}, {"maxOutputTokens": 64000}),
    ],
)
def test_claude_output_limit(generation: JSON | None, expected: JSON) -> None:
    assert generation_after(CLAUDE, generation) == expected


@pytest.mark.parametrize(
    ("level", "budget"),
    [("minimal", 1024), ("low", 1024), ("medium", 8192), ("high", 24576), ("HIGH", 24576)],
)
def test_claude_turns_a_level_into_a_budget(level: str, budget: int) -> None:
    generation = {"thinkingConfig": {"includeThoughts": True, "thinkingLevel": level}}
    assert generation_after(CLAUDE, generation) == {
        "maxOutputTokens": 64000,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": budget},
    }


@pytest.mark.parametrize(
    ("limit", "budget", "expected"),
    [
        (8000, 24576, {"maxOutputTokens": 8000, "thinkingConfig": {"thinkingBudget": 7999}}),
        (None, 64000, {"maxOutputTokens": 64000, "thinkingConfig": {"thinkingBudget": 63999}}),
        (100000, 70000, {"maxOutputTokens": 64000, "thinkingConfig": {"thinkingBudget": 63999}}),
        (8192, 8192, {"maxOutputTokens": 8192, "thinkingConfig": {"thinkingBudget": 8191}}),
        (8193, 8192, {"maxOutputTokens": 8193, "thinkingConfig": {"thinkingBudget": 8192}}),
        (1025, 1024, {"maxOutputTokens": 1025, "thinkingConfig": {"thinkingBudget": 1024}}),
        (1024, 1024, {"maxOutputTokens": 1024}),  # no room left to think
        (500, 8192, {"maxOutputTokens": 500}),
    ],
)
def test_claude_budget_stays_below_the_output_limit(
    limit: int | None, budget: int, expected: JSON
) -> None:
    generation: JSON = {"thinkingConfig": {"thinkingBudget": budget}}
    if limit is not None:
        generation["maxOutputTokens"] = limit
    assert generation_after(CLAUDE, generation) == expected


def test_claude_prefers_a_budget_over_a_level() -> None:
    generation = {"thinkingConfig": {"thinkingBudget": 2000, "thinkingLevel": "high"}}
    assert generation_after(CLAUDE, generation) == {
        "maxOutputTokens": 64000,
        "thinkingConfig": {"thinkingBudget": 2000},
    }


@pytest.mark.parametrize("model", [CLAUDE, "gemini-2.5-flash"])
@pytest.mark.parametrize("level", ["extreme", 3, ""])
def test_an_unknown_level_is_an_error_before_any_change(model: str, level: object) -> None:
    original = ls_body(model=model)
    body = copy.deepcopy(original)
    spec = client_spec(generation={"thinkingConfig": {"thinkingLevel": level}})
    with pytest.raises(CascadeRewriteError, match="unknown thinking level"):
        apply_ls_spec(body, spec)
    assert body == original


def test_a_null_level_is_no_level() -> None:
    generation = {"thinkingConfig": {"includeThoughts": True, "thinkingLevel": None}}
    assert generation_after("gemini-2.5-flash", generation) == {
        "thinkingConfig": {"includeThoughts": True}
    }


@pytest.mark.parametrize(
    ("budget", "level"),
    [
        (0, "low"),
        (512, "low"),
        (513, "low"),
        (2048, "low"),
        (2049, "medium"),
        (12000, "medium"),
        (12001, "high"),
        (32768, "high"),
    ],
)
def test_gemini_3_turns_a_budget_into_a_level(budget: int, level: str) -> None:
    generation = {
        "maxOutputTokens": 65536,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": budget},
    }
    assert generation_after("gemini-3-flash", generation) == {
        "maxOutputTokens": 65536,  # only Claude's limit is enforced here
        "thinkingConfig": {"includeThoughts": True, "thinkingLevel": level},
    }


def test_gemini_3_pro_has_no_medium_level() -> None:
    generation = {"thinkingConfig": {"thinkingBudget": 8192}}
    assert generation_after("gemini-3-pro-high", generation) == {
        "thinkingConfig": {"thinkingLevel": "high"}
    }
    assert generation_after("gemini-3.1-pro-high", generation) == {
        "thinkingConfig": {"thinkingLevel": "medium"}
    }


@pytest.mark.parametrize(
    ("thinking", "expected"),
    [
        ({"thinkingLevel": "high"}, {"thinkingLevel": "high"}),
        ({"thinkingBudget": 1024, "thinkingLevel": "high"}, {"thinkingLevel": "high"}),
        ({"includeThoughts": True, "thinkingBudget": -1}, {"includeThoughts": True}),  # dynamic
        ({"thinkingBudget": "lots"}, {}),
    ],
)
def test_gemini_3_never_gets_a_budget(thinking: JSON, expected: JSON) -> None:
    generation = {"thinkingConfig": thinking}
    assert generation_after("gemini-3-flash", generation) == {"thinkingConfig": expected}


@pytest.mark.parametrize(
    ("model", "level", "budget"),
    [
        ("gemini-2.5-flash", "minimal", 128),
        ("gemini-2.5-flash", "low", 1024),
        ("gemini-2.5-flash", "medium", 8192),
        ("gemini-2.5-pro", "high", 24576),
        ("gemini-2.5-flash-lite", "minimal", 512),
    ],
)
def test_gemini_2_5_turns_a_level_into_a_budget(model: str, level: str, budget: int) -> None:
    generation = {"thinkingConfig": {"includeThoughts": False, "thinkingLevel": level}}
    assert generation_after(model, generation) == {
        "thinkingConfig": {"includeThoughts": False, "thinkingBudget": budget}
    }


def test_gemini_2_5_keeps_budgets_and_has_no_output_cap() -> None:
    generation = {"maxOutputTokens": 65536, "thinkingConfig": {"thinkingBudget": 0}}
    assert generation_after("gemini-2.5-flash", generation) == generation


def test_constraints_follow_the_envelope_model_not_the_spec() -> None:
    spec = client_spec(generation={"thinkingConfig": {"thinkingLevel": "low"}})
    assert spec.upstream_model == "gemini-3-flash"
    body = apply_ls_spec(ls_body(model="gemini-2.5-pro"), spec)
    assert body["model"] == "gemini-2.5-pro"
    assert body["request"]["generationConfig"] == {"thinkingConfig": {"thinkingBudget": 1024}}


def test_a_missing_envelope_model_falls_back_to_the_spec() -> None:
    original = ls_body()
    del original["model"]
    spec = client_spec(generation={"thinkingConfig": {"thinkingBudget": 4096}})
    body = apply_ls_spec(original, spec)
    assert "model" not in body
    assert body["request"]["generationConfig"] == {"thinkingConfig": {"thinkingLevel": "medium"}}


@pytest.mark.parametrize(
    "search", [{"googleSearch": {}}, {"urlContext": {}}, {"google_search": {}}]
)
@pytest.mark.parametrize("model", [CLAUDE, "gemini-3-flash", "gemini-2.5-flash"])
def test_search_next_to_functions_is_refused_before_any_change(search: JSON, model: str) -> None:
    original = ls_body(model=model)
    body = copy.deepcopy(original)
    with pytest.raises(CascadeRewriteError, match="cannot be combined with function tools"):
        apply_ls_spec(body, client_spec(tools=[WEATHER, search]))
    assert body == original


@pytest.mark.parametrize(
    "tools",
    [
        [{"googleSearch": {}}],
        [{"urlContext": {}}, {"googleSearch": {}}],
        [WEATHER],
        [{"googleSearch": {}}, {"functionDeclarations": []}],
    ],
)
def test_search_or_functions_alone_pass(tools: list[JSON]) -> None:
    body = apply_ls_spec(ls_body(), client_spec(tools=tools))
    assert body["request"]["tools"] == tools


# --- synthetic_stop -------------------------------------------------------------------------


CLOUDCODE_STREAM = Endpoint("cloudcode", "streamGenerateContent", None)
GRPC_STREAM = Endpoint("gemini", "streamGenerateContent", None, grpc=True)


def parse_sse(chunk: Mapping[str, Any]) -> list[object]:
    """The chunk as the SSE answer the inject addon sends, read back by our own parser."""
    data = stream_answer(CLOUDCODE_STREAM, chunk).body
    assert data.startswith(b"data: ") and data.endswith(b"}\n\n") and data.count(b"\n") == 2
    parser = ResponseParser(200, "text/event-stream", None)
    return [*parser.feed(data), *parser.close()]


def test_synthetic_stop_is_one_cloud_code_chunk() -> None:
    event = synthetic_stop(ls_body())
    response_id = event["response"].pop("responseId")
    trace_id = event.pop("traceId")
    assert event == {
        "response": {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}
            ],
            "usageMetadata": {
                "promptTokenCount": 0,
                "candidatesTokenCount": 0,
                "totalTokenCount": 0,
            },
            "modelVersion": "gemini-3-flash",
        }
    }
    assert len(response_id) == 22 and response_id.replace("-", "").replace("_", "").isalnum()
    assert len(trace_id) == 16 and int(trace_id, 16) >= 0


def test_synthetic_stop_parses_as_a_clean_stop() -> None:
    assert parse_sse(synthetic_stop(ls_body())) == [Finish("STOP"), Usage()]


def test_synthetic_stop_over_grpc_is_a_bare_response_in_one_frame() -> None:
    body = {"model": "models/gemini-3-flash", "contents": [user("hi")]}
    chunk = synthetic_stop(body, "gemini")
    assert "response" not in chunk and chunk["modelVersion"] == "gemini-3-flash"
    answer = stream_answer(GRPC_STREAM, chunk)
    assert answer.trailers == {"grpc-status": "0"}
    parser = GrpcResponseParser(200, answer.headers)
    events = [*parser.feed(answer.body), *parser.close(answer.trailers)]
    assert events == [Finish("STOP"), Usage()]


def test_synthetic_stop_is_deterministic_per_body() -> None:
    first = synthetic_stop(ls_body())
    assert synthetic_stop(ls_body()) == first
    reordered = dict(reversed(list(ls_body().items())))
    assert synthetic_stop(reordered) == first
    assert synthetic_stop(ls_body(user("other"))) != first


def test_synthetic_stop_survives_what_orjson_cannot_encode() -> None:
    body: JSON = {"model": "gemini-3-flash", "request": {"n": 2**64, 1: "x"}}
    assert synthetic_stop(body) == synthetic_stop(copy.deepcopy(body))
    assert parse_sse(synthetic_stop(body)) == [Finish("STOP"), Usage()]


def test_synthetic_stop_without_a_model() -> None:
    event = synthetic_stop({"request": {}})
    assert "modelVersion" not in event["response"]
    assert parse_sse(event) == [Finish("STOP"), Usage()]


# --- for_language_server --------------------------------------------------------------------


def chunk(*parts: JSON, **candidate: Any) -> JSON:
    return {
        "response": {
            "candidates": [{"content": {"role": "model", "parts": list(parts)}, **candidate}],
            "modelVersion": "gemini-3-flash",
            "responseId": "eBNcat8X5evPsg_lhqyQAg",
        },
        "traceId": "55650653afd3c738",
    }


CALL_1 = {
    "thoughtSignature": "EqADCp0DAXLI2nx",
    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_vrtx_1"},
}
CALL_2 = {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "toolu_vrtx_2"}}
USAGE = {"promptTokenCount": 11291, "candidatesTokenCount": 64, "totalTokenCount": 11371}


@pytest.mark.parametrize(
    "text_chunk",
    [
        chunk({"text": "Looking at the file first.", "thought": True}),
        chunk({"text": "Sunny."}, {"text": "", "thoughtSignature": "sig"}, finishReason="STOP"),
        chunk(),
        {"response": {"usageMetadata": USAGE}},
        {"candidates": [{"content": {"parts": [{"text": "bare"}]}}]},
        {"response": {"error": {"code": 429}}},
        {},
    ],
)
def test_chunks_without_calls_are_returned_as_they_are(text_chunk: JSON) -> None:
    assert for_language_server(text_chunk) is text_chunk


def test_parallel_calls_are_removed_and_the_rest_kept() -> None:
    original = chunk(
        {"text": "Checking both.", "thought": True},
        {"text": "Let me check."},
        CALL_1,
        CALL_2,
        finishReason="STOP",
        index=0,
    )
    original["response"]["usageMetadata"] = USAGE
    before = copy.deepcopy(original)
    assert for_language_server(original) == {
        "response": {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {"text": "Checking both.", "thought": True},
                            {"text": "Let me check."},
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "modelVersion": "gemini-3-flash",
            "responseId": "eBNcat8X5evPsg_lhqyQAg",
            "usageMetadata": USAGE,
        },
        "traceId": "55650653afd3c738",
    }
    assert original == before


def test_a_call_only_chunk_keeps_an_empty_text_part() -> None:
    original = chunk(CALL_1, finishReason="STOP")
    out = for_language_server(original)
    assert out == {
        "response": {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}
            ],
            "modelVersion": "gemini-3-flash",
            "responseId": "eBNcat8X5evPsg_lhqyQAg",
        },
        "traceId": "55650653afd3c738",
    }
    assert parse_sse(out) == [Finish("STOP")]


def test_only_the_changed_candidate_is_copied() -> None:
    untouched = {"content": {"parts": [{"text": "a"}]}, "index": 0}
    original = {"candidates": [untouched, {"content": {"parts": [CALL_2]}, "index": 1}]}
    out = for_language_server(original)
    assert out["candidates"][0] is untouched
    assert out["candidates"][1] == {"content": {"parts": [{"text": ""}]}, "index": 1}


def test_snake_case_calls_are_removed_too() -> None:
    original = chunk({"text": "x"}, {"function_call": {"name": "f", "args": {}}})
    assert for_language_server(original)["response"]["candidates"][0]["content"]["parts"] == [
        {"text": "x"}
    ]


# --- for_language_server, property-based ----------------------------------------------------

KEYS = ["response", "candidates", "content", "parts", "text", "functionCall", "role", "x"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=3)
    ),
    max_leaves=12,
)
parts = st.one_of(
    st.builds(lambda t: {"text": t}, st.text(max_size=5)),
    st.builds(lambda a: {"functionCall": {"name": "f", "args": a}}, json_values),
    st.builds(lambda a: {"functionCall": a, "thoughtSignature": "s"}, json_values),
    json_values,
)
candidates = st.one_of(
    st.fixed_dictionaries(
        {"content": st.fixed_dictionaries({"parts": st.lists(parts, max_size=4)})},
        optional={"finishReason": st.just("STOP"), "x": json_values},
    ),
    json_values,
)
bodies = st.fixed_dictionaries(
    {"candidates": st.lists(candidates, min_size=1, max_size=3)},
    optional={"usageMetadata": json_values, "x": json_values},
)
# Mostly well-shaped chunks, so that calls are common; then odd shapes and arbitrary JSON.
chunks = st.one_of(
    st.fixed_dictionaries({"response": bodies}, optional={"traceId": st.text(max_size=5)}),
    bodies,
    st.fixed_dictionaries({"response": bodies, "candidates": st.lists(candidates, max_size=2)}),
    st.fixed_dictionaries({"response": json_values}, optional={"candidates": json_values}),
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4),
)


def ls_visible_parts(value: Mapping[str, Any]) -> list[object]:
    """Every part the LS reads: in the candidates of the envelope and of a bare chunk."""
    found: list[object] = []
    response = value.get("response")
    for body in (response if isinstance(response, Mapping) else {}, value):
        candidates = body.get("candidates")
        for candidate in candidates if isinstance(candidates, list) else ():
            content = candidate.get("content") if isinstance(candidate, Mapping) else None
            parts = content.get("parts") if isinstance(content, Mapping) else None
            found += parts if isinstance(parts, list) else []
    return found


def is_call(part: object) -> bool:
    return isinstance(part, Mapping) and ("functionCall" in part or "function_call" in part)


@settings(max_examples=500)
@given(chunks)
def test_no_function_call_reaches_the_ls(value: JSON) -> None:
    before = copy.deepcopy(value)
    out = for_language_server(value)
    assert value == before  # the input is never mutated
    assert not any(is_call(p) for p in ls_visible_parts(out))
    empty = {"text": ""}  # what a candidate left without parts gets
    kept = [p for p in ls_visible_parts(value) if not is_call(p) and p != empty]
    assert [p for p in ls_visible_parts(out) if p != empty] == kept  # in order, nothing else lost
    assert for_language_server(out) is out  # nothing left to remove
    if not any(is_call(p) for p in ls_visible_parts(value)):
        assert out is value
    orjson.dumps(out)  # still serialisable JSON


@settings(max_examples=300)
@given(st.dictionaries(st.text(max_size=3) | st.sampled_from(KEYS), json_values, max_size=5))
def test_for_language_server_never_raises(value: JSON) -> None:
    for_language_server(value)
    for_language_server({"response": value})
