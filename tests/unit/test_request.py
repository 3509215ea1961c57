"""Recognising Gemini endpoints, and patching an originator's body from an exchange's spec."""

from __future__ import annotations

from typing import Any

import pytest

from zerogravity_proxy.gemini.request import Endpoint, apply_spec, payload_of, recognise
from zerogravity_proxy.gemini.spec import ExchangeSpec

JSON = dict[str, Any]

# --- recognise ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            Endpoint("gemini", "streamGenerateContent", "gemini-2.5-flash"),
        ),
        (
            "/v1beta/models/gemini-2.5-pro:generateContent",
            Endpoint("gemini", "generateContent", "gemini-2.5-pro"),
        ),
        (
            "/v1/models/gemini-3-pro-preview:generateContent?key=abc&x=y:z",
            Endpoint("gemini", "generateContent", "gemini-3-pro-preview"),
        ),
        (
            "/v1alpha/models/gemini-2.5-flash-lite:streamGenerateContent?alt=sse",
            Endpoint("gemini", "streamGenerateContent", "gemini-2.5-flash-lite"),
        ),
        (
            "/v1beta/models/gemini-2.5-flash:countTokens",
            Endpoint("gemini", "countTokens", "gemini-2.5-flash"),
        ),
        (
            "/v1internal:streamGenerateContent?alt=sse",
            Endpoint("cloudcode", "streamGenerateContent", None),
        ),
        ("/v1internal:generateContent", Endpoint("cloudcode", "generateContent", None)),
        ("/v1internal:loadCodeAssist", Endpoint("cloudcode", "loadCodeAssist", None)),
        ("/v1internal:countTokens?x=1", Endpoint("cloudcode", "countTokens", None)),
    ],
)
def test_recognise_gemini_paths(path: str, expected: Endpoint) -> None:
    assert recognise(path) == expected


@pytest.mark.parametrize(
    ("path", "generates"),
    [
        ("/v1beta/models/m:streamGenerateContent?alt=sse", True),
        ("/v1beta/models/m:generateContent", True),
        ("/v1internal:streamGenerateContent", True),
        ("/v1internal:generateContent", True),
        ("/v1beta/models/m:countTokens", False),
        ("/v1beta/models/m:embedContent", False),
        ("/v1internal:loadCodeAssist", False),
        ("/v1internal:onboardUser", False),
    ],
)
def test_generates(path: str, generates: bool) -> None:
    endpoint = recognise(path)
    assert endpoint is not None
    assert endpoint.generates is generates


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/v1beta/models",
        "/v1beta/models/gemini-2.5-flash",
        "/v1beta/models/gemini-2.5-flash?alt=sse",
        "/v1beta/models/?x=a:generateContent",
        "/v2/models/gemini-2.5-flash:generateContent",
        "/v1beta/tunedModels/x:generateContent",
        "/v1beta/models/a/b:generateContent",
        "/api/v1beta/models/gemini-2.5-flash:generateContent",
        "/v1internal",
        "/v1internal/foo",
        "/v1internal?x=:generateContent",
        "/foo/v1internal:generateContent",
        "/v1/chat/completions",
    ],
)
def test_recognise_other_paths(path: str) -> None:
    assert recognise(path) is None


GRPC_SERVICE = "/google.ai.generativelanguage.{}.GenerativeService/{}"


@pytest.mark.parametrize("version", ["v1", "v1beta", "v1alpha"])
@pytest.mark.parametrize(
    ("rpc", "method", "generates"),
    [
        ("StreamGenerateContent", "streamGenerateContent", True),
        ("GenerateContent", "generateContent", True),
        ("CountTokens", "countTokens", False),
        ("EmbedContent", "embedContent", False),
        ("BatchEmbedContents", "batchEmbedContents", False),
        ("GenerateAnswer", "generateAnswer", False),
        ("BidiGenerateContent", "bidiGenerateContent", False),
    ],
)
def test_recognise_grpc_methods(version: str, rpc: str, method: str, generates: bool) -> None:
    """gRPC methods in REST spelling: every rule about REST methods holds for them."""
    endpoint = recognise(GRPC_SERVICE.format(version, rpc))
    assert endpoint == Endpoint("gemini", method, None, grpc=True)
    assert endpoint.generates is generates
    # The same method over REST is the same endpoint but for the wire and the path's model.
    rest = recognise(f"/{version}/models/gemini-2.5-flash:{method}")
    assert rest == Endpoint("gemini", method, "gemini-2.5-flash")
    assert not rest.grpc


def test_recognise_grpc_ignores_a_query() -> None:
    path = GRPC_SERVICE.format("v1beta", "StreamGenerateContent") + "?x=1"
    assert recognise(path) == Endpoint("gemini", "streamGenerateContent", None, grpc=True)


@pytest.mark.parametrize(
    "path",
    [
        GRPC_SERVICE.format("v1beta", "streamGenerateContent"),  # REST spelling is not an RPC
        GRPC_SERVICE.format("v1beta", "ListModels"),
        GRPC_SERVICE.format("v2", "GenerateContent"),
        GRPC_SERVICE.format("v1beta", "GenerateContent/extra"),
        GRPC_SERVICE.format("v1beta", ""),
        "/google.ai.generativelanguage.v1beta.ModelService/GetModel",
        "/google.ai.generativelanguage.v1beta.GenerativeService",
        "/google.cloud.aiplatform.v1.PredictionService/StreamGenerateContent",
        "/grpc.health.v1.Health/Check",
        "/x" + GRPC_SERVICE.format("v1beta", "GenerateContent"),
    ],
)
def test_recognise_other_grpc_services(path: str) -> None:
    assert recognise(path) is None


# --- apply_spec -----------------------------------------------------------------------------

CONTENTS: list[JSON] = [{"role": "user", "parts": [{"text": "What is 2+2?"}]}]
SYSTEM: JSON = {"parts": [{"text": "Be brief."}]}
TOOLS: list[JSON] = [{"functionDeclarations": [{"name": "add", "parameters": {"type": "object"}}]}]
TOOL_CONFIG: JSON = {"functionCallingConfig": {"mode": "AUTO"}}
GENERATION: JSON = {"temperature": 0.2, "maxOutputTokens": 64}

FULL = ExchangeSpec(
    model="fast",
    upstream_model="gemini-2.5-flash",
    contents=CONTENTS,
    system_instruction=SYSTEM,
    tools=TOOLS,
    tool_config=TOOL_CONFIG,
    generation_config=GENERATION,
    labels={"client": "zerogravity", "trajectory_id": "ours"},
)
MINIMAL = ExchangeSpec(model="fast", upstream_model="gemini-2.5-flash", contents=CONTENTS)


def originator_payload() -> JSON:
    """An originator's own payload, in both spellings, plus the envelope keys it keeps."""
    return {
        "contents": [{"role": "user", "parts": [{"text": "."}]}],
        "systemInstruction": {"parts": [{"text": "You are Antigravity."}]},
        "system_instruction": {"parts": [{"text": "snake"}]},
        "tools": [{"googleSearch": {}}],
        "toolConfig": {"functionCallingConfig": {"mode": "VALIDATED"}},
        "tool_config": {"functionCallingConfig": {"mode": "ANY"}},
        "generationConfig": {"maxOutputTokens": 65536},
        "generation_config": {"temperature": 1},
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
        "sessionId": "-3750763034362895579",
        "labels": {"trajectory_id": "theirs", "last_step_index": "1"},
    }


def test_apply_spec_gemini_full() -> None:
    body = originator_payload()
    result = apply_spec(body, "gemini", FULL)
    assert result is body
    assert body == {
        "contents": CONTENTS,
        "systemInstruction": SYSTEM,
        "tools": TOOLS,
        "toolConfig": TOOL_CONFIG,
        "generationConfig": GENERATION,
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
        "sessionId": "-3750763034362895579",
        # The public API takes no labels from the spec: the originator's stay as they were.
        "labels": {"trajectory_id": "theirs", "last_step_index": "1"},
    }


def test_apply_spec_gemini_minimal_removes_unset_payload_keys() -> None:
    body = originator_payload()
    apply_spec(body, "gemini", MINIMAL)
    assert body == {
        "contents": CONTENTS,
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
        "sessionId": "-3750763034362895579",
        "labels": {"trajectory_id": "theirs", "last_step_index": "1"},
    }


def test_apply_spec_gemini_empty_body() -> None:
    assert apply_spec({}, "gemini", FULL) == {
        "contents": CONTENTS,
        "systemInstruction": SYSTEM,
        "tools": TOOLS,
        "toolConfig": TOOL_CONFIG,
        "generationConfig": GENERATION,
    }


def cloudcode_body() -> JSON:
    return {
        "model": "gemini-3-flash",
        "project": "robotic-victory-pst7f0",
        "requestId": "agent/conv/1771650000000/traj/2",
        "userAgent": "antigravity",
        "requestType": "agent",
        "request": originator_payload(),
    }


def test_apply_spec_cloudcode_full() -> None:
    body = cloudcode_body()
    result = apply_spec(body, "cloudcode", FULL)
    assert result is body
    assert body == {
        "model": "gemini-3-flash",
        "project": "robotic-victory-pst7f0",
        "requestId": "agent/conv/1771650000000/traj/2",
        "userAgent": "antigravity",
        "requestType": "agent",
        "request": {
            "contents": CONTENTS,
            "systemInstruction": SYSTEM,
            "tools": TOOLS,
            "toolConfig": TOOL_CONFIG,
            "generationConfig": GENERATION,
            "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
            "sessionId": "-3750763034362895579",
            # Merged: the originator's labels, overridden by the spec's where both have one.
            "labels": {
                "trajectory_id": "ours",
                "last_step_index": "1",
                "client": "zerogravity",
            },
        },
    }


def test_apply_spec_cloudcode_minimal_keeps_labels() -> None:
    body = cloudcode_body()
    apply_spec(body, "cloudcode", MINIMAL)
    assert body["request"] == {
        "contents": CONTENTS,
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "OFF"}],
        "sessionId": "-3750763034362895579",
        "labels": {"trajectory_id": "theirs", "last_step_index": "1"},
    }


def test_apply_spec_cloudcode_labels_without_originator_labels() -> None:
    body: JSON = {"model": "m", "request": {"contents": [], "labels": "not-a-dict"}}
    apply_spec(body, "cloudcode", FULL)
    assert body["request"]["labels"] == {"client": "zerogravity", "trajectory_id": "ours"}
    body = {"model": "m", "request": {"contents": []}}
    apply_spec(body, "cloudcode", FULL)
    assert body["request"]["labels"] == {"client": "zerogravity", "trajectory_id": "ours"}


@pytest.mark.parametrize("request_value", ["absent", None, "text", ["list"]])
def test_apply_spec_cloudcode_creates_missing_request(request_value: object) -> None:
    body: JSON = {"model": "gemini-3-flash", "project": "p"}
    if request_value != "absent":
        body["request"] = request_value
    apply_spec(body, "cloudcode", MINIMAL)
    assert body == {"model": "gemini-3-flash", "project": "p", "request": {"contents": CONTENTS}}


def test_cloudcode_envelope_payload_keys_are_not_touched() -> None:
    # Only the inner request is the payload: top-level look-alikes belong to the envelope.
    body: JSON = {"model": "m", "contents": "envelope", "request": {}}
    apply_spec(body, "cloudcode", MINIMAL)
    assert body == {"model": "m", "contents": "envelope", "request": {"contents": CONTENTS}}


def test_payload_of() -> None:
    inner: JSON = {"contents": []}
    assert payload_of({"request": inner}, "cloudcode") is inner
    outer: JSON = {"contents": []}
    assert payload_of(outer, "gemini") is outer
