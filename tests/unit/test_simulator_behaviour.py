"""The simulator's sans-IO core: validation, planning, signatures, directives and framing."""

from __future__ import annotations

import json
import zlib
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerogravity_proxy.simulator import DUMMY_SIGNATURE, ErrorReply, Flavour, Framing, Plan
from zerogravity_proxy.simulator.behaviour import plan_request, unwrap_envelope
from zerogravity_proxy.simulator.directives import DirectiveError, parse_directives
from zerogravity_proxy.simulator.draft import FILLER, word_pieces
from zerogravity_proxy.simulator.errors import MISSING_SIGNATURE
from zerogravity_proxy.simulator.schemas import example_value
from zerogravity_proxy.simulator.signatures import SignatureAuthority
from zerogravity_proxy.simulator.wire import (
    GzipStream,
    envelope,
    error_body,
    fold,
    stream_bytes,
)

JSON = dict[str, Any]
AUTHORITY = SignatureAuthority(b"test-key")
FLASH = "gemini-2.5-flash"
GEMINI3 = "gemini-3-flash-preview"
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]},
        },
        "required": ["city", "unit"],
    },
}
TIME = {
    "name": "get_time",
    "parameters": {
        "type": "object",
        "properties": {"zone": {"type": "string"}},
        "required": ["zone"],
    },
}


def user(text: str) -> JSON:
    return {"role": "user", "parts": [{"text": text}]}


def request(text: str = "Hello there", **extra: Any) -> JSON:
    return {"contents": [user(text)], **extra}


def plan(
    body: Any, model: str = FLASH, flavour: Flavour = Flavour.GEMINI, authority: Any = AUTHORITY
) -> Plan:
    return plan_request(body, model, flavour, authority)


def answer(result: Plan) -> str:
    return "".join(part["text"] for part in parts(result) if not part.get("thought"))


def parts(result: Plan) -> list[JSON]:
    return [
        part
        for chunk in result.chunks
        for candidate in chunk.get("candidates", [])
        for part in candidate.get("content", {}).get("parts", [])
        if "text" in part
    ]


def last_candidate(result: Plan) -> JSON:
    candidate: JSON = result.chunks[-1]["candidates"][0]
    return candidate


def error_of(result: Plan) -> JSON:
    assert result.error is not None, "expected an error plan"
    return result.error.error


def calls(result: Plan) -> list[JSON]:
    return [
        part
        for chunk in result.chunks
        for part in chunk["candidates"][0].get("content", {}).get("parts", [])
        if "functionCall" in part
    ]


# --- text answers ------------------------------------------------------------------------


def test_text_answer_echoes_and_streams_in_small_deltas() -> None:
    result = plan(request("Hello   there\n friend"))
    assert result.error is None
    assert answer(result) == f"You said: Hello there friend. {FILLER}"
    assert len(result.chunks) > 3
    assert all(len(part["text"].split()) <= 4 for part in parts(result))
    assert [c["candidates"][0].get("finishReason") for c in result.chunks[:-1]] == [None] * (
        len(result.chunks) - 1
    )
    assert last_candidate(result)["finishReason"] == "STOP"


def test_same_request_same_plan_and_ids_from_the_request() -> None:
    first, second = plan(request("same")), plan(request("same"))
    assert first == second
    other = plan(request("different"))
    assert first.chunks[0]["responseId"] != other.chunks[0]["responseId"]
    assert first.trace_id != other.trace_id and len(first.trace_id) == 16
    assert {c["responseId"] for c in first.chunks} == {first.chunks[0]["responseId"]}
    assert {c["modelVersion"] for c in first.chunks} == {FLASH}


def test_models_prefix_is_ignored() -> None:
    assert plan(request(), model=f"models/{FLASH}").chunks[0]["modelVersion"] == FLASH


def test_usage_is_cumulative_and_consistent() -> None:
    long_prompt = " ".join(["word"] * 80)
    body = request(long_prompt, systemInstruction={"parts": [{"text": "Be brief please."}]})
    result = plan(body)
    usages = [chunk["usageMetadata"] for chunk in result.chunks]
    assert all("usageMetadata" in chunk for chunk in result.chunks)
    candidates = [u.get("candidatesTokenCount", 0) for u in usages]
    assert candidates == sorted(candidates)
    final = usages[-1]
    assert final["promptTokenCount"] == 83
    assert final["cachedContentTokenCount"] == 41
    assert final["candidatesTokenCount"] == len(answer(result).split())
    assert final["totalTokenCount"] == (
        final["promptTokenCount"] + final["candidatesTokenCount"] + final["thoughtsTokenCount"]
    )


def test_short_prompt_has_no_cached_count_and_non_thinking_model_no_thoughts() -> None:
    final = plan(request("hi"), model="gemini-2.0-flash").chunks[-1]["usageMetadata"]
    assert "cachedContentTokenCount" not in final and "thoughtsTokenCount" not in final
    assert final["totalTokenCount"] == final["promptTokenCount"] + final["candidatesTokenCount"]


def test_include_thoughts_streams_two_thought_parts_first() -> None:
    config = {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024}}
    result = plan(request(generationConfig=config))
    first_two = [chunk["candidates"][0]["content"]["parts"] for chunk in result.chunks[:2]]
    assert [p[0].get("thought") for p in first_two] == [True, True]
    thought_words = sum(len(p[0]["text"].split()) for p in first_two)
    assert result.chunks[-1]["usageMetadata"]["thoughtsTokenCount"] == thought_words
    assert result.chunks[0]["usageMetadata"]["thoughtsTokenCount"] < thought_words


def test_hidden_thinking_still_counts_thought_tokens() -> None:
    result = plan(request(), model=FLASH)
    assert not any(part.get("thought") for part in parts(result))
    assert result.chunks[0]["usageMetadata"]["thoughtsTokenCount"] > 0


def test_thinking_budget_zero_disables_thinking() -> None:
    config = {"thinkingConfig": {"thinkingBudget": 0}}
    result = plan(request(generationConfig=config))
    assert "thoughtsTokenCount" not in result.chunks[-1]["usageMetadata"]


def test_gemini3_text_ends_with_a_signature_only_part() -> None:
    result = plan(request("hi"), model=GEMINI3)
    final = last_candidate(result)
    assert final["content"]["parts"] == [
        {"text": "", "thoughtSignature": AUTHORITY.for_text(answer(result))}
    ]
    assert final["finishReason"] == "STOP"
    assert all("thoughtSignature" not in part for part in parts(result)[:-1])


# --- function calls -------------------------------------------------------------------------


def tools(*declarations: JSON) -> list[JSON]:
    return [{"functionDeclarations": list(declarations)}]


def test_named_functions_are_called_in_parallel_signature_on_first_only() -> None:
    body = request("use get_time and get_weather", tools=tools(WEATHER, TIME))
    result = plan(body, model=GEMINI3)
    assert len(result.chunks) == 1
    found = calls(result)
    assert [p["functionCall"]["name"] for p in found] == ["get_weather", "get_time"]
    assert found[0]["functionCall"]["args"] == {"city": "Paris", "unit": "c"}
    assert found[1]["functionCall"]["args"] == {"zone": "example"}
    assert found[0]["thoughtSignature"] == AUTHORITY.for_call(
        "get_weather", {"city": "Paris", "unit": "c"}
    )
    assert "thoughtSignature" not in found[1]
    assert all("id" not in p["functionCall"] for p in found)
    assert last_candidate(result)["finishReason"] == "STOP"


def test_claude_calls_get_ids() -> None:
    body = request("get_weather now", tools=tools(WEATHER))
    call = calls(plan(body, model="claude-sonnet-4-6", flavour=Flavour.CLOUD_CODE))[0]
    assert call["functionCall"]["id"].startswith("toolu_vrtx_")


def test_name_must_be_a_whole_word() -> None:
    body = request("get_weathers is not a function", tools=tools(WEATHER))
    assert calls(plan(body)) == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"mode": "ANY"}, ["get_weather"]),
        ({"mode": "ANY", "allowedFunctionNames": ["get_time"]}, ["get_time"]),
        ({"mode": "AUTO"}, []),
        ({"mode": "NONE"}, []),
    ],
)
def test_function_calling_modes(config: JSON, expected: list[str]) -> None:
    body = request(
        "no names here",
        tools=tools(WEATHER, TIME),
        toolConfig={"functionCallingConfig": config},
    )
    assert [p["functionCall"]["name"] for p in calls(plan(body))] == expected


def test_mode_none_answers_text_even_when_named() -> None:
    body = request(
        "get_weather", tools=tools(WEATHER), toolConfig={"functionCallingConfig": {"mode": "NONE"}}
    )
    result = plan(body)
    assert calls(result) == [] and answer(result).startswith("You said: get_weather.")


def test_function_responses_are_reported_back() -> None:
    call = {"name": "get_weather", "args": {"city": "Paris"}}
    body = {
        "contents": [
            user("weather?"),
            {"role": "model", "parts": [{"functionCall": call}]},
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}
                ],
            },
        ],
        "tools": tools(WEATHER),
    }
    assert answer(plan(body)) == 'get_weather returned {"result": "sunny"}.'


# --- JSON mode --------------------------------------------------------------------------------


def test_json_mode_with_schema_yields_a_valid_document() -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "city": {"type": "STRING"},
            "population": {"type": "INTEGER", "minimum": 5},
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 2},
            "capital": {"type": "BOOLEAN"},
        },
        "required": ["city"],
    }
    config = {"responseMimeType": "application/json", "responseSchema": schema}
    result = plan(request(generationConfig=config))
    assert len(parts(result)) > 1
    assert json.loads(answer(result)) == {
        "city": "Paris",
        "population": 5,
        "tags": ["example", "example"],
        "capital": True,
    }


def test_json_mode_with_json_schema_and_without_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"kind": {"$ref": "#/$defs/Kind"}},
        "required": ["kind"],
        "$defs": {"Kind": {"type": "string", "enum": ["a", "b"]}},
    }
    config = {"responseMimeType": "application/json", "responseJsonSchema": schema}
    assert json.loads(answer(plan(request(generationConfig=config)))) == {"kind": "a"}
    plain = plan(request("hi", generationConfig={"responseMimeType": "application/json"}))
    assert json.loads(answer(plain)) == {"answer": "You said: hi."}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "integer", "minimum": 3, "maximum": 9}, 3),
        ({"type": "number", "maximum": 0.5}, 0),
        ({"type": "string", "minLength": 10}, "examplexxx"),
        ({"type": "string", "format": "date-time"}, "2025-01-01T00:00:00Z"),
        ({"anyOf": [{"type": "null"}, {"type": "boolean"}]}, True),
        ({"type": ["null", "integer"]}, 1),
        ({"type": "array", "items": {"type": "integer"}, "maxItems": 0}, []),
        ({"type": "object"}, {}),
    ],
)
def test_example_values(schema: JSON, expected: Any) -> None:
    assert example_value(schema) == expected


# --- limits -----------------------------------------------------------------------------------


def test_stop_sequence_cuts_before_it() -> None:
    config = {"stopSequences": ["zebra", "comes"]}
    result = plan(request("alpha zebra beta", generationConfig=config))
    assert answer(result) == "You said: alpha "
    assert last_candidate(result)["finishReason"] == "STOP"


def test_max_output_tokens_truncates_and_reports_max_tokens() -> None:
    config = {"maxOutputTokens": 5, "thinkingConfig": {"thinkingBudget": 0}}
    result = plan(request("one two three four five six", generationConfig=config))
    assert answer(result) == "You said: one two three"
    final = result.chunks[-1]
    assert final["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert final["usageMetadata"]["candidatesTokenCount"] == 5


def test_thoughts_count_against_max_output_tokens() -> None:
    config = {"maxOutputTokens": 10, "thinkingConfig": {"includeThoughts": True}}
    result = plan(request(generationConfig=config))
    assert answer(result) == ""
    assert sum(len(p["text"].split()) for p in parts(result) if p.get("thought")) == 10
    assert last_candidate(result)["finishReason"] == "MAX_TOKENS"
    assert result.chunks[-1]["usageMetadata"]["thoughtsTokenCount"] == 10


# --- grounding ----------------------------------------------------------------------------------


def test_grounding_offsets_are_utf8_bytes() -> None:
    result = plan(request("Grüße aus Köln 😀", tools=[{"googleSearch": {}}]))
    text = answer(result)
    metadata = last_candidate(result)["groundingMetadata"]
    assert metadata["webSearchQueries"] == ["Grüße aus Köln 😀"]
    assert len(metadata["groundingChunks"]) == 2
    assert all(chunk["web"]["uri"].startswith("https://") for chunk in metadata["groundingChunks"])
    data = text.encode()
    supports = metadata["groundingSupports"]
    assert len(supports) == 2
    for support in supports:
        segment = support["segment"]
        start = segment.get("startIndex", 0)
        assert data[start : segment["endIndex"]].decode() == segment["text"]
    assert supports[0]["segment"]["text"] == "You said: Grüße aus Köln 😀."
    assert "startIndex" not in supports[0]["segment"]
    assert supports[1]["segment"]["startIndex"] == len("You said: Grüße aus Köln 😀. ".encode())
    usage = result.chunks[-1]["usageMetadata"]
    assert usage["toolUsePromptTokenCount"] > 0
    assert usage["totalTokenCount"] == sum(
        usage.get(key, 0)
        for key in (
            "promptTokenCount",
            "candidatesTokenCount",
            "thoughtsTokenCount",
            "toolUsePromptTokenCount",
        )
    )


# --- validation -------------------------------------------------------------------------------


def test_unknown_schema_key_is_rejected_in_googles_words() -> None:
    declaration = {
        "name": "f",
        "parameters": {"type": "object", "additionalProperties": False, "properties": {}},
    }
    error = error_of(plan(request(tools=tools(declaration))))
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == (
        'Invalid JSON payload received. Unknown name "additionalProperties" at '
        "'tools[0].function_declarations[0].parameters': Cannot find field."
    )
    violation = error["details"][0]["fieldViolations"][0]
    assert violation["field"] == "tools[0].function_declarations[0].parameters"


def test_nested_unknown_keys_are_all_reported_with_map_paths() -> None:
    parameters = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {"type": "array", "items": {"type": "integer", "exclusiveMinimum": 0}},
            "c": {"anyOf": [{"type": "string", "const": "x"}]},
        },
    }
    error = error_of(plan(request(tools=tools({"name": "f", "parameters": parameters}))))
    base = "tools[0].function_declarations[0].parameters"
    assert error["message"].split("\n") == [
        'Invalid JSON payload received. Unknown name "exclusiveMinimum" at '
        f"'{base}.properties[1].value.items': Cannot find field.",
        'Invalid JSON payload received. Unknown name "const" at '
        f"'{base}.properties[2].value.any_of[0]': Cannot find field.",
    ]


def test_cloud_code_paths_are_under_request() -> None:
    declaration = {"name": "f", "parameters": {"type": "object", "$schema": "x"}}
    error = error_of(plan(request(tools=tools(declaration)), flavour=Flavour.CLOUD_CODE))
    assert "at 'request.tools[0].function_declarations[0].parameters'" in error["message"]


def test_parameters_json_schema_allows_more_but_not_everything() -> None:
    accepted = {
        "name": "f",
        "parametersJsonSchema": {
            "type": "object",
            "properties": {"a": {"type": ["string", "null"], "minLength": 1}},
            "additionalProperties": False,
            "required": ["a"],
        },
    }
    assert plan(request(tools=tools(accepted))).error is None
    rejected = {"name": "f", "parametersJsonSchema": {"$schema": "x", "type": "object"}}
    error = error_of(plan(request(tools=tools(rejected))))
    assert 'Unknown name "$schema"' in error["message"]
    assert "parameters_json_schema" in error["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"contents": []}, "* GenerateContentRequest.contents: contents is not specified\n"),
        ({}, "* GenerateContentRequest.contents: contents is not specified\n"),
        (
            {"contents": [{"role": "system", "parts": [{"text": "x"}]}]},
            "Please use a valid role: user, model.",
        ),
        (
            request(systemInstruction="be brief"),
            "Invalid value at 'system_instruction' "
            '(type.googleapis.com/google.ai.generativelanguage.v1beta.Content), "be brief"',
        ),
        (
            request(
                generationConfig={"thinkingConfig": {"thinkingBudget": 10, "thinkingLevel": "low"}}
            ),
            "Unable to submit request because thinking_budget and thinking_level cannot be set "
            "together. Set only one of them.",
        ),
        (
            request(frequency="high"),
            'Invalid JSON payload received. Unknown name "frequency": Cannot find field.',
        ),
        (
            request(generationConfig={"reasoningEffort": "low"}),
            'Invalid JSON payload received. Unknown name "reasoningEffort" at '
            "'generation_config': Cannot find field.",
        ),
        (
            {"contents": [{"role": "user", "parts": []}]},
            "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n",
        ),
        (
            request(tools=tools({"name": "f", "parameters": {"type": "object", "enum": [1]}})),
            "Invalid value at 'tools[0].function_declarations[0].parameters.enum[0]' "
            "(TYPE_STRING), 1",
        ),
        (
            request(tools=tools({"name": "f", "parameters": {"type": "text"}})),
            "Invalid value at 'tools[0].function_declarations[0].parameters.type' "
            '(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "text"',
        ),
        (
            [request()],
            'Invalid JSON payload received. Unknown name "": Root element must be a message.',
        ),
    ],
)
def test_request_errors(body: Any, message: str) -> None:
    error = error_of(plan(body))
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == message


def test_function_names_and_strict_flag() -> None:
    error = error_of(plan(request(tools=tools({"name": "1bad"}, {"name": "ok", "strict": True}))))
    assert error["message"] == (
        'Invalid JSON payload received. Unknown name "strict" at '
        "'tools[0].function_declarations[1]': Cannot find field."
    )
    error = error_of(plan(request(tools=tools({"name": "1bad"}))))
    assert error["message"].startswith(
        "* GenerateContentRequest.tools[0].function_declarations[0].name: Invalid function name."
    )


def test_search_with_functions_is_refused_on_cloud_code_only() -> None:
    body = request(tools=[{"googleSearch": {}}, *tools(WEATHER)])
    error = error_of(plan(body, model="gemini-3-flash", flavour=Flavour.CLOUD_CODE))
    assert error["message"] == "Multiple tools are supported only when they are all search tools."
    assert plan(body).error is None


def test_snake_case_fields_are_accepted() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "call get_weather"}]}],
        "system_instruction": {"parts": [{"text": "sys"}]},
        "tools": [{"function_declarations": [WEATHER]}],
        "generation_config": {"max_output_tokens": 100, "thinking_config": {"thinking_budget": 0}},
    }
    result = plan(body)
    assert result.error is None
    assert [p["functionCall"]["name"] for p in calls(result)] == ["get_weather"]


# --- thought signatures -------------------------------------------------------------------------


def replay(signature: str | None, model_args: JSON | None = None, directives: str = "") -> JSON:
    args = model_args if model_args is not None else {"city": "Paris", "unit": "c"}
    part: JSON = {"functionCall": {"name": "get_weather", "args": args}}
    if signature is not None:
        part["thoughtSignature"] = signature
    response = {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}
    return {
        "contents": [
            user(f"weather in Paris? get_weather {directives}"),
            {"role": "model", "parts": [part]},
            {"role": "user", "parts": [response]},
        ],
        "tools": tools(WEATHER),
    }


def issued_signature() -> str:
    first = plan(request("get_weather please", tools=tools(WEATHER)), model=GEMINI3)
    signature: str = calls(first)[0]["thoughtSignature"]
    return signature


def test_issued_signature_is_accepted_and_recorded_as_real() -> None:
    result = plan(replay(issued_signature()), model=GEMINI3)
    assert result.error is None
    assert result.signatures_enforced
    assert [check.as_json() for check in result.signatures] == [
        {"position": 2, "name": "get_weather", "result": "real"}
    ]


def test_args_survive_a_float_round_trip() -> None:
    args = {"n": 1}
    signature = AUTHORITY.for_call("get_weather", args)
    result = plan(replay(signature, {"n": 1.0}), model=GEMINI3)
    assert result.signatures[0].result == "real"


def test_missing_signature_is_rejected_with_googles_message() -> None:
    error = error_of(plan(replay(None), model=GEMINI3))
    assert error["message"] == MISSING_SIGNATURE.format(name="get_weather", position=2)
    assert error["message"] == (
        "Function call is missing a thought_signature in functionCall parts. This is required "
        "for tools to work correctly, and missing thought_signature may lead to degraded model "
        "performance. Additional data, function call `default_api:get_weather` , position 2. "
        "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more "
        "details."
    )


def test_dummy_signature_is_accepted_and_recorded_as_dummy() -> None:
    result = plan(replay(DUMMY_SIGNATURE), model=GEMINI3)
    assert result.error is None and result.signatures[0].result == "dummy"


def test_forged_or_misplaced_signature_is_invalid() -> None:
    forged = error_of(plan(replay("Zm9yZ2Vk"), model=GEMINI3))
    assert forged["message"] == "Unable to submit request because Thought signature is not valid."
    changed_args = plan(replay(issued_signature(), {"city": "Rome", "unit": "c"}), model=GEMINI3)
    assert changed_args.error is not None
    other_key = plan(replay(issued_signature()), model=GEMINI3, authority=SignatureAuthority(b"x"))
    assert other_key.error is not None


def test_signatures_are_checked_only_on_gemini3_unless_asked() -> None:
    lenient = plan(replay(None), model=FLASH)
    assert lenient.error is None and not lenient.signatures_enforced
    assert lenient.signatures[0].result == "missing"
    strict = plan(replay(None, directives="[[sim:signatures]]"), model=FLASH)
    assert strict.error is not None and strict.signatures_enforced


def test_only_the_first_call_of_a_parallel_turn_needs_a_signature() -> None:
    signature = AUTHORITY.for_call("get_weather", {"city": "Paris", "unit": "c"})
    body = replay(signature)
    body["contents"][1]["parts"].append({"functionCall": {"name": "get_time", "args": {}}})
    assert plan(body, model=GEMINI3).error is None


# --- directives ---------------------------------------------------------------------------------


def test_directives_parse_and_are_removed_from_the_echo() -> None:
    directives, text = parse_directives(
        "hi [[sim:events=5,size=10]] there [[sim:gzip]][[sim:delay=20]]"
    )
    assert (directives.events, directives.size, directives.gzip) == (5, 10, True)
    assert directives.delay == pytest.approx(0.02)
    assert " ".join(text.split()) == "hi there"
    assert answer(plan(request("hi [[sim:gzip]] there"))).startswith("You said: hi there.")


@pytest.mark.parametrize(
    "bad", ["[[sim:nope]]", "[[sim:cut=x]]", "[[sim:error=418]]", "[[sim:events=0]]"]
)
def test_unknown_directives_are_a_400(bad: str) -> None:
    with pytest.raises(DirectiveError):
        parse_directives(bad)
    assert error_of(plan(request(f"hi {bad}")))["status"] == "INVALID_ARGUMENT"


def test_error_429_public_and_cloud_code() -> None:
    public = plan(request("x [[sim:error=429]]")).error
    assert public is not None and public.status == 429 and not public.array_wrapped
    details = {d["@type"].rsplit(".", 1)[1]: d for d in public.error["details"]}
    assert set(details) == {"QuotaFailure", "Help", "RetryInfo"}
    assert details["RetryInfo"]["retryDelay"] == "26s"
    cloud = plan(request("x [[sim:error=429]]"), model="gemini-3-flash", flavour=Flavour.CLOUD_CODE)
    assert cloud.error is not None and cloud.error.array_wrapped
    assert isinstance(cloud.error.body(), list)
    assert cloud.error.error["details"][-1]["retryDelay"] == "26s"


def test_error_quota_is_daily_and_terminal() -> None:
    reply = plan(request("x [[sim:error=quota]]")).error
    assert reply is not None and reply.status == 429
    by_type = {d["@type"].rsplit(".", 1)[1]: d for d in reply.error["details"]}
    assert by_type["ErrorInfo"]["reason"] == "QUOTA_EXHAUSTED"
    assert "PerDay" in by_type["QuotaFailure"]["violations"][0]["quotaId"]
    assert by_type["RetryInfo"]["retryDelay"] == "43200s"


@pytest.mark.parametrize(
    ("directive", "status", "name"),
    [("500", 500, "INTERNAL"), ("503", 503, "UNAVAILABLE"), ("context", 400, "INVALID_ARGUMENT")],
)
def test_server_and_context_errors(directive: str, status: int, name: str) -> None:
    reply = plan(request(f"x [[sim:error={directive}]]")).error
    assert reply is not None and reply.status == status and reply.error["status"] == name


def test_context_error_wording() -> None:
    message = error_of(plan(request("x [[sim:error=context]]")))["message"]
    assert message == (
        "The input token count (1048578) exceeds the maximum number of tokens allowed (1048576)."
    )


def test_midstream_error_follows_two_unfinished_chunks() -> None:
    result = plan(request("x [[sim:error=midstream]]"))
    assert result.error is None and len(result.chunks) == 2
    assert all("finishReason" not in c["candidates"][0] for c in result.chunks)
    assert result.midstream_error is not None
    assert result.midstream_error["error"]["status"] == "UNAVAILABLE"


def test_cut_keeps_n_chunks_and_no_finish() -> None:
    result = plan(request("x [[sim:cut=3]]"))
    assert len(result.chunks) == 3 and result.pacing.cut == 3
    assert all("finishReason" not in c["candidates"][0] for c in result.chunks)
    everything = plan(request("x [[sim:cut=99]]"), model=GEMINI3)
    assert all("finishReason" not in c["candidates"][0] for c in everything.chunks)


def test_events_and_size_shape_the_text_chunks() -> None:
    result = plan(request("bench [[sim:events=50,size=20]]"), model=GEMINI3)
    texts = [p["text"] for p in parts(result) if p["text"]]
    assert len(texts) == 50 and {len(t.encode()) for t in texts} == {20}
    assert len(result.chunks) == 51  # plus Gemini 3's signature-only ending


def test_pacing_directives() -> None:
    pacing = plan(request("x [[sim:stall=1.5]] [[sim:delay=250]] [[sim:gzip]]")).pacing
    assert (pacing.stall, pacing.delay, pacing.gzip, pacing.cut) == (1.5, 0.25, True, None)


def test_finish_malformed_function_call_has_no_content() -> None:
    result = plan(request("x [[sim:finish=MALFORMED_FUNCTION_CALL]]"))
    assert len(result.chunks) == 1
    candidate = last_candidate(result)
    assert "content" not in candidate and candidate["finishReason"] == "MALFORMED_FUNCTION_CALL"
    assert candidate["finishMessage"].startswith("Malformed function call:")


def test_finish_safety_ends_on_a_contentless_candidate() -> None:
    result = plan(request("x [[sim:finish=SAFETY]]"))
    assert answer(result)
    candidate = last_candidate(result)
    assert "content" not in candidate and candidate["finishReason"] == "SAFETY"
    assert candidate["safetyRatings"][0]["blocked"] is True


def test_block_has_prompt_feedback_and_no_candidates() -> None:
    result = plan(request("x [[sim:block=SAFETY]]"))
    assert len(result.chunks) == 1
    chunk = result.chunks[0]
    assert "candidates" not in chunk and chunk["promptFeedback"]["blockReason"] == "SAFETY"
    assert chunk["usageMetadata"]["promptTokenCount"] > 0


# --- the envelope and the wire ------------------------------------------------------------------


def test_unwrap_envelope() -> None:
    inner = request()
    assert unwrap_envelope({"model": "m", "project": "p", "request": inner, "requestId": "r"}) == (
        "m",
        inner,
    )
    bad = unwrap_envelope({"model": "m", "request": inner, "extra": 1})
    assert isinstance(bad, ErrorReply) and 'Unknown name "extra"' in bad.error["message"]
    assert isinstance(unwrap_envelope({"request": inner}), ErrorReply)


def test_fold_joins_text_and_moves_the_trailing_signature() -> None:
    config = {"thinkingConfig": {"includeThoughts": True}}
    streamed = plan(request("hi", generationConfig=config, tools=[{"googleSearch": {}}]), GEMINI3)
    folded = fold(streamed.chunks)
    candidate = folded["candidates"][0]
    thought, text = candidate["content"]["parts"]
    assert thought["thought"] is True
    assert text["text"] == answer(streamed)
    assert text["thoughtSignature"] == AUTHORITY.for_text(answer(streamed))
    assert candidate["finishReason"] == "STOP" and "groundingMetadata" in candidate
    assert folded["usageMetadata"] == streamed.chunks[-1]["usageMetadata"]


def test_sse_and_array_framing() -> None:
    result = plan(request())
    sse = stream_bytes(result, Flavour.GEMINI, Framing.SSE, "\r\n")
    assert len(sse.frames) == len(result.chunks) and sse.tail == b""
    assert all(f.startswith(b"data: {") and f.endswith(b"}\r\n\r\n") for f in sse.frames)
    assert orjson.loads(sse.frames[0][6:]) == result.chunks[0]
    cloud = stream_bytes(result, Flavour.CLOUD_CODE, Framing.SSE, "\n")
    first = orjson.loads(cloud.frames[0][6:])
    assert cloud.frames[0].endswith(b"}\n\n")
    assert first == {"response": result.chunks[0], "traceId": result.trace_id}
    array = stream_bytes(result, Flavour.GEMINI, Framing.JSON_ARRAY, "\r\n")
    assert array.frames[0].startswith(b"[{") and array.frames[1].startswith(b"\r\n,\r\n{")
    assert orjson.loads(b"".join(array.frames) + array.tail) == list(result.chunks)


def test_error_bodies() -> None:
    reply = ErrorReply(429, {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED"}, True)
    body = error_body(reply)
    assert body.startswith(b'[{\n  "error": {') and body.endswith(b"}\n]")
    assert orjson.loads(body) == [{"error": reply.error}]
    assert envelope({"a": 1}, Flavour.GEMINI, "t") == {"a": 1}


def test_gzip_stream_flushes_every_frame() -> None:
    encoder, decoder = GzipStream(), zlib.decompressobj(16 + zlib.MAX_WBITS)
    for frame in (b"data: one\r\n\r\n", b"data: two\r\n\r\n"):
        assert decoder.decompress(encoder.feed(frame)) == frame
    assert decoder.decompress(encoder.finish()) == b"" and decoder.eof


# --- properties -----------------------------------------------------------------------------------


@given(st.text(max_size=200), st.integers(min_value=1, max_value=6))
def test_word_pieces_concatenate_exactly(text: str, size: int) -> None:
    pieces = word_pieces(text, size)
    assert "".join(pieces) == text
    assert all(len(piece.split()) <= size for piece in pieces)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=60))
def test_grounding_segments_always_slice_the_utf8_answer(text: str) -> None:
    result = plan(request(text.replace("[", "("), tools=[{"googleSearch": {}}]))
    data = answer(result).encode()
    for support in last_candidate(result)["groundingMetadata"]["groundingSupports"]:
        segment = support["segment"]
        assert data[segment.get("startIndex", 0) : segment["endIndex"]].decode() == segment["text"]


@given(st.integers(min_value=1, max_value=60), st.booleans())
def test_usage_totals_hold_under_any_token_limit(limit: int, thoughts: bool) -> None:
    config = {"maxOutputTokens": limit, "thinkingConfig": {"includeThoughts": thoughts}}
    result = plan(request("some words to echo back", generationConfig=config))
    final = result.chunks[-1]["usageMetadata"]
    produced = final.get("candidatesTokenCount", 0) + final.get("thoughtsTokenCount", 0)
    assert produced <= limit
    assert final["totalTokenCount"] == final["promptTokenCount"] + produced
    assert final.get("candidatesTokenCount", 0) == len(answer(result).split())


# --- robustness: any JSON gets a plan (a 400 at worst), never an exception --------------------

_KEYS = [
    "contents", "role", "parts", "text", "functionCall", "functionResponse", "name", "args",
    "response", "thoughtSignature", "tools", "functionDeclarations", "parameters",
    "parametersJsonSchema", "type", "properties", "items", "anyOf", "enum", "required",
    "toolConfig", "functionCallingConfig", "mode", "generationConfig", "maxOutputTokens",
    "stopSequences", "thinkingConfig", "includeThoughts", "responseMimeType", "responseSchema",
    "systemInstruction", "googleSearch", "$ref", "$defs", "minItems", "minLength",
]  # fmt: skip
_SCALARS = st.none() | st.booleans() | st.integers(-3, 50) | st.text(max_size=6)
_JSON = st.recursive(
    _SCALARS | st.sampled_from(["user", "model", "ANY", "object", "get_weather", "[[sim:cut=1]]"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=25,
)


@given(_JSON, st.sampled_from([GEMINI3, FLASH, "claude-sonnet-4-6"]), st.sampled_from(Flavour))
def test_any_json_gets_a_plan_never_an_exception(body: Any, model: str, flavour: Flavour) -> None:
    assert isinstance(plan(body, model, flavour), Plan)


@given(_JSON)
def test_any_schema_or_config_gets_a_plan(value: Any) -> None:
    declaration = {"name": "get_weather", "parametersJsonSchema": value}
    for body in (
        request("get_weather", tools=tools(declaration)),
        request(
            "get_weather",
            generationConfig={"responseMimeType": "application/json", "responseJsonSchema": value},
        ),
        request("hi", generationConfig={"stopSequences": value, "maxOutputTokens": value}),
    ):
        assert isinstance(plan(body, GEMINI3), Plan)


def test_typed_fields_and_proto_json_integers() -> None:
    error = error_of(plan(request(generationConfig={"stopSequences": "zebra"})))
    assert (
        error["message"]
        == "Invalid value at 'generation_config.stop_sequences' (TYPE_STRING), \"zebra\""
    )
    config = {"maxOutputTokens": "3", "thinkingConfig": {"thinkingBudget": 0}}
    assert answer(plan(request("a b c", generationConfig=config))) == "You said: a"


def test_unexpected_tool_call_and_unknown_finish_reasons() -> None:
    candidate = last_candidate(
        plan(request("get_weather [[sim:finish=unexpected_tool_call]]", tools=tools(WEATHER)))
    )
    assert candidate["finishReason"] == "UNEXPECTED_TOOL_CALL"
    assert candidate["finishMessage"] == "Unexpected tool call: default_api.get_weather"
    assert "safetyRatings" not in candidate
    other = last_candidate(plan(request("x [[sim:finish=NEW_REASON]]")))
    assert other == {"finishReason": "NEW_REASON"}


def test_directive_sizes_are_bounded() -> None:
    with pytest.raises(DirectiveError):
        parse_directives("[[sim:events=100000,size=1000]]")
    with pytest.raises(DirectiveError):
        parse_directives("[[sim:events=1000000]]")
    assert parse_directives("[[sim:error=QUOTA]]")[0].error == "quota"
