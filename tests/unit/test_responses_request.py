"""Responses request → ExchangeSpec (B.1, B.2, B.5, E.5): mapping, stored items, echo, 400s."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.responses import Response, ResponseItem
from pydantic import TypeAdapter

from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.openai.chat import parse_chat_request
from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.openai.models import Catalogue
from zerogravity_proxy.openai.responses import ResponsesRequest, parse_responses_request
from zerogravity_proxy.openai.translate import DUMMY_SIGNATURE, REMOTE_IMAGE_MESSAGE
from zerogravity_proxy.signatures import SignatureCache

JSON = dict[str, Any]

GEMINI = "gemini-3-flash"
CLAUDE = "claude-opus-4-6-thinking"
CATALOGUE = Catalogue.from_specs([GEMINI, "gemini-2.5-flash", CLAUDE])
PNG = "iVBORw0KGgo="
ITEMS = TypeAdapter[Any](ResponseItem)


def parse(
    body: JSON, signatures: SignatureCache | None = None, history: Sequence[JSON] = ()
) -> ResponsesRequest:
    return parse_responses_request(
        body, catalogue=CATALOGUE, signatures=signatures or SignatureCache(), history=history
    )


def request(model: str = GEMINI, input: Any = "Hi", **fields: Any) -> ResponsesRequest:
    return parse({"model": model, "input": input, **fields})


def spec(model: str = GEMINI, input: Any = "Hi", **fields: Any) -> ExchangeSpec:
    return request(model, input, **fields).spec


def error(body: object, history: Sequence[JSON] = ()) -> OpenAIError:
    with pytest.raises(OpenAIError) as err:
        parse_responses_request(
            body, catalogue=CATALOGUE, signatures=SignatureCache(), history=history
        )
    return err.value


def bad(input: Any = "Hi", **fields: Any) -> OpenAIError:
    return error({"model": GEMINI, "input": input, **fields})


def function(name: str, parameters: Any = None, **extra: Any) -> JSON:
    return {"type": "function", "name": name, "parameters": parameters, **extra}


def user(text: str) -> JSON:
    return {"role": "user", "content": text}


def call(call_id: str, name: str, arguments: str = "{}") -> JSON:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def output(call_id: str, out: Any) -> JSON:
    return {"type": "function_call_output", "call_id": call_id, "output": out}


def reasoning(summary: str | None = None, encrypted: str | None = None) -> JSON:
    item: JSON = {"type": "reasoning", "summary": []}
    if summary is not None:
        item["summary"] = [{"type": "summary_text", "text": summary}]
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def model_parts(s: ExchangeSpec) -> list[JSON]:
    parts: list[JSON] = next(c for c in s.contents if c["role"] == "model")["parts"]
    return parts


def validate_response(model: str, echo: Mapping[str, Any]) -> Response:
    body = {
        "id": "resp_x",
        "object": "response",
        "created_at": 1,
        "model": model,
        "output": [],
        "status": "completed",
        **echo,
    }
    return Response.model_validate(body, strict=True)


WEATHER = function("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}})
TIME = function("get_time")
SEARCH = {"type": "web_search_preview"}


# --- the basics -----------------------------------------------------------------------------


def test_string_input() -> None:
    r = request()
    assert r.spec == ExchangeSpec(
        model=GEMINI,
        upstream_model=GEMINI,
        contents=[{"role": "user", "parts": [{"text": "Hi"}]}],
    )
    assert (r.stream, r.store, r.include_encrypted) == (False, True, False)
    [item] = r.input_items
    assert item == {
        "type": "message",
        "id": item["id"],
        "role": "user",
        "content": [{"type": "input_text", "text": "Hi"}],
        "status": "completed",
    }


def test_stream_store_and_include() -> None:
    r = request(
        stream=True,
        stream_options={"include_obfuscation": False},
        store=False,
        include=["reasoning.encrypted_content", "web_search_call.action.sources"],
    )
    assert (r.stream, r.store, r.include_encrypted) == (True, False, True)
    assert r.echo["store"] is False
    assert bad(stream_options={}).param == "stream_options"  # only when streaming
    assert bad(include=["x", 1]).param == "include[1]"


def test_accepted_and_ignored_fields() -> None:
    assert (
        spec(
            user="u",
            store=True,
            service_tier="flex",
            prompt_cache_key="k",
            safety_identifier="s",
            truncation="auto",
            parallel_tool_calls=False,
            max_tool_calls=3,
            previous_response_id="resp_1",
            background=False,
            include=["file_search_call.results"],
            context_management=[{"type": "compaction"}],
            text={"verbosity": "low"},
            some_vendor_extension={"x": 1},
        )
        == spec()
    )


def test_body_and_history_are_not_mutated() -> None:
    body = {
        "model": GEMINI,
        "instructions": "Be brief.",
        "input": [call("c", "get_time"), output("c", "1"), user("Thanks")],
        "tools": [TIME],
        "metadata": {"a": "b"},
    }
    history = [user("Earlier"), {"type": "message", "role": "assistant", "content": "Sure."}]
    snapshot = copy.deepcopy((body, history))
    parse(body, history=history)
    assert (body, history) == snapshot


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ([], None, None),
        ({"input": "Hi"}, "model", "missing_required_parameter"),
        ({"model": GEMINI}, "input", "missing_required_parameter"),
        ({"model": GEMINI, "input": ""}, "input", "empty_string"),
        ({"model": GEMINI, "input": []}, "input", "empty_array"),
        ({"model": GEMINI, "input": {"role": "user"}}, "input", "invalid_type"),
        ({"model": 3, "input": "Hi"}, "model", "invalid_type"),
    ],
)
def test_body_shape_errors(body: object, param: str | None, code: str | None) -> None:
    err = error(body)
    assert (err.status, err.param, err.code) == (400, param, code)


def test_unknown_model_is_404_model_not_found() -> None:
    err = error({"model": "gpt-4o", "input": "Hi"})
    assert (err.status, err.code, err.param) == (404, "model_not_found", "model")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("background", True),
        ("conversation", "conv_1"),
        ("conversation", {"id": "conv_1"}),
        ("prompt", {"id": "pmpt_1"}),
    ],
)
def test_stateful_features_are_refused(field: str, value: Any) -> None:
    err = bad(**{field: value})
    assert (err.status, err.param, err.code) == (400, field, "unsupported_value")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"instructions": 1}, "instructions"),
        ({"store": "yes"}, "store"),
        ({"stream": 1}, "stream"),
        ({"user": 1}, "user"),
        ({"previous_response_id": 1}, "previous_response_id"),
        ({"truncation": "middle"}, "truncation"),
        ({"parallel_tool_calls": "no"}, "parallel_tool_calls"),
        ({"max_tool_calls": -1}, "max_tool_calls"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"max_output_tokens": 1.5}, "max_output_tokens"),
        ({"temperature": 3}, "temperature"),
        ({"top_p": "1"}, "top_p"),
        ({"top_logprobs": 21}, "top_logprobs"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"reasoning": "high"}, "reasoning"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"reasoning": {"summary": "long"}}, "reasoning.summary"),
        ({"reasoning": {"generate_summary": 1}}, "reasoning.generate_summary"),
        ({"text": "json"}, "text"),
        ({"text": {"verbosity": "loud"}}, "text.verbosity"),
        ({"text": {"format": {"type": "xml"}}}, "text.format.type"),
        ({"text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
        ({"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
        (
            {"text": {"format": {"type": "json_schema", "name": "x", "schema": "{}"}}},
            "text.format.schema",
        ),
    ],
)
def test_field_errors_name_the_param(fields: JSON, param: str) -> None:
    err = bad(**fields)
    assert (err.status, err.type, err.param) == (400, "invalid_request_error", param)


# --- messages -------------------------------------------------------------------------------


def test_message_items_with_images_and_files() -> None:
    items = [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {
                    "type": "input_image",
                    "image_url": f"data:image/png;base64,{PNG}",
                    "detail": "high",
                },
                {"type": "input_file", "filename": "a.pdf", "file_data": PNG},
                {"type": "input_file", "file_data": f"data:text/plain;base64,{PNG}"},
                {"type": "input_audio", "input_audio": {"data": PNG, "format": "wav"}},
            ],
        },
        {"role": "user", "content": [{"type": "input_image", "image_url": f"data:image/jpeg;base64,{PNG}", "detail": "original"}]},
    ]  # fmt: skip
    s = spec(input=items)
    assert s.contents == [
        {
            "role": "user",
            "parts": [
                {"text": "What is this?"},
                {
                    "inlineData": {"mimeType": "image/png", "data": PNG},
                    "mediaResolution": {"level": "MEDIA_RESOLUTION_HIGH"},
                },
                {"inlineData": {"mimeType": "application/pdf", "data": PNG}},
                {"inlineData": {"mimeType": "text/plain", "data": PNG}},
                {"inlineData": {"mimeType": "audio/wav", "data": PNG}},
                {
                    "inlineData": {"mimeType": "image/jpeg", "data": PNG},
                    "mediaResolution": {"level": "MEDIA_RESOLUTION_HIGH"},
                },
            ],
        }
    ]
    # media resolution is a Gemini 3 control only
    assert "mediaResolution" not in spec("gemini-2.5-flash", items).contents[0]["parts"][1]


@pytest.mark.parametrize("url", ["http://example.com/a.png", "HTTPS://example.com/a.png"])
def test_remote_image_is_refused_like_chat(url: str) -> None:
    part = {"type": "input_image", "image_url": url, "detail": "auto"}
    content = [{"type": "input_text", "text": "Look"}, part]
    err = bad(input=[user("first"), {"role": "user", "content": content}])
    assert (err.status, err.param) == (400, "input[1].content[1].image_url")
    chat = error_of_chat({"type": "image_url", "image_url": {"url": url}})
    assert (err.message, err.code) == (REMOTE_IMAGE_MESSAGE, chat.code)


def error_of_chat(part: JSON) -> OpenAIError:
    body = {"model": GEMINI, "messages": [{"role": "user", "content": [part]}]}
    with pytest.raises(OpenAIError) as err:
        parse_chat_request(body, catalogue=CATALOGUE, signatures=SignatureCache())
    return err.value


@pytest.mark.parametrize(
    ("part", "param", "code"),
    [
        ({"type": "input_image", "file_id": "file-1", "detail": "auto"}, "input[0].content[0].file_id", "unsupported_value"),
        ({"type": "input_image", "detail": "auto"}, "input[0].content[0].image_url", "missing_required_parameter"),
        ({"type": "input_image", "image_url": "data:image/png,abc"}, "input[0].content[0].image_url", "invalid_value"),
        ({"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "max"}, "input[0].content[0].detail", "invalid_value"),
        ({"type": "input_file", "file_id": "file-1"}, "input[0].content[0].file_data", "unsupported_value"),
        ({"type": "input_file", "file_url": "https://x/a.pdf"}, "input[0].content[0].file_data", "unsupported_value"),
        ({"type": "input_file", "file_data": "not base64!"}, "input[0].content[0].file_data", "invalid_value"),
        ({"type": "input_text"}, "input[0].content[0].text", "missing_required_parameter"),
        ({"type": "output_text", "text": "x"}, "input[0].content[0].type", "invalid_value"),
        ({"type": "text", "text": "x"}, "input[0].content[0].type", "invalid_value"),
        ("Hi", "input[0].content[0]", "invalid_type"),
    ],
)  # fmt: skip
def test_bad_user_parts(part: Any, param: str, code: str) -> None:
    err = bad(input=[{"role": "user", "content": [part]}])
    assert (err.status, err.param, err.code) == (400, param, code)


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ("Hi", "input[0]"),
        ({"content": "Hi"}, "input[0].type"),
        ({"type": "message", "role": "tool", "content": "x"}, "input[0].role"),
        ({"role": "user"}, "input[0].content"),
        ({"role": "user", "content": 3}, "input[0].content"),
        ({"role": "system", "content": [{"type": "input_image", "image_url": "x"}]}, "input[0].content[0].type"),
        ({"role": "assistant", "content": [{"type": "refusal"}]}, "input[0].content[0].refusal"),
        ({"type": "message", "role": "user", "content": "x", "status": "done"}, "input[0].status"),
        ({"type": "message", "role": "user", "content": "x", "id": 7}, "input[0].id"),
        ({"type": "item_reference", "id": "msg_1"}, "input[0].type"),
        ({"type": "file_search_call", "id": "fs_1"}, "input[0].type"),
        ({"type": "function_call", "name": "f", "arguments": "{}"}, "input[0].call_id"),
        ({"type": "function_call", "call_id": "c", "arguments": "{}"}, "input[0].name"),
        ({"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}, "input[0].arguments"),
        ({"type": "reasoning", "summary": [{"type": "reasoning_text", "text": "x"}]}, "input[0].summary[0].type"),
        ({"type": "reasoning", "summary": [], "encrypted_content": 5}, "input[0].encrypted_content"),
    ],
)  # fmt: skip
def test_bad_items(item: Any, param: str) -> None:
    err = bad(input=[item])
    assert (err.status, err.param) == (400, param)


def test_item_reference_says_it_is_not_supported() -> None:
    err = bad(input=[{"type": "item_reference", "id": "msg_1"}])
    assert err.code == "unsupported_value"
    assert "previous_response_id" in err.message


def test_instructions_then_system_and_developer_messages_become_the_system_instruction() -> None:
    items = [
        {"role": "system", "content": "Sys."},
        user("Hi"),
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Dev."}, {"type": "input_text", "text": ""}]},
        user("Again"),
    ]  # fmt: skip
    s = spec(input=items, instructions="Instr.")
    assert s.system_instruction == {
        "parts": [{"text": "Instr."}, {"text": "Sys."}, {"text": "Dev."}]
    }
    # the system messages leave their place, and the user turns around them merge
    assert s.contents == [{"role": "user", "parts": [{"text": "Hi"}, {"text": "Again"}]}]


def test_only_system_input_gives_a_placeholder_user_turn() -> None:
    s = spec(input=[{"role": "developer", "content": "Dev."}])
    assert s.contents == [{"role": "user", "parts": [{"text": " "}]}]


def test_assistant_messages_are_model_turns() -> None:
    items = [
        user("Hi"),
        {"role": "assistant", "content": "Hello."},
        {
            "type": "message",
            "id": "msg_old",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": "Cited.", "annotations": []},
                {"type": "refusal", "refusal": "No."},
                {"type": "input_text", "text": "Easy."},
            ],
        },
        user("Bye"),
    ]
    assert spec(input=items).contents == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello."}, {"text": "Cited."}, {"text": "No."}, {"text": "Easy."}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]  # fmt: skip


# --- the tool loop --------------------------------------------------------------------------


def loop(model: str, signatures: SignatureCache, *, thought: JSON | None = None) -> ExchangeSpec:
    """A replayed parallel tool turn, as a stateless client sends it."""
    items = [
        user("Weather and time in Oslo?"),
        *([thought] if thought else []),
        call("call_1", "get_weather", '{"city": "Oslo"}'),
        call("call_2", "get_time"),
        output("call_1", '{"temp": 3}'),
        output("call_2", [{"type": "input_text", "text": "12:"}, {"type": "input_text", "text": "00"}]),
        user("Thanks"),
    ]  # fmt: skip
    body = {"model": model, "input": items, "tools": [WEATHER, TIME]}
    return parse(body, signatures).spec


def signatures_of(s: ExchangeSpec) -> list[str | None]:
    return [p.get("thoughtSignature") for p in model_parts(s) if "functionCall" in p]


def test_full_tool_loop_replay() -> None:
    signatures = SignatureCache()
    signatures.put("call_1", "sig-A", GEMINI)
    s = loop(GEMINI, signatures, thought=reasoning("Looking up.", "sig-from-item"))
    assert s.contents == [
        {"role": "user", "parts": [{"text": "Weather and time in Oslo?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Looking up.", "thought": True},
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1"},
                    "thoughtSignature": "sig-A",  # the cache wins over the reasoning item
                },
                {"functionCall": {"name": "get_time", "args": {}, "id": "call_2"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "get_weather", "id": "call_1", "response": {"result": {"temp": 3}}}},
                {"functionResponse": {"name": "get_time", "id": "call_2", "response": {"result": "12:00"}}},
                {"text": "Thanks"},
            ],
        },
    ]  # fmt: skip
    assert s.tools == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
                {"name": "get_time"},  # no arguments: no parameters
            ]
        }
    ]


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
def test_reasoning_signature_goes_to_the_next_call_on_a_cache_miss(model: str) -> None:
    s = loop(model, SignatureCache(), thought=reasoning(encrypted="sig-from-item"))
    assert signatures_of(s) == ["sig-from-item", None]


def test_cache_miss_without_reasoning_dummy_on_first_call_for_gemini_only() -> None:
    signatures = SignatureCache()
    signatures.put("call_1", "sig-for-another-model", "gemini-2.5-flash")
    assert signatures_of(loop(GEMINI, signatures)) == [DUMMY_SIGNATURE, None]
    assert signatures_of(loop("gemini-2.5-flash", SignatureCache())) == [DUMMY_SIGNATURE, None]
    assert signatures_of(loop(CLAUDE, SignatureCache())) == [None, None]


def test_claude_gets_its_cached_signature_and_no_thought_parts() -> None:
    signatures = SignatureCache()
    signatures.put("call_2", "claude-sig", CLAUDE)
    s = loop(CLAUDE, signatures, thought=reasoning("Thinking.", None))
    assert model_parts(s)[0] == {
        "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}, "id": "call_1"}
    }
    assert signatures_of(s) == [None, "claude-sig"]


def test_reasoning_signature_does_not_cross_a_user_turn() -> None:
    items = [
        user("Time?"),
        reasoning(encrypted="sig-1"),
        {"role": "assistant", "content": "Let me check."},  # same model turn: kept
        call("a", "get_time"),
        output("a", "1"),
        reasoning(encrypted="sig-unused"),
        user("Again?"),  # ends the turn: the pending signature is dropped
        call("b", "get_time"),
        output("b", "2"),
    ]
    s = parse({"model": GEMINI, "input": items, "tools": [TIME]}).spec
    signed = [
        p.get("thoughtSignature") for c in s.contents for p in c["parts"] if "functionCall" in p
    ]
    assert signed == ["sig-1", DUMMY_SIGNATURE]


def fc(call_id: str, signature: str | None = None) -> JSON:
    part: JSON = {"functionCall": {"name": "get_time", "args": {}, "id": call_id}}
    return part | ({"thoughtSignature": signature} if signature else {})


def fr(call_id: str, result: Any) -> JSON:
    return {"functionResponse": {"name": "get_time", "id": call_id, "response": {"result": result}}}


def test_parallel_calls_replayed_pair_by_pair_are_one_model_and_one_user_turn() -> None:
    items = [
        user("Times?"),
        call("a", "get_time"),
        output("a", "1"),
        call("b", "get_time"),
        output("b", "2"),
        call("c", "get_time"),
        call("d", "get_time"),
        output("d", "4"),
        output("c", "3"),
        user("Thanks"),
    ]
    s = parse({"model": GEMINI, "input": items, "tools": [TIME]}).spec
    assert s.contents == [
        {"role": "user", "parts": [{"text": "Times?"}]},
        {"role": "model", "parts": [fc("a", DUMMY_SIGNATURE), fc("b"), fc("c"), fc("d")]},
        {"role": "user", "parts": [fr("a", 1), fr("b", 2), fr("c", 3), fr("d", 4), {"text": "Thanks"}]},
    ]  # fmt: skip


def test_regrouped_parallel_calls_keep_the_real_signature_on_the_first() -> None:
    signatures = SignatureCache()
    signatures.put("a", "sig-a", GEMINI)
    items = [reasoning("Thinking."), call("a", "get_time"), output("a", "1")]
    items += [call("b", "get_time"), output("b", "2")]
    s = parse({"model": GEMINI, "input": [user("Hi"), *items], "tools": [TIME]}, signatures).spec
    assert s.contents[1:] == [
        {"role": "model", "parts": [{"text": "Thinking.", "thought": True}, fc("a", "sig-a"), fc("b")]},
        {"role": "user", "parts": [fr("a", 1), fr("b", 2)]},
    ]  # fmt: skip


def test_sequential_steps_stay_separate_turns() -> None:
    signatures = SignatureCache()
    signatures.put("a", "sig-a", GEMINI)
    signatures.put("b", "sig-b", GEMINI)
    items = [user("Hi"), call("a", "get_time"), output("a", "1"), call("b", "get_time")]
    items += [output("b", "2"), reasoning(encrypted="sig-c"), call("c", "get_time")]
    items += [output("c", "3")]
    s = parse({"model": GEMINI, "input": items, "tools": [TIME]}, signatures).spec
    assert s.contents[1:] == [
        {"role": "model", "parts": [fc("a", "sig-a")]},
        {"role": "user", "parts": [fr("a", 1)]},
        {"role": "model", "parts": [fc("b", "sig-b")]},
        {"role": "user", "parts": [fr("b", 2)]},
        {"role": "model", "parts": [fc("c", "sig-c")]},
        {"role": "user", "parts": [fr("c", 3)]},
    ]


def test_a_run_continues_from_history_into_input() -> None:
    history = [user("Hi"), call("a", "get_time"), output("a", "1"), call("b", "get_time")]
    s = parse({"model": GEMINI, "input": [output("b", "2")], "tools": [TIME]}, None, history).spec
    assert s.contents[1:] == [
        {"role": "model", "parts": [fc("a", DUMMY_SIGNATURE), fc("b")]},
        {"role": "user", "parts": [fr("a", 1), fr("b", 2)]},
    ]


@pytest.mark.parametrize(
    ("out", "result"),
    [
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("42", 42),
        ("plain", "plain"),
        ("", ""),
        ([], ""),
        ([{"type": "input_text", "text": "[1,"}, {"type": "input_text", "text": "2]"}], [1, 2]),
    ],
)
def test_function_call_output_is_parsed_json_or_the_text(out: Any, result: Any) -> None:
    s = spec(input=[call("c", "get_time"), output("c", out)], tools=[TIME])
    assert s.contents[-1]["parts"] == [
        {"functionResponse": {"name": "get_time", "id": "c", "response": {"result": result}}}
    ]


@pytest.mark.parametrize(
    ("item", "param"),
    [
        (output("zzz", "1"), "input[1].call_id"),
        ({"type": "function_call_output", "output": "1"}, "input[1].call_id"),
        ({"type": "function_call_output", "call_id": "c"}, "input[1].output"),
        (output("c", 5), "input[1].output"),
        (output("c", [{"type": "input_image", "image_url": "x"}]), "input[1].output[0].type"),
    ],
)
def test_bad_function_call_outputs(item: JSON, param: str) -> None:
    err = bad(input=[call("c", "get_time"), item], tools=[TIME])
    assert (err.status, err.param) == (400, param)


def test_object_arguments_are_accepted() -> None:
    item = {"type": "function_call", "call_id": "c", "name": "f", "arguments": {"x": 1}}
    r = request(CLAUDE, [item])
    assert model_parts(r.spec) == [{"functionCall": {"name": "f", "args": {"x": 1}, "id": "c"}}]
    assert r.input_items[0]["arguments"] == '{"x":1}'


# --- history (previous_response_id) ---------------------------------------------------------


def test_history_comes_first_and_instructions_are_not_inherited() -> None:
    history: list[JSON] = [
        {"type": "message", "id": "msg_1", "role": "user", "status": "completed", "content": [{"type": "input_text", "text": "Time?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "sig-stored"},
        {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "get_time", "arguments": "{}", "status": "completed"},
    ]  # fmt: skip
    body = {
        "model": GEMINI,
        "previous_response_id": "resp_1",
        "input": [output("call_9", "12:00")],  # names the call stored in history
        "tools": [TIME],
    }
    r = parse(body, history=history)
    assert r.spec.system_instruction is None
    assert r.spec.contents == [
        {"role": "user", "parts": [{"text": "Time?"}]},
        {"role": "model", "parts": [{"functionCall": {"name": "get_time", "args": {}, "id": "call_9"}, "thoughtSignature": "sig-stored"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_time", "id": "call_9", "response": {"result": "12:00"}}}]},
    ]  # fmt: skip
    assert [item["type"] for item in r.input_items] == ["function_call_output"]
    assert r.echo["previous_response_id"] == "resp_1"
    with_instructions = parse({**body, "instructions": "New."}, history=history).spec
    assert with_instructions.system_instruction == {"parts": [{"text": "New."}]}


def test_an_error_in_history_names_the_history_item() -> None:
    err = error({"model": GEMINI, "input": "Hi"}, history=[{"type": "nope"}])
    assert err.param == "history[0].type"


def test_web_search_calls_in_replayed_output_are_skipped() -> None:
    ws = {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}}  # fmt: skip
    items = [user("News?"), ws, {"role": "assistant", "content": "Here."}]
    r = request(input=items, tools=[SEARCH])
    assert r.spec.contents == [
        {"role": "user", "parts": [{"text": "News?"}]},
        {"role": "model", "parts": [{"text": "Here."}]},
    ]
    assert r.input_items[1] == ws


# --- tools ----------------------------------------------------------------------------------


def test_function_tools_are_sanitized_declarations() -> None:
    weather = function(
        "get_weather",
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"city": {"type": ["string", "null"], "format": "email"}},
            "additionalProperties": False,
        },
        description="Forecast.",
        strict=True,
    )
    s = spec(tools=[weather])
    assert s.tools == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Forecast.",
                    "parameters": {
                        "type": "object",
                        "properties": {"city": {"type": "string", "nullable": True}},
                    },
                }
            ]
        }
    ]
    assert s.tool_config is None


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ("f", "tools"),
        (["f"], "tools[0]"),
        ([TIME, {"type": "function"}], "tools[1].name"),
        ([TIME, SEARCH, function("1bad")], "tools[2].name"),  # before the combination
        ([TIME, function("1bad")], "tools[1].name"),
        ([TIME, {"type": "function", "name": "get_time"}], "tools[1].name"),
        ([TIME, function("f", "object")], "tools[1].parameters"),
        ([TIME, function("f", None, description=1)], "tools[1].description"),
        ([function("f", None, strict="yes")], "tools[0].strict"),
        ([{"type": "function", "function": {"name": "chat_shape"}}], "tools[0].name"),
        ([TIME, {"type": "file_search", "vector_store_ids": []}], "tools[1].type"),
        ([{"type": "mcp", "server_label": "x"}], "tools[0].type"),
        ([{"type": "computer_use_preview"}], "tools[0].type"),
        ([{"type": "custom", "name": "apply_patch"}], "tools[0].type"),
    ],
)
def test_bad_tools(tools: Any, param: str) -> None:
    err = bad(tools=tools)
    assert (err.status, err.param) == (400, param)
    assert "functions[" not in err.message


def test_renumbered_messages_name_the_tool_as_written() -> None:
    err = bad(tools=[TIME, function("bad name")])
    assert err.message.startswith("Invalid 'tools[1].name'")
    assert bad(tools=[WEATHER, TIME, TIME]).param == "tools[2].name"  # a duplicate


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search_preview", "search_context_size": "low"},
        {"type": "web_search_preview_2025_03_11"},
        {"type": "web_search", "filters": {"allowed_domains": ["example.com"]}},
        {"type": "web_search_2025_08_26"},
    ],
)
def test_web_search_alone_is_google_search(tool: JSON) -> None:
    r = request(tools=[tool, tool])
    assert (r.spec.tools, r.spec.tool_config) == ([{"googleSearch": {}}], None)
    assert r.echo["tools"] == [tool, tool]


@pytest.mark.parametrize(
    ("choice", "tools"),
    [
        ("auto", [{"googleSearch": {}}]),
        ("required", [{"googleSearch": {}}]),  # cannot be forced; the model decides
        ({"type": "web_search_preview"}, [{"googleSearch": {}}]),
        ({"type": "allowed_tools", "mode": "required", "tools": [SEARCH]}, [{"googleSearch": {}}]),
        ("none", None),
    ],
)
def test_tool_choice_with_web_search(choice: Any, tools: list[JSON] | None) -> None:
    s = spec(tools=[SEARCH], tool_choice=choice)
    assert (s.tools, s.tool_config) == (tools, None)


def test_web_search_with_functions_is_refused() -> None:
    err = bad(tools=[WEATHER, SEARCH])
    assert (err.status, err.code, err.param) == (400, "unsupported_tool_combination", "tools")
    assert "googleSearch" in err.message


@pytest.mark.parametrize(
    ("model", "choice", "config"),
    [
        (GEMINI, "none", {"functionCallingConfig": {"mode": "NONE"}}),
        (GEMINI, "auto", {"functionCallingConfig": {"mode": "AUTO"}}),
        (GEMINI, "required", {"functionCallingConfig": {"mode": "ANY"}}),
        (CLAUDE, None, {"functionCallingConfig": {"mode": "VALIDATED"}}),
        (
            GEMINI,
            {"type": "function", "name": "get_time"},
            {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}},
        ),
        (
            GEMINI,
            {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "get_time"}]},
            {"functionCallingConfig": {"mode": "VALIDATED", "allowedFunctionNames": ["get_time"]}},
        ),
        (
            GEMINI,
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_weather"}]},
            {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        ),
    ],
)  # fmt: skip
def test_tool_choice(model: str, choice: Any, config: JSON) -> None:
    assert spec(model, tools=[WEATHER, TIME], tool_choice=choice).tool_config == config


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": "any"}, "tool_choice"),
        ({"tool_choice": 1}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),  # without tools
        ({"tools": [TIME], "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice.name"),
        ({"tools": [TIME], "tool_choice": {"type": "function", "function": {"name": "get_time"}}}, "tool_choice.name"),
        ({"tools": [TIME], "tool_choice": {"type": "file_search"}}, "tool_choice.type"),
        ({"tools": [TIME], "tool_choice": {"type": "web_search_preview"}}, "tool_choice"),
        ({"tools": [SEARCH], "tool_choice": {"type": "function", "name": "get_time"}}, "tool_choice.name"),
        ({"tools": [TIME], "tool_choice": {"type": "allowed_tools", "mode": "none", "tools": []}}, "tool_choice.mode"),
        ({"tools": [TIME], "tool_choice": {"type": "allowed_tools", "mode": "auto"}}, "tool_choice.tools"),
        ({"tools": [TIME], "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "x"}]}}, "tool_choice.tools[0].name"),
        ({"tools": [TIME], "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [SEARCH]}}, "tool_choice.tools[0].type"),
        ({"tools": [TIME], "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": ["x"]}}, "tool_choice.tools[0]"),
    ],
)  # fmt: skip
def test_bad_tool_choice(fields: JSON, param: str) -> None:
    err = bad(**fields)
    assert (err.status, err.param) == (400, param)


# --- generation config ----------------------------------------------------------------------


def test_text_format_json_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"b": {"type": "string"}, "a": {"type": "integer"}},
        "required": ["b", "a"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}
    r = request(text={"format": fmt})
    assert r.spec.generation_config == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "object",
            "properties": {"b": {"type": "string"}, "a": {"type": "integer"}},
            "required": ["b", "a"],
            "propertyOrdering": ["b", "a"],
        },
    }
    assert r.echo["text"] == {"format": fmt}


def test_text_format_json_object_and_text() -> None:
    r = request(text={"format": {"type": "json_object"}, "verbosity": "high"})
    assert r.spec.generation_config == {"responseMimeType": "application/json"}
    assert r.echo["text"] == {"format": {"type": "json_object"}, "verbosity": "high"}
    assert spec(text={"format": {"type": "text"}}) == spec()


@pytest.mark.parametrize(
    ("model", "reasoning", "thinking"),
    [
        (GEMINI, None, None),
        (GEMINI, {}, None),
        (GEMINI, {"summary": "auto"}, {"includeThoughts": True}),
        (GEMINI, {"generate_summary": "concise"}, {"includeThoughts": True}),
        (GEMINI, {"effort": "low"}, {"includeThoughts": False, "thinkingLevel": "low"}),
        (GEMINI, {"effort": "xhigh", "summary": "detailed"}, {"includeThoughts": True, "thinkingLevel": "high"}),
        (GEMINI, {"effort": "none", "summary": "auto"}, {"includeThoughts": False, "thinkingLevel": "minimal"}),
        ("gemini-2.5-flash", {"effort": "medium", "summary": "auto"}, {"includeThoughts": True, "thinkingBudget": 8192}),
        ("gemini-2.5-flash", {"effort": "none"}, {"includeThoughts": False, "thinkingBudget": 0}),
        (CLAUDE, {"effort": "minimal", "summary": "auto"}, {"includeThoughts": True, "thinkingBudget": 1024}),
        (CLAUDE, {"effort": "none", "summary": "auto"}, None),
        (CLAUDE, {}, None),
    ],
)  # fmt: skip
def test_reasoning_effort_and_summary(
    model: str, reasoning: JSON | None, thinking: JSON | None
) -> None:
    config = spec(model, reasoning=reasoning).generation_config
    assert config == (None if thinking is None else {"thinkingConfig": thinking})


def test_generation_parameters() -> None:
    s = spec(max_output_tokens=500, temperature=0.5, top_p=0.9, top_logprobs=3)
    assert s.generation_config == {
        "temperature": 0.5,
        "topP": 0.9,
        "maxOutputTokens": 500,
        "responseLogprobs": True,
        "logprobs": 3,
    }
    only_include = spec(include=["message.output_text.logprobs"]).generation_config
    assert only_include == {"responseLogprobs": True}


def test_claude_output_cap_and_thinking_budget_fit() -> None:
    config = spec(CLAUDE, max_output_tokens=100_000).generation_config
    assert config == {"maxOutputTokens": 64_000}
    config = spec(CLAUDE, max_output_tokens=2000, reasoning={"effort": "high"}).generation_config
    assert config == {
        "maxOutputTokens": 2000,
        "thinkingConfig": {"includeThoughts": False, "thinkingBudget": 1999},
    }


def test_metadata_becomes_labels() -> None:
    r = request(metadata={"team": "core", "run": "7"})
    assert r.spec.labels == r.echo["metadata"] == {"team": "core", "run": "7"}
    assert bad(metadata={"k" * 65: "v"}).param == "metadata." + "k" * 65


# --- stored input items ---------------------------------------------------------------------

ID_FORMAT = re.compile(r"(msg|fc|fco|rs)_[0-9a-f]{24}")


def test_input_items_are_normalised_with_ids() -> None:
    items = [
        user("Hi"),
        {"role": "system", "content": "Sys."},
        {"role": "assistant", "content": "Hello."},
        {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"}]},
        reasoning("Hmm.", "sig"),
        call("c1", "get_time"),
        {**call("c2", "get_time"), "id": "fc_given", "status": "completed"},
        output("c1", "1"),
        output("c2", [{"type": "input_text", "text": "2"}]),
    ]  # fmt: skip
    r = request(input=items, tools=[TIME])
    stored = r.input_items
    ids = [item["id"] for item in stored]
    assert len(set(ids)) == len(ids)
    prefixes = [i.split("_")[0] for i in ids]
    assert prefixes == ["msg", "msg", "msg", "msg", "rs", "fc", "fc", "fco", "fco"]
    assert ids[6] == "fc_given"
    assert all(ID_FORMAT.fullmatch(i) for i in ids if i != "fc_given")
    assert stored[0] == {"type": "message", "id": ids[0], "role": "user", "status": "completed", "content": [{"type": "input_text", "text": "Hi"}]}  # fmt: skip
    assert stored[1]["content"] == [{"type": "input_text", "text": "Sys."}]
    assert stored[2] == {"type": "message", "id": ids[2], "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "Hello.", "annotations": []}]}  # fmt: skip
    assert stored[3]["content"] == [
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"}
    ]
    assert stored[4] == {**reasoning("Hmm.", "sig"), "id": ids[4]}
    assert stored[5] == {**call("c1", "get_time"), "id": ids[5], "status": "completed"}
    assert stored[7] == {**output("c1", "1"), "id": ids[7], "status": "completed"}
    for item in stored:  # what GET /v1/responses/{id}/input_items lists
        ITEMS.validate_python(item, strict=True)


def test_given_item_ids_are_kept() -> None:
    item = {"type": "message", "id": "msg_mine", "role": "assistant", "status": "incomplete", "content": "x"}  # fmt: skip
    [stored] = request(input=[user("Hi"), item]).input_items[1:]
    assert (stored["id"], stored["status"]) == ("msg_mine", "incomplete")


def test_ids_are_fresh_per_request() -> None:
    assert request().input_items[0]["id"] != request().input_items[0]["id"]


# --- the echo -------------------------------------------------------------------------------


def test_echo_defaults() -> None:
    echo = request().echo
    assert echo == {
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "user": None,
        "store": True,
        "service_tier": "default",
        "background": False,
        "top_logprobs": None,
    }
    response = validate_response(GEMINI, echo)
    assert response.tool_choice == "auto" and response.temperature == 1.0


def test_echo_of_a_full_request_validates_strictly() -> None:
    tool = function("get_time", {"type": "object", "properties": {}}, strict=False)
    choice = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]}  # fmt: skip
    fmt = {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "description": "d"}
    echo = request(
        instructions="Be brief.",
        max_output_tokens=100,
        max_tool_calls=2,
        metadata={"k": "v"},
        parallel_tool_calls=False,
        previous_response_id="resp_0",
        reasoning={"effort": "low", "summary": "auto"},
        temperature=0,
        top_p=0.5,
        text={"format": fmt, "verbosity": "low"},
        tool_choice=choice,
        tools=[tool, function("bare")],
        truncation="auto",
        user="u1",
        store=False,
        service_tier="priority",
        top_logprobs=2,
    ).echo
    assert echo["tools"] == [
        {"type": "function", "name": "get_time", "description": None, "parameters": {"type": "object", "properties": {}}, "strict": False},
        {"type": "function", "name": "bare", "description": None, "parameters": None, "strict": None},
    ]  # fmt: skip
    assert (echo["temperature"], echo["top_p"], echo["top_logprobs"]) == (0, 0.5, 2)
    assert (echo["parallel_tool_calls"], echo["store"], echo["truncation"]) == (
        False,
        False,
        "auto",
    )
    response = validate_response(GEMINI, echo)
    assert response.reasoning is not None and response.reasoning.summary == "auto"
    assert response.max_tool_calls == 2 and response.service_tier == "default"


def test_echo_with_web_search_validates_strictly() -> None:
    tool = {"type": "web_search_preview", "search_context_size": "high"}
    echo = request(tools=[tool], tool_choice={"type": "web_search_preview"}).echo
    validate_response(GEMINI, echo)


# --- robustness -----------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-3, 3) | st.text(max_size=4)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


def fuzzed(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly plausible values, sometimes anything: deep paths get reached and still fuzzed."""
    return st.one_of(*[plausible] * 9, values)


texts = st.text(max_size=4)
parts = st.fixed_dictionaries(
    {
        "type": fuzzed(
            st.sampled_from(["input_text", "output_text", "refusal", "input_image", "input_file"])
        )
    },
    optional={
        "text": fuzzed(texts),
        "refusal": fuzzed(texts),
        "image_url": fuzzed(
            st.sampled_from([f"data:image/png;base64,{PNG}", "https://x", "data:x"])
        ),
        "detail": fuzzed(st.sampled_from(["auto", "original", "x"])),
        "file_data": fuzzed(st.just(PNG)),
        "file_id": values,
    },
)
call_ids = fuzzed(st.sampled_from(["a", "b"]))
items = st.one_of(
    st.fixed_dictionaries(
        {
            "role": fuzzed(st.sampled_from(["user", "system", "developer", "assistant"])),
            "content": fuzzed(texts | st.lists(parts, max_size=3)),
        },
        optional={
            "type": st.just("message"),
            "id": fuzzed(texts),
            "status": fuzzed(st.just("completed")),
        },
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("function_call"),
            "call_id": call_ids,
            "name": fuzzed(st.sampled_from(["f", "g"])),
        },
        optional={
            "arguments": fuzzed(st.sampled_from(["{}", '{"x": 1}', "", "oops"])),
            "id": fuzzed(texts),
        },
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("function_call_output"),
            "call_id": call_ids,
            "output": fuzzed(texts | st.lists(parts, max_size=2)),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.just("reasoning")},
        optional={
            "summary": fuzzed(
                st.lists(
                    st.fixed_dictionaries({"type": st.just("summary_text"), "text": texts}),
                    max_size=2,
                )
            ),
            "encrypted_content": fuzzed(texts),
        },
    ),
    st.fixed_dictionaries(
        {"type": fuzzed(st.sampled_from(["item_reference", "web_search_call"]))},
        optional={"id": values},
    ),
    values,
)
tools = st.fixed_dictionaries(
    {"type": fuzzed(st.sampled_from(["function", "web_search_preview", "file_search"]))},
    optional={
        "name": fuzzed(st.sampled_from(["f", "g", "1"])),
        "parameters": fuzzed(st.just({"type": "object"})),
        "strict": fuzzed(st.booleans()),
        "description": fuzzed(texts),
    },
)
plausible = {
    "instructions": texts,
    "temperature": st.floats(0, 2),
    "top_p": st.floats(0, 1),
    "max_output_tokens": st.integers(1, 100_000),
    "top_logprobs": st.integers(0, 20),
    "metadata": st.dictionaries(texts, texts, max_size=3),
    "include": st.lists(
        st.sampled_from(["reasoning.encrypted_content", "message.output_text.logprobs"])
    ),
    "stream": st.booleans(),
    "store": st.booleans(),
    "background": st.just(False),
    "truncation": st.sampled_from(["auto", "disabled"]),
    "parallel_tool_calls": st.booleans(),
    "max_tool_calls": st.integers(0, 5),
    "user": texts,
    "previous_response_id": texts,
    "tools": st.lists(tools, max_size=3),
    "tool_choice": st.sampled_from(
        [
            "auto",
            "none",
            "required",
            {"type": "function", "name": "f"},
            {"type": "web_search_preview"},
        ]
    ),
    "text": st.fixed_dictionaries(
        {},
        optional={
            "format": st.fixed_dictionaries(
                {"type": st.sampled_from(["text", "json_object", "json_schema"])},
                optional={"name": fuzzed(texts), "schema": fuzzed(st.just({"type": "object"}))},
            )
        },
    ),
    "reasoning": st.fixed_dictionaries(
        {},
        optional={
            "effort": fuzzed(st.sampled_from(["low", "none"])),
            "summary": fuzzed(st.just("auto")),
        },
    ),
}


def bodies(
    wrap: Callable[[st.SearchStrategy[Any]], st.SearchStrategy[Any]],
) -> st.SearchStrategy[JSON]:
    return st.fixed_dictionaries(
        {"model": st.sampled_from([GEMINI, GEMINI, "gemini-2.5-flash", CLAUDE, "nope"]), "input": wrap(st.text(min_size=1, max_size=4) | st.lists(items, min_size=1, max_size=4))},
        optional={
            **{key: wrap(strategy) for key, strategy in plausible.items()},
            **{key: wrap(st.none()) for key in ["stream_options", "conversation", "prompt", "service_tier"]},
        },
    )  # fmt: skip


# Plausible top-level fields with fuzzed items and tools reach the deep paths; fuzzed
# top-level fields reach the early checks.
any_body = bodies(lambda s: s) | bodies(fuzzed) | values


@settings(max_examples=500)
@given(any_body, st.lists(items, max_size=3))
def test_any_body_is_a_request_or_a_4xx(body: object, history: list[JSON]) -> None:
    try:
        r = parse_responses_request(
            body, catalogue=CATALOGUE, signatures=SignatureCache(), history=history
        )
    except OpenAIError as err:
        assert err.status in (400, 404)
        assert err.type == "invalid_request_error"
        assert err.message
    else:
        assert r.spec.contents
        assert all(c["parts"] for c in r.spec.contents)
        assert all(isinstance(item.get("id"), str) for item in r.input_items)
        validate_response(r.spec.model, r.echo)


def out_text(text: str) -> JSON:
    return {"type": "output_text", "text": text}


def test_a_text_turn_gets_its_reasoning_signature_back_on_its_last_part() -> None:
    """D.3: without calls, Gemini's signature sits on the turn's last part; it goes back there."""
    items = [
        user("Sum?"),
        reasoning("adding", encrypted="sig-text"),
        {"role": "assistant", "content": [out_text("It is"), out_text(" 4.")]},
        user("Again?"),
    ]
    s = parse({"model": GEMINI, "input": items}).spec
    assert model_parts(s) == [
        {"text": "adding", "thought": True},
        {"text": "It is"},
        {"text": " 4.", "thoughtSignature": "sig-text"},
    ]


def test_the_last_turn_of_the_input_is_signed_too() -> None:
    items = [user("Sum?"), reasoning(encrypted="sig-end"), {"role": "assistant", "content": "4"}]
    s = parse({"model": GEMINI, "input": items}).spec
    assert model_parts(s) == [{"text": "4", "thoughtSignature": "sig-end"}]


def test_a_turn_with_a_call_keeps_its_signature_on_the_call_not_the_text() -> None:
    items = [
        user("Time?"),
        reasoning(encrypted="sig-call"),
        {"role": "assistant", "content": "Let me check."},
        call("a", "get_time"),
        output("a", "1"),
    ]
    s = parse({"model": GEMINI, "input": items, "tools": [TIME]}).spec
    assert model_parts(s) == [{"text": "Let me check."}, fc("a", "sig-call")]


def test_claude_text_turns_get_no_signature() -> None:
    items = [user("Sum?"), reasoning(encrypted="sig"), {"role": "assistant", "content": "4"}]
    s = parse({"model": CLAUDE, "input": items}).spec
    assert model_parts(s) == [{"text": "4"}]
