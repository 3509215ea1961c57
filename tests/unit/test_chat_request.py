"""Chat Completions request → ExchangeSpec: mapping (E.1, E.2) and precise 400s."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.openai.chat import ChatRequest, parse_chat_request
from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.openai.models import Catalogue
from zerogravity_proxy.openai.translate import DUMMY_SIGNATURE, REMOTE_IMAGE_MESSAGE
from zerogravity_proxy.signatures import SignatureCache

JSON = dict[str, Any]

CATALOGUE = Catalogue.from_specs(
    [
        "gemini-3-flash",
        "gemini-3-pro-preview",
        "gemini-2.5-flash",
        "claude-opus-4-6-thinking",
        "fast=gemini-3-flash-preview",
    ]
)
PNG = "iVBORw0KGgo="
USER = {"role": "user", "content": "Hi"}


def parse(body: JSON, signatures: SignatureCache | None = None) -> ChatRequest:
    return parse_chat_request(body, catalogue=CATALOGUE, signatures=signatures or SignatureCache())


def spec(
    model: str = "gemini-3-flash", messages: list[Any] | None = None, **fields: Any
) -> ExchangeSpec:
    return parse({"model": model, "messages": messages or [USER], **fields}).spec


def error(body: object) -> OpenAIError:
    with pytest.raises(OpenAIError) as err:
        parse_chat_request(body, catalogue=CATALOGUE, signatures=SignatureCache())
    return err.value


def bad(**fields: Any) -> OpenAIError:
    return error({"model": "gemini-3-flash", "messages": [USER], **fields})


def call(call_id: str, name: str, arguments: str = "{}") -> JSON:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def tool(name: str, parameters: JSON | None = None, description: str | None = None) -> JSON:
    function: JSON = {"name": name}
    if description is not None:
        function["description"] = description
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


WEATHER = tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}})
TIME = tool("get_time")


# --- the basics -----------------------------------------------------------------------------


def test_minimal_request() -> None:
    request = parse({"model": "gemini-3-flash", "messages": [USER]})
    assert request == ChatRequest(
        ExchangeSpec(
            model="gemini-3-flash",
            upstream_model="gemini-3-flash",
            contents=[{"role": "user", "parts": [{"text": "Hi"}]}],
            generation_config={"thinkingConfig": {"includeThoughts": True}},
        ),
        stream=False,
        include_usage=False,
    )


def test_model_alias_keeps_the_requested_name() -> None:
    s = spec("fast")
    assert (s.model, s.upstream_model) == ("fast", "gemini-3-flash-preview")


def test_streaming_and_include_usage() -> None:
    body = {"model": "gemini-3-flash", "messages": [USER], "stream": True}
    assert (parse(body).stream, parse(body).include_usage) == (True, False)
    body["stream_options"] = {"include_usage": True}
    assert (parse(body).stream, parse(body).include_usage) == (True, True)


def test_accepted_and_ignored_fields() -> None:
    assert (
        spec(
            user="u",
            store=False,
            service_tier="auto",
            prompt_cache_key="k",
            safety_identifier="s",
            verbosity="low",
            modalities=["text"],
            parallel_tool_calls=False,
            logit_bias={"1": 2},
            some_vendor_extension={"x": 1},
            n=1,
        )
        == spec()
    )


def test_body_is_not_mutated() -> None:
    body = {
        "model": "gemini-3-flash",
        "messages": [
            USER,
            {"role": "assistant", "tool_calls": [call("c1", "get_weather", '{"city": "Oslo"}')]},
            {"role": "tool", "tool_call_id": "c1", "content": '{"t": 3}'},
        ],
        "tools": [WEATHER],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
    }
    before = copy.deepcopy(body)
    parse(body)
    assert body == before


# --- request errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ([], None, None),
        ({"messages": [USER]}, "model", "missing_required_parameter"),
        ({"model": 3, "messages": [USER]}, "model", "invalid_type"),
        ({"model": "gemini-3-flash"}, "messages", "missing_required_parameter"),
        ({"model": "gemini-3-flash", "messages": []}, "messages", "empty_array"),
        ({"model": "gemini-3-flash", "messages": {"role": "user"}}, "messages", "invalid_type"),
    ],
)
def test_body_shape_errors(body: object, param: str | None, code: str | None) -> None:
    err = error(body)
    assert (err.status, err.type, err.param, err.code) == (
        400,
        "invalid_request_error",
        param,
        code,
    )


def test_unknown_model_is_404_model_not_found() -> None:
    err = error({"model": "gpt-4o", "messages": [USER]})
    assert (err.status, err.code, err.param) == (404, "model_not_found", "model")
    assert "gpt-4o" in err.message


def test_n_choices_from_one_to_eight() -> None:
    body = {"model": "gemini-3-flash", "messages": [USER]}
    assert parse(body).n == 1
    assert parse(body | {"n": 1}).n == 1
    assert parse(body | {"n": 2}).n == 2
    assert parse(body | {"n": 8}).n == 8
    assert parse(body | {"n": None}).n == 1
    assert parse(body | {"n": 8}).spec == parse(body).spec  # n is the sidecar's business


@pytest.mark.parametrize("n", [0, 9, 100])
def test_n_out_of_range_is_a_400(n: int) -> None:
    err = bad(n=n)
    assert (err.status, err.type, err.param, err.code) == (
        400,
        "invalid_request_error",
        "n",
        "invalid_value",
    )
    assert err.message == f"Invalid value for 'n': expected an integer from 1 to 8, got {n}."


def test_stream_options_need_stream() -> None:
    for fields in (
        {"stream_options": {"include_usage": True}},
        {"stream": False, "stream_options": {}},
    ):
        err = bad(**fields)
        assert (err.status, err.param) == (400, "stream_options")


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("stream", "true", "stream"),
        ("temperature", "hot", "temperature"),
        ("temperature", True, "temperature"),
        ("top_p", [1], "top_p"),
        ("top_k", 2.5, "top_k"),
        ("max_tokens", 1.5, "max_tokens"),
        ("max_completion_tokens", "100", "max_completion_tokens"),
        ("seed", "42", "seed"),
        ("n", "1", "n"),
        ("stop", 5, "stop"),
        ("stop", ["a", 1], "stop"),
        ("presence_penalty", "0", "presence_penalty"),
        ("frequency_penalty", {}, "frequency_penalty"),
        ("logprobs", "yes", "logprobs"),
        ("top_logprobs", 1.0, "top_logprobs"),
        ("response_format", "json", "response_format"),
        ("reasoning_effort", 3, "reasoning_effort"),
        ("metadata", ["a"], "metadata"),
        ("metadata", {"k": 1}, "metadata.k"),
        ("tools", {"type": "function"}, "tools"),
        ("tools", ["get_weather"], "tools[0]"),
        ("parallel_tool_calls", "no", "parallel_tool_calls"),
        ("stream_options", True, "stream_options"),
        ("tool_choice", 1, "tool_choice"),
    ],
)
def test_wrong_types_name_the_param(field: str, value: Any, param: str) -> None:
    err = bad(**{field: value})
    assert (err.status, err.param, err.code) == (400, param, "invalid_type")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 2.5),
        ("temperature", -0.1),
        ("top_p", 1.5),
        ("top_k", 0),
        ("max_tokens", 0),
        ("max_completion_tokens", -1),
        ("top_logprobs", 21),
        ("presence_penalty", 3),
        ("stop", ["1", "2", "3", "4", "5", "6"]),
        ("reasoning_effort", "extreme"),
        ("metadata", {str(i): "v" for i in range(17)}),
        ("response_format", {"type": "xml"}),
    ],
)
def test_out_of_range_values(field: str, value: Any) -> None:
    err = bad(**{field: value})
    assert err.status == 400
    assert err.param is not None and err.param.startswith(field)
    assert err.code == "invalid_value"


def test_top_logprobs_needs_logprobs() -> None:
    assert bad(top_logprobs=3).param == "top_logprobs"
    assert bad(top_logprobs=3, logprobs=False).param == "top_logprobs"


@pytest.mark.parametrize(
    ("message", "param"),
    [
        ("hello", "messages[1]"),
        ({"content": "x"}, "messages[1].role"),
        ({"role": "robot", "content": "x"}, "messages[1].role"),
        ({"role": "user"}, "messages[1].content"),
        ({"role": "user", "content": 5}, "messages[1].content"),
        (
            {"role": "user", "content": [{"type": "video", "video": {}}]},
            "messages[1].content[0].type",
        ),
        ({"role": "user", "content": ["text"]}, "messages[1].content[0]"),
        ({"role": "user", "content": [{"type": "text", "text": 1}]}, "messages[1].content[0].text"),
        ({"role": "system", "content": [{"type": "image_url"}]}, "messages[1].content[0].type"),
        ({"role": "assistant", "tool_calls": "x"}, "messages[1].tool_calls"),
        (
            {"role": "assistant", "tool_calls": [{"type": "function"}]},
            "messages[1].tool_calls[0].id",
        ),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "custom", "custom": {}}]},
            "messages[1].tool_calls[0].type",
        ),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]},
            "messages[1].tool_calls[0].function.name",
        ),
        ({"role": "tool", "content": "x"}, "messages[1].tool_call_id"),
        ({"role": "function", "content": "x"}, "messages[1].name"),
        ({"role": "assistant", "reasoning_content": 1}, "messages[1].reasoning_content"),
    ],
)
def test_message_shape_errors(message: object, param: str) -> None:
    err = error({"model": "gemini-3-flash", "messages": [USER, message]})
    assert (err.status, err.param) == (400, param)


@pytest.mark.parametrize("arguments", ["{oops", "[1, 2]", "42", '"str"'])
def test_tool_call_arguments_must_be_a_json_object(arguments: str) -> None:
    messages = [USER, {"role": "assistant", "tool_calls": [call("c1", "f", arguments)]}]
    err = error({"model": "gemini-3-flash", "messages": messages})
    assert (err.status, err.param) == (400, "messages[1].tool_calls[0].function.arguments")


def test_tool_result_without_a_matching_call_is_a_400() -> None:
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [call("call_1", "get_weather")]},
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
        {"role": "tool", "tool_call_id": "call_9", "content": "?"},
    ]
    err = error({"model": "gemini-3-flash", "messages": messages, "tools": [WEATHER]})
    assert (err.status, err.type, err.param, err.code) == (
        400,
        "invalid_request_error",
        "messages[3].tool_call_id",
        "invalid_value",
    )
    assert "call_9" in err.message


# --- system, merging, user parts ------------------------------------------------------------


def test_system_and_developer_messages_anywhere_become_the_system_instruction() -> None:
    s = spec(
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "there"}]},
            {"role": "assistant", "content": "Hello."},
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Bye"},
        ]
    )
    assert s.system_instruction == {
        "parts": [{"text": "You are terse."}, {"text": "Use metric."}, {"text": "Be kind."}]
    }
    assert s.contents == [
        {"role": "user", "parts": [{"text": "Hi"}, {"text": "there"}]},
        {"role": "model", "parts": [{"text": "Hello."}]},
        {"role": "user", "parts": [{"text": "Bye"}]},
    ]


def test_only_a_system_message_gives_a_placeholder_user_turn() -> None:
    s = spec(messages=[{"role": "system", "content": "Sys"}])
    assert s.contents == [{"role": "user", "parts": [{"text": " "}]}]
    assert s.system_instruction == {"parts": [{"text": "Sys"}]}


def test_empty_messages_are_dropped_and_their_neighbours_merge() -> None:
    s = spec(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": None},
            {"role": "user", "content": ""},
            {"role": "user", "content": "b"},
        ]
    )
    assert s.contents == [{"role": "user", "parts": [{"text": "a"}, {"text": "b"}]}]


def test_image_data_uri_becomes_inline_data() -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/PNG;base64,{PNG}"}},
    ]
    s = spec("gemini-2.5-flash", [{"role": "user", "content": content}])
    assert s.contents == [
        {
            "role": "user",
            "parts": [
                {"text": "What is this?"},
                {"inlineData": {"mimeType": "image/png", "data": PNG}},
            ],
        }
    ]


def test_image_detail_maps_to_media_resolution_on_gemini_3_only() -> None:
    image = {"url": f"data:image/png;base64,{PNG}", "detail": "high"}
    message = {"role": "user", "content": [{"type": "image_url", "image_url": image}]}
    inline = {"mimeType": "image/png", "data": PNG}
    assert spec("gemini-3-flash", [message]).contents[0]["parts"] == [
        {"inlineData": inline, "mediaResolution": {"level": "MEDIA_RESOLUTION_HIGH"}}
    ]
    assert spec("gemini-2.5-flash", [message]).contents[0]["parts"] == [{"inlineData": inline}]
    auto = {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {**image, "detail": "auto"}}],
    }
    assert spec("gemini-3-flash", [auto]).contents[0]["parts"] == [{"inlineData": inline}]


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "HTTP://example.com/cat.png"])
def test_remote_image_url_is_refused_with_a_hint(url: str) -> None:
    content = [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": url}}]
    err = error({"model": "gemini-3-flash", "messages": [{"role": "user", "content": content}]})
    assert (err.status, err.param, err.code) == (
        400,
        "messages[0].content[1].image_url.url",
        "remote_image_url_not_allowed",
    )
    assert err.message == REMOTE_IMAGE_MESSAGE
    assert "fetch_remote_images" in err.message


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png,rawbytes",
        "data:image/png;base64,@@@@",
        "data:image/png;base64,",
        "data:;base64,AAAA",
        "data:image/png;base64,iVBORw0KGgo",  # bad padding
        "ftp://example.com/x.png",
        "file:///etc/passwd",
    ],
)
def test_malformed_image_urls_are_a_400(url: str) -> None:
    content = [{"type": "image_url", "image_url": {"url": url}}]
    err = error({"model": "gemini-3-flash", "messages": [{"role": "user", "content": content}]})
    assert (err.status, err.param) == (400, "messages[0].content[0].image_url.url")


def test_bad_image_detail() -> None:
    image = {"url": f"data:image/png;base64,{PNG}", "detail": "ultra"}
    content = [{"type": "image_url", "image_url": image}]
    err = error({"model": "gemini-3-flash", "messages": [{"role": "user", "content": content}]})
    assert err.param == "messages[0].content[0].image_url.detail"


def test_audio_and_files_become_inline_data() -> None:
    content = [
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_data": "data:text/plain;base64,aGk=", "filename": "a.txt"}},
        {"type": "file", "file": {"file_data": "JVBERi0=", "filename": "doc.pdf"}},
    ]
    s = spec(messages=[{"role": "user", "content": content}])
    assert s.contents[0]["parts"] == [
        {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
        {"inlineData": {"mimeType": "text/plain", "data": "aGk="}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
    ]


@pytest.mark.parametrize(
    ("part", "param"),
    [
        (
            {"type": "file", "file": {"file_id": "file-abc"}},
            "messages[0].content[0].file.file_data",
        ),
        (
            {"type": "file", "file": {"file_data": "not base64!"}},
            "messages[0].content[0].file.file_data",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": "UklGRg=="}},
            "messages[0].content[0].input_audio.format",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}},
            "messages[0].content[0].input_audio.data",
        ),
    ],
)
def test_bad_media_parts(part: JSON, param: str) -> None:
    err = error({"model": "gemini-3-flash", "messages": [{"role": "user", "content": [part]}]})
    assert (err.status, err.param) == (400, param)


# --- tool calls, results and thought signatures ---------------------------------------------


def round_trip(model: str, signatures: SignatureCache) -> ExchangeSpec:
    body = {
        "model": model,
        "messages": [
            {"role": "user", "content": "Weather and time in Oslo?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    call("call_1", "get_weather", '{"city": "Oslo"}'),
                    call("call_2", "get_time", ""),
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 3, "unit": "C"}'},
            {
                "role": "tool",
                "tool_call_id": "call_2",
                "content": [{"type": "text", "text": "12:00"}],
            },
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [WEATHER, TIME],
    }
    return parse(body, signatures).spec


def test_parallel_tool_round_trip_restores_the_cached_signature() -> None:
    signatures = SignatureCache()
    signatures.put("call_1", "sig-A", "gemini-3-flash")
    s = round_trip("gemini-3-flash", signatures)
    assert s.contents == [
        {"role": "user", "parts": [{"text": "Weather and time in Oslo?"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Checking."},
                {
                    "functionCall": {
                        "name": "get_weather",
                        "args": {"city": "Oslo"},
                        "id": "call_1",
                    },
                    "thoughtSignature": "sig-A",
                },
                {"functionCall": {"name": "get_time", "args": {}, "id": "call_2"}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "id": "call_1",
                        "response": {"result": {"temp": 3, "unit": "C"}},
                    }
                },
                {
                    "functionResponse": {
                        "name": "get_time",
                        "id": "call_2",
                        "response": {"result": "12:00"},
                    }
                },
                {"text": "Thanks"},
            ],
        },
    ]


def model_parts(s: ExchangeSpec) -> list[JSON]:
    parts: list[JSON] = next(c for c in s.contents if c["role"] == "model")["parts"]
    return parts


@pytest.mark.parametrize("model", ["gemini-3-flash", "gemini-2.5-flash"])
def test_cache_miss_puts_the_dummy_on_the_first_call_only(model: str) -> None:
    signatures = SignatureCache()
    signatures.put("call_1", "sig-from-another-model", "gemini-3-pro-preview")
    parts = model_parts(round_trip(model, signatures))
    assert [p.get("thoughtSignature") for p in parts] == [None, DUMMY_SIGNATURE, None]


def test_claude_never_gets_the_dummy() -> None:
    parts = model_parts(round_trip("claude-opus-4-6-thinking", SignatureCache()))
    assert [p.get("thoughtSignature") for p in parts] == [None, None, None]


def test_claude_gets_its_real_signature() -> None:
    signatures = SignatureCache()
    signatures.put("call_2", "claude-sig", "claude-opus-4-6-thinking")
    parts = model_parts(round_trip("claude-opus-4-6-thinking", signatures))
    assert [p.get("thoughtSignature") for p in parts] == [None, None, "claude-sig"]


def test_each_sequential_step_is_signed_on_its_own() -> None:
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [call("a", "get_time")]},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
        {"role": "assistant", "tool_calls": [call("b", "get_time")]},
        {"role": "tool", "tool_call_id": "b", "content": "2"},
    ]
    signatures = SignatureCache()
    signatures.put("b", "sig-b", "gemini-3-flash")
    s = parse({"model": "gemini-3-flash", "messages": messages, "tools": [TIME]}, signatures).spec
    signed = [
        p.get("thoughtSignature") for c in s.contents for p in c["parts"] if "functionCall" in p
    ]
    assert signed == [DUMMY_SIGNATURE, "sig-b"]


def test_tool_results_follow_the_order_of_the_calls() -> None:
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [call("old", "get_time")]},
        {"role": "tool", "tool_call_id": "old", "content": "0"},
        {
            "role": "assistant",
            "tool_calls": [call("c1", "get_time"), call("c2", "get_time"), call("c3", "get_time")],
        },
        {"role": "tool", "tool_call_id": "c3", "content": "3"},
        {"role": "function", "name": "legacy", "content": "L"},  # no id: unknown
        {"role": "tool", "tool_call_id": "old", "content": "again"},  # not this turn's call
        {"role": "tool", "tool_call_id": "c1", "content": "1"},
        {"role": "tool", "tool_call_id": "c2", "content": "2"},
        {"role": "user", "content": "Thanks"},
    ]
    s = spec(messages=messages, tools=[TIME])
    assert s.contents[-1] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_time", "id": "c1", "response": {"result": 1}}},
            {"functionResponse": {"name": "get_time", "id": "c2", "response": {"result": 2}}},
            {"functionResponse": {"name": "get_time", "id": "c3", "response": {"result": 3}}},
            {"functionResponse": {"name": "legacy", "response": {"result": "L"}}},
            {
                "functionResponse": {
                    "name": "get_time",
                    "id": "old",
                    "response": {"result": "again"},
                }
            },
            {"text": "Thanks"},
        ],
    }
    # The earlier turn, with one result, is untouched.
    assert s.contents[2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_time", "id": "old", "response": {"result": 0}}}
        ],
    }


def test_tool_without_arguments_has_no_parameters() -> None:
    empty = {"type": "object", "properties": {}, "additionalProperties": False, "required": []}
    s = spec(tools=[TIME, tool("empty", empty), tool("described", {"type": "object"}, "D.")])
    assert s.tools == [
        {
            "functionDeclarations": [
                {"name": "get_time"},
                {"name": "empty"},
                {"name": "described", "description": "D."},
            ]
        }
    ]


@pytest.mark.parametrize(
    ("content", "result"),
    [
        ('{"a": [1, 2]}', {"a": [1, 2]}),
        ("[1, 2]", [1, 2]),
        ("42", 42),
        ("null", None),
        ("plain text", "plain text"),
        ("{not json", "{not json"),
        ("", ""),
    ],
)
def test_tool_result_is_parsed_json_or_the_text(content: str, result: Any) -> None:
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [call("c", "get_time")]},
        {"role": "tool", "tool_call_id": "c", "content": content},
    ]
    s = spec(messages=messages, tools=[TIME])
    assert s.contents[-1]["parts"] == [
        {"functionResponse": {"name": "get_time", "id": "c", "response": {"result": result}}}
    ]


def test_reasoning_content_is_replayed_as_a_thought_to_gemini_only() -> None:
    assistant = {"role": "assistant", "content": "42.", "reasoning_content": "Let me think."}
    messages = [USER, assistant, {"role": "user", "content": "Why?"}]
    assert model_parts(spec("gemini-3-flash", messages)) == [
        {"text": "Let me think.", "thought": True},
        {"text": "42."},
    ]
    assert model_parts(spec("claude-opus-4-6-thinking", messages)) == [{"text": "42."}]


def test_assistant_refusal_parts_and_object_arguments() -> None:
    assistant = {
        "role": "assistant",
        "content": [{"type": "refusal", "refusal": "No."}, {"type": "text", "text": "But..."}],
        "tool_calls": [{"id": "c", "function": {"name": "get_time", "arguments": {"tz": "UTC"}}}],
    }
    assert model_parts(spec("claude-opus-4-6-thinking", [USER, assistant])) == [
        {"text": "No."},
        {"text": "But..."},
        {"functionCall": {"name": "get_time", "args": {"tz": "UTC"}, "id": "c"}},
    ]


def test_legacy_functions_and_function_role() -> None:
    s = spec(
        messages=[
            USER,
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "get_time", "arguments": "{}"},
            },
            {"role": "function", "name": "get_time", "content": '"noon"'},
        ],
        functions=[{"name": "get_time", "description": "Now."}],
        function_call={"name": "get_time"},
    )
    assert s.contents[1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_time", "args": {}},
                    "thoughtSignature": DUMMY_SIGNATURE,
                }
            ],
        },
        {
            "role": "user",
            "parts": [{"functionResponse": {"name": "get_time", "response": {"result": "noon"}}}],
        },
    ]
    assert s.tools == [
        {
            "functionDeclarations": [
                {"name": "get_time", "description": "Now."}  # no arguments: no parameters
            ]
        }
    ]
    assert s.tool_config == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_time"]}
    }


# --- tools and tool_choice ------------------------------------------------------------------


def test_tools_become_one_declarations_object_with_sanitized_parameters() -> None:
    weather = tool(
        "get_weather",
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {
                "city": {"type": "string", "format": "email"},
                "days": {"type": ["integer", "null"]},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
        description="Forecast.",
    )
    s = spec(tools=[weather, tool("ns.v1:get-time_2")])
    assert s.tools == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Forecast.",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "city": {"type": "string"},
                            "days": {"type": "integer", "nullable": True},
                        },
                        "required": ["city"],
                    },
                },
                {"name": "ns.v1:get-time_2"},  # no arguments: no parameters (Gemini rejects {})
            ]
        }
    ]
    assert s.tool_config is None  # AUTO is Gemini's default


@pytest.mark.parametrize("name", ["1abc", "has space", "a" * 65, "", "ünï", "x\n"])
def test_invalid_function_names(name: str) -> None:
    err = bad(tools=[tool(name)])
    assert (err.status, err.param) == (400, "tools[0].function.name")


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([{"type": "custom", "custom": {"name": "x"}}], "tools[0].type"),
        ([{"type": "web_search"}], "tools[0].type"),
        ([{"type": "function"}], "tools[0].function"),
        ([tool("f", {"type": "object"}), tool("f")], "tools[1].function.name"),
        (
            [{"type": "function", "function": {"name": "f", "parameters": "x"}}],
            "tools[0].function.parameters",
        ),
        (
            [{"type": "function", "function": {"name": "f", "description": 3}}],
            "tools[0].function.description",
        ),
    ],
)
def test_bad_tools(tools: list[Any], param: str) -> None:
    err = bad(tools=tools)
    assert (err.status, err.param) == (400, param)


def named(name: str) -> JSON:
    return {"type": "function", "function": {"name": name}}


@pytest.mark.parametrize(
    ("model", "choice", "config"),
    [
        ("gemini-3-flash", "auto", {"mode": "AUTO"}),
        ("gemini-3-flash", "none", {"mode": "NONE"}),
        ("gemini-3-flash", "required", {"mode": "ANY"}),
        (
            "gemini-3-flash",
            named("get_time"),
            {"mode": "ANY", "allowedFunctionNames": ["get_time"]},
        ),
        (
            "gemini-3-flash",
            {
                "type": "allowed_tools",
                "allowed_tools": {"mode": "auto", "tools": [named("get_time")]},
            },
            {"mode": "VALIDATED", "allowedFunctionNames": ["get_time"]},
        ),
        (
            "gemini-3-flash",
            {
                "type": "allowed_tools",
                "allowed_tools": {"mode": "required", "tools": [named("get_weather")]},
            },
            {"mode": "ANY", "allowedFunctionNames": ["get_weather"]},
        ),
        ("claude-opus-4-6-thinking", None, {"mode": "VALIDATED"}),
        ("claude-opus-4-6-thinking", "auto", {"mode": "VALIDATED"}),
        ("claude-opus-4-6-thinking", "required", {"mode": "ANY"}),
    ],
)
def test_tool_choice(model: str, choice: Any, config: JSON) -> None:
    s = spec(model, tools=[WEATHER, TIME], tool_choice=choice)
    assert s.tool_config == {"functionCallingConfig": config}


@pytest.mark.parametrize("choice", ["none", "auto", None])
def test_harmless_tool_choice_without_tools(choice: Any) -> None:
    s = spec("claude-opus-4-6-thinking", tool_choice=choice)
    assert (s.tools, s.tool_config) == (None, None)


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": named("get_time")}, "tool_choice.function.name"),
        ({"tool_choice": "sometimes", "tools": [TIME]}, "tool_choice"),
        ({"tool_choice": named("nope"), "tools": [TIME]}, "tool_choice.function.name"),
        (
            {"tool_choice": {"type": "custom", "custom": {"name": "x"}}, "tools": [TIME]},
            "tool_choice.type",
        ),
        (
            {
                "tool_choice": {
                    "type": "allowed_tools",
                    "allowed_tools": {"mode": "auto", "tools": [named("nope")]},
                },
                "tools": [TIME],
            },
            "tool_choice.allowed_tools.tools[0].function.name",
        ),
        (
            {
                "tool_choice": {
                    "type": "allowed_tools",
                    "allowed_tools": {"mode": "maybe", "tools": []},
                },
                "tools": [TIME],
            },
            "tool_choice.allowed_tools.mode",
        ),
        (
            {"function_call": {"name": "nope"}, "functions": [{"name": "get_time"}]},
            "function_call.name",
        ),
    ],
)
def test_bad_tool_choice(fields: JSON, param: str) -> None:
    err = bad(**fields)
    assert (err.status, err.param) == (400, param)


# --- generation config ----------------------------------------------------------------------


def test_each_generation_parameter() -> None:
    s = spec(
        "gemini-2.5-flash",
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_tokens=100,
        stop="END",
        presence_penalty=0.5,
        frequency_penalty=-0.5,
        seed=7,
        logprobs=True,
        top_logprobs=3,
        response_format={"type": "json_object"},
        reasoning_effort="low",
    )
    assert s.generation_config == {
        "temperature": 0.2,
        "topP": 0.9,
        "topK": 40,
        "maxOutputTokens": 100,
        "stopSequences": ["END"],
        "presencePenalty": 0.5,
        "frequencyPenalty": -0.5,
        "seed": 7,
        "responseLogprobs": True,
        "logprobs": 3,
        "responseMimeType": "application/json",
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024},
    }


def test_max_completion_tokens_wins_and_claude_is_capped() -> None:
    config = spec(max_tokens=10, max_completion_tokens=20).generation_config
    assert config is not None and config["maxOutputTokens"] == 20
    config = spec("claude-opus-4-6-thinking", max_completion_tokens=100_000).generation_config
    assert config is not None and config["maxOutputTokens"] == 64_000


def test_claude_thinking_budget_stays_below_max_output_tokens() -> None:
    config = spec(
        "claude-opus-4-6-thinking", max_tokens=4096, reasoning_effort="high"
    ).generation_config
    assert config == {
        "maxOutputTokens": 4096,
        "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 4095},
    }


def test_penalties_are_dropped_on_gemini_3() -> None:
    config = spec(
        "gemini-3-flash", presence_penalty=1, frequency_penalty=1, stop=["a", "b"]
    ).generation_config
    assert config == {"stopSequences": ["a", "b"], "thinkingConfig": {"includeThoughts": True}}


@pytest.mark.parametrize(
    ("model", "effort", "thinking"),
    [
        ("gemini-3-flash", "none", {"includeThoughts": False, "thinkingLevel": "minimal"}),
        ("gemini-3-pro-preview", "medium", {"includeThoughts": True, "thinkingLevel": "high"}),
        ("gemini-3-flash", "xhigh", {"includeThoughts": True, "thinkingLevel": "high"}),
        ("gemini-2.5-flash", "none", {"includeThoughts": False, "thinkingBudget": 0}),
        ("gemini-2.5-flash", "medium", {"includeThoughts": True, "thinkingBudget": 8192}),
        ("claude-opus-4-6-thinking", "minimal", {"includeThoughts": True, "thinkingBudget": 1024}),
        ("claude-opus-4-6-thinking", None, {"includeThoughts": True}),
    ],
)
def test_reasoning_effort_per_family(model: str, effort: str | None, thinking: JSON) -> None:
    config = spec(model, reasoning_effort=effort).generation_config
    assert config == {"thinkingConfig": thinking}


def test_reasoning_effort_none_on_claude_sends_no_thinking_config() -> None:
    assert spec("claude-opus-4-6-thinking", reasoning_effort="none").generation_config is None


def test_response_format_json_schema() -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {
            "name": "answer",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {"b": {"type": "string"}, "a": {"type": "integer", "const": 1}},
                "required": ["b", "a"],
                "additionalProperties": False,
            },
        },
    }
    config = spec(response_format=fmt).generation_config
    assert config is not None
    assert {k: v for k, v in config.items() if k != "thinkingConfig"} == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "object",
            "properties": {
                "b": {"type": "string"},
                "a": {"type": "integer", "description": "Allowed values: 1."},
            },
            "required": ["b", "a"],
            "propertyOrdering": ["b", "a"],
        },
    }


def test_response_format_text_and_empty_schema() -> None:
    assert spec(response_format={"type": "text"}) == spec()
    fmt = {"type": "json_schema", "json_schema": {"name": "any", "schema": {}}}
    config = spec(response_format=fmt).generation_config
    assert config is not None and "responseSchema" not in config
    assert config["responseMimeType"] == "application/json"


@pytest.mark.parametrize(
    ("fmt", "param"),
    [
        ({"type": "json_schema"}, "response_format.json_schema"),
        (
            {"type": "json_schema", "json_schema": {"name": "x"}},
            "response_format.json_schema.schema",
        ),
        (
            {"type": "json_schema", "json_schema": {"name": "x", "schema": "{}"}},
            "response_format.json_schema.schema",
        ),
    ],
)
def test_json_schema_without_a_schema_is_a_400(fmt: JSON, param: str) -> None:
    err = bad(response_format=fmt)
    assert (err.status, err.param) == (400, param)


def test_metadata_becomes_labels() -> None:
    assert spec(metadata={"team": "core", "run": "7"}).labels == {"team": "core", "run": "7"}
    assert bad(metadata={"k" * 65: "v"}).param == "metadata." + "k" * 65
    assert bad(metadata={"k": "v" * 513}).param == "metadata.k"


# --- robustness -----------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-3, 3) | st.text(max_size=4)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)
roles = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "x"])
parts = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "input_audio", "file", "refusal", "x"])},
    optional={
        "text": values,
        "image_url": st.fixed_dictionaries(
            {"url": st.sampled_from([f"data:image/png;base64,{PNG}", "https://x", "data:x"])}
        )
        | values,
        "input_audio": values,
        "file": values,
        "refusal": values,
    },
)
messages = st.fixed_dictionaries(
    {"role": roles},
    optional={
        "content": st.text(max_size=4) | st.lists(parts, max_size=3) | values,
        "tool_calls": st.lists(
            st.builds(
                call,
                st.sampled_from(["a", "b"]),
                st.sampled_from(["f", "g"]),
                st.sampled_from(["{}", '{"x": [1]}', "", "oops"]),
            ),
            max_size=2,
        )
        | values,
        "tool_call_id": st.sampled_from(["a", "b", "z"]) | values,
        "name": st.sampled_from(["f", "g"]) | values,
        "reasoning_content": st.text(max_size=4) | values,
    },
)
bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["gemini-3-flash", "claude-opus-4-6-thinking", "nope"]), "messages": st.lists(messages, max_size=4)},
    optional={
        key: values
        for key in [
            "temperature", "top_p", "max_tokens", "stop", "n", "stream", "stream_options", "tools",
            "tool_choice", "response_format", "reasoning_effort", "metadata", "seed", "logprobs",
        ]
    },
)  # fmt: skip


@settings(max_examples=400)
@given(bodies | values)
def test_any_body_is_a_request_or_a_4xx(body: object) -> None:
    try:
        request = parse_chat_request(body, catalogue=CATALOGUE, signatures=SignatureCache())
    except OpenAIError as err:
        assert err.status in (400, 404)
        assert err.type == "invalid_request_error"
        assert err.message
    else:
        assert request.spec.contents
        assert all(c["parts"] for c in request.spec.contents)


def test_web_search_options_send_google_search_grounding() -> None:
    options = {"search_context_size": "low", "user_location": {"type": "approximate"}}
    assert spec(web_search_options=options).tools == [{"googleSearch": {}}]
    assert spec(web_search_options={}).tools == [{"googleSearch": {}}]
    assert spec(web_search_options=None).tools is None


def test_web_search_options_next_to_function_tools_is_a_400() -> None:
    e = bad(web_search_options={}, tools=[tool("get_time")])
    assert (e.status, e.code, e.param) == (
        400,
        "unsupported_tool_combination",
        "web_search_options",
    )


def test_web_search_options_must_be_an_object() -> None:
    e = bad(web_search_options="yes")
    assert (e.status, e.param) == (400, "web_search_options")
