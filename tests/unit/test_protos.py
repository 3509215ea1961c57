"""proto/*.proto and their generated modules: reproducible, and wire-compatible with Google's.

Google's own packages are the reference: google-ai-generativelanguage (proto-plus types for
`google.ai.generativelanguage.v1beta`) and googleapis-common-protos (`google.rpc`). Both are
imported next to ours in this process, which is itself the proof that the package names do not
collide. Three levels of checking:
- the schema: every message reachable from the GenerativeService RPCs has the same fields
  (numbers, JSON names, types, labels, presence, oneofs) and enums the same values on both sides;
- every field on the wire: messages with every field set (one variant per oneof member)
  serialize to the same bytes and print the same JSON on both sides, ours through protojson;
- representative traffic built with Google's proto-plus API, both ways.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from google.ai.generativelanguage_v1beta import types as g
from google.protobuf import any_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

from zerogravity_proxy.gemini import protojson
from zerogravity_proxy.gemini.pb import generativelanguage_pb2 as pb
from zerogravity_proxy.gemini.pb import rpc_status_pb2 as rpc

ROOT = Path(__file__).resolve().parents[2]
PB_DIR = ROOT / "zerogravity_proxy" / "gemini" / "pb"
OURS = "zerogravity.generativelanguage.v1beta."
GOOGLE = "google.ai.generativelanguage.v1beta."
# google.type messages that proto/generativelanguage.proto mirrors in its own package.
MIRRORED = {OURS + "Interval": "google.type.Interval", OURS + "LatLng": "google.type.LatLng"}
ROOTS = (
    "GenerateContentRequest",
    "GenerateContentResponse",
    "CountTokensRequest",
    "CountTokensResponse",
)
RPC_MESSAGES = (
    "Status",
    "RetryInfo",
    "ErrorInfo",
    "QuotaFailure",
    "BadRequest",
    "LocalizedMessage",
    "Help",
)

JSON = dict[str, Any]


# --- generated code -------------------------------------------------------------------------


def generated_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_generated_modules_are_what_gen_protos_writes(tmp_path: Path) -> None:
    out = tmp_path / "pb"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-protos"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    fresh = generated_files(out)
    committed = generated_files(PB_DIR)
    assert (
        sorted(fresh)
        == sorted(committed)
        == [
            "__init__.py",
            "generativelanguage_pb2.py",
            "generativelanguage_pb2.pyi",
            "rpc_status_pb2.py",
            "rpc_status_pb2.pyi",
        ]
    )
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"run scripts/gen-protos: {stale} differ from the generated text"


def test_gen_protos_removes_stale_modules(tmp_path: Path) -> None:
    (tmp_path / "gone_pb2.py").write_text("# from a deleted .proto\n")
    script = str(ROOT / "scripts" / "gen-protos")
    subprocess.run([sys.executable, script, "--out", str(tmp_path)], check=True)
    assert not (tmp_path / "gone_pb2.py").exists()
    assert (tmp_path / "generativelanguage_pb2.py").is_file()


# --- the schema -----------------------------------------------------------------------------


def google_name(ours: str) -> str:
    return MIRRORED.get(ours) or GOOGLE + ours.removeprefix(OURS)


def closure(roots: Iterator[Descriptor]) -> dict[str, Descriptor]:
    """Every message reachable from `roots`, by full name (well-known types excluded)."""
    found: dict[str, Descriptor] = {}
    stack = list(roots)
    while stack:
        message = stack.pop()
        if message.full_name in found or message.full_name.startswith("google.protobuf."):
            continue
        found[message.full_name] = message
        stack += [f.message_type for f in message.fields if f.message_type is not None]
    return found


def enums_of(messages: dict[str, Descriptor]) -> dict[str, EnumDescriptor]:
    return {
        f.enum_type.full_name: f.enum_type
        for message in messages.values()
        for f in message.fields
        if f.enum_type is not None
    }


def shape(field: FieldDescriptor, rename: Callable[[str], str]) -> tuple[object, ...]:
    """What the wire and REST JSON see of a field; names of our types mapped to Google's."""
    oneof = field.containing_oneof
    real_oneof = oneof is not None and (len(oneof.fields) > 1 or not oneof.name.startswith("_"))
    kind = field.message_type or field.enum_type
    return (
        field.name.rstrip("_"),  # proto-plus renames `type` to `type_` (json_name is kept)
        field.json_name,
        field.type,
        field.is_repeated,
        field.has_presence,
        oneof.name if real_oneof and oneof is not None else None,
        None if kind is None else rename(kind.full_name),
    )


def ours_renamed(name: str) -> str:
    return google_name(name) if name.startswith(OURS) else name


def test_messages_match_google_v1beta_field_for_field() -> None:
    theirs = closure(getattr(g, name).pb().DESCRIPTOR for name in ROOTS)
    ours = closure(getattr(pb, name).DESCRIPTOR for name in ROOTS)
    # Nothing reachable from the RPCs is left out, and nothing else is added.
    assert sorted(google_name(name) for name in ours) == sorted(theirs)
    for name, message in ours.items():
        reference = theirs[google_name(name)]
        mine = {f.number: shape(f, ours_renamed) for f in message.fields}
        expected = {f.number: shape(f, lambda n: n) for f in reference.fields}
        assert mine == expected, name
    their_enums = enums_of(theirs)
    our_enums = enums_of(ours)
    assert sorted(google_name(name) for name in our_enums) == sorted(their_enums)
    for name, enum in our_enums.items():
        values = [(v.name, v.number) for v in enum.values]
        assert values == [(v.name, v.number) for v in their_enums[google_name(name)].values]


def test_rpc_messages_match_googleapis_field_for_field() -> None:
    pool = descriptor_pool.Default()
    for name in RPC_MESSAGES:
        ours = closure(iter([getattr(rpc, name).DESCRIPTOR]))
        theirs = closure(iter([pool.FindMessageTypeByName(f"google.rpc.{name}")]))

        def rename(full: str) -> str:
            return full.replace("zerogravity.rpc.", "google.rpc.")

        assert sorted(rename(n) for n in ours) == sorted(theirs)
        for full, message in ours.items():
            mine = {f.number: shape(f, rename) for f in message.fields}
            expected = {f.number: shape(f, lambda n: n) for f in theirs[rename(full)].fields}
            assert mine == expected, full


def test_service_methods_match_google() -> None:
    ours = pb.DESCRIPTOR.services_by_name["GenerativeService"]
    assert {m.name: m.server_streaming for m in ours.methods} == {
        "GenerateContent": False,
        "StreamGenerateContent": True,
        "CountTokens": False,
    }
    for method in ours.methods:
        assert method.input_type.name == method.name.removeprefix("Stream") + "Request"


# --- every field on the wire ----------------------------------------------------------------

WELL_KNOWN: dict[str, Callable[[Any], object]] = {
    "google.protobuf.Struct": lambda m: json_format.ParseDict(
        {"n": 3, "x": 2.5, "list": [True, None, "s", {"deep": -1}], "empty": {}}, m
    ),
    "google.protobuf.Value": lambda m: json_format.ParseDict(
        {"type": "object", "properties": {"q": {"type": "string"}}}, m
    ),
    "google.protobuf.Duration": lambda m: m.FromMilliseconds(1500),
    "google.protobuf.Timestamp": lambda m: m.FromSeconds(1_700_000_000),
}
MAX_NESTING = 2  # times one message type may appear on a path (Schema holds Schemas)


def scalar(field: FieldDescriptor, k: int) -> object:
    if field.enum_type is not None:
        numbers = [v.number for v in field.enum_type.values if v.number]
        return numbers[k % len(numbers)]
    match field.type:
        case FieldDescriptor.TYPE_BYTES:
            return bytes([k, 0xFF, 0x00]) + field.name.encode()
        case FieldDescriptor.TYPE_STRING:
            return f"{field.name}-{k}-ü"
        case FieldDescriptor.TYPE_BOOL:
            return True
        case FieldDescriptor.TYPE_FLOAT:
            return 0.7 + k
        case FieldDescriptor.TYPE_DOUBLE:
            return -1.25 - k
        case FieldDescriptor.TYPE_INT64 | FieldDescriptor.TYPE_UINT64:
            return 2**40 + k
        case _:
            return 7 + k


def fill[M: Message](message: M, variant: int, path: Counter[str] | None = None) -> M:
    """Set every field; of each oneof only member `variant` (mod its size)."""
    descriptor = cast(Descriptor, message.DESCRIPTOR)
    path = (path or Counter()) + Counter([descriptor.full_name])
    if (fill_well_known := WELL_KNOWN.get(descriptor.full_name)) is not None:
        fill_well_known(message)
        return message
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and oneof.fields[variant % len(oneof.fields)] is not field:
            continue
        set_field(message, field, variant, path)
    return message


def set_field(message: Message, field: FieldDescriptor, variant: int, path: Counter[str]) -> None:
    value = getattr(message, field.name)
    kind = field.message_type
    if kind is None:
        if field.is_repeated:
            value.extend([scalar(field, 0), scalar(field, 1)])
        else:
            setattr(message, field.name, scalar(field, variant))
    elif kind.GetOptions().map_entry:
        item = kind.fields_by_name["value"]
        for key in ("k1", "k2"):
            if item.message_type is None:
                value[key] = scalar(item, variant)
            elif path[item.message_type.full_name] < MAX_NESTING:
                fill(value[key], variant, path)
    elif path[kind.full_name] < MAX_NESTING:
        if field.is_repeated:
            fill(value.add(), variant, path)
            fill(value.add(), variant + 1, path)
        else:
            fill(value, variant, path)
            value.SetInParent()  # empty messages (CodeExecution, UrlContext) count as set


VARIANTS = range(7)  # Part.data, the largest oneof, has 7 members


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("root", ROOTS)
def test_every_field_is_wire_compatible_with_google(root: str, variant: int) -> None:
    ours = fill(getattr(pb, root)(), variant)
    data = ours.SerializeToString(deterministic=True)
    theirs = getattr(g, root).pb().FromString(data)
    assert theirs.SerializeToString(deterministic=True) == data
    known = type(theirs)()
    known.CopyFrom(theirs)
    known.DiscardUnknownFields()  # Google's side knows every field we sent
    assert known.SerializeToString(deterministic=True) == data
    reference = json_format.MessageToDict(theirs)
    assert json_format.MessageToDict(ours) == reference
    assert getattr(pb, root).FromString(theirs.SerializeToString()) == ours
    if root == "GenerateContentRequest":
        assert protojson.request_to_json(data) == reference
    if root == "GenerateContentResponse":
        assert protojson.response_to_json(data) == reference


def test_filled_messages_reach_every_field() -> None:
    """The test above really sets each field of each message, and each oneof member."""
    seen: set[str] = set()

    def walk(message: Message) -> None:
        for field, value in message.ListFields():
            seen.add(field.full_name)
            if field.message_type is None or field.message_type.full_name.startswith(
                "google.protobuf."
            ):
                continue
            if field.message_type.GetOptions().map_entry:
                values = list(value.values())
            else:
                values = list(value) if field.is_repeated else [value]
            for item in values:
                if isinstance(item, Message):
                    walk(item)

    for root in ROOTS:
        for variant in VARIANTS:
            walk(fill(getattr(pb, root)(), variant))
    every = {
        f.full_name
        for message in closure(getattr(pb, name).DESCRIPTOR for name in ROOTS).values()
        if not message.GetOptions().map_entry
        for f in message.fields
    }
    assert every - seen == set()


# --- representative traffic, built with Google's proto-plus API -----------------------------


def google_request() -> g.GenerateContentRequest:
    schema = g.Schema(
        type_=g.Type.OBJECT,
        properties={
            "city": g.Schema(type_=g.Type.STRING, description="City name"),
            "days": g.Schema(type_=g.Type.INTEGER, minimum=1, maximum=14),
            "tags": g.Schema(type_=g.Type.ARRAY, items=g.Schema(type_=g.Type.STRING), max_items=3),
            "unit": g.Schema(type_=g.Type.STRING, enum=["c", "f"], nullable=True),
        },
        required=["city"],
    )
    return g.GenerateContentRequest(
        model="models/gemini-2.5-flash",
        system_instruction=g.Content(parts=[g.Part(text="Answer briefly.")]),
        contents=[
            g.Content(
                role="user",
                parts=[
                    g.Part(text="What is on this picture, and the weather in Paris?"),
                    g.Part(inline_data=g.Blob(mime_type="image/png", data=b"\x89PNG\r\n\x1a\n")),
                ],
            ),
            g.Content(
                role="model",
                parts=[
                    g.Part(text="Looking at the image.", thought=True),
                    g.Part(
                        function_call=g.FunctionCall(
                            id="call_1", name="weather", args={"city": "Paris", "days": 3}
                        ),
                        thought_signature=b"\x0a\x20signature-bytes",
                    ),
                ],
            ),
            g.Content(
                role="user",
                parts=[
                    g.Part(
                        function_response=g.FunctionResponse(
                            id="call_1", name="weather", response={"result": {"temp": 21.5}}
                        )
                    )
                ],
            ),
        ],
        tools=[
            g.Tool(
                function_declarations=[
                    g.FunctionDeclaration(
                        name="weather", description="The forecast", parameters=schema
                    ),
                    g.FunctionDeclaration(
                        name="lookup",
                        parameters_json_schema={
                            "type": "object",
                            "properties": {"q": {"type": "string"}},
                            "required": ["q"],
                        },
                    ),
                ]
            ),
            g.Tool(google_search=g.Tool.GoogleSearch()),
        ],
        tool_config=g.ToolConfig(
            function_calling_config=g.FunctionCallingConfig(
                mode=g.FunctionCallingConfig.Mode.ANY, allowed_function_names=["weather"]
            )
        ),
        safety_settings=[
            g.SafetySetting(
                category=g.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
                threshold=g.SafetySetting.HarmBlockThreshold.BLOCK_ONLY_HIGH,
            )
        ],
        generation_config=g.GenerationConfig(
            temperature=0.7,
            top_p=0.95,
            max_output_tokens=2048,
            stop_sequences=["END"],
            seed=42,
            response_mime_type="application/json",
            response_schema=schema,
            thinking_config=g.ThinkingConfig(include_thoughts=True, thinking_budget=1024),
        ),
    )


def google_response() -> g.GenerateContentResponse:
    return g.GenerateContentResponse(
        candidates=[
            g.Candidate(
                index=0,
                content=g.Content(
                    role="model",
                    parts=[
                        g.Part(text="It is sunny in Paris.", thought_signature=b"\x12\x20sig"),
                        g.Part(function_call=g.FunctionCall(name="weather", args={"days": 2})),
                    ],
                ),
                finish_reason=g.Candidate.FinishReason.STOP,
                safety_ratings=[
                    g.SafetyRating(
                        category=g.HarmCategory.HARM_CATEGORY_HARASSMENT,
                        probability=g.SafetyRating.HarmProbability.NEGLIGIBLE,
                    )
                ],
                grounding_metadata=g.GroundingMetadata(
                    search_entry_point=g.SearchEntryPoint(rendered_content="<div></div>"),
                    grounding_chunks=[
                        g.GroundingChunk(
                            web=g.GroundingChunk.Web(uri="https://example.com", title="example")
                        )
                    ],
                    grounding_supports=[
                        g.GroundingSupport(
                            segment=g.Segment(end_index=21, text="It is sunny in Paris."),
                            grounding_chunk_indices=[0],
                            confidence_scores=[0.9],
                        )
                    ],
                    web_search_queries=["weather Paris"],
                ),
            )
        ],
        usage_metadata=g.GenerateContentResponse.UsageMetadata(
            prompt_token_count=120,
            cached_content_token_count=64,
            candidates_token_count=12,
            thoughts_token_count=30,
            tool_use_prompt_token_count=8,
            total_token_count=170,
            prompt_tokens_details=[g.ModalityTokenCount(modality=g.Modality.TEXT, token_count=120)],
        ),
        model_version="gemini-2.5-flash",
        response_id="resp-1",
    )


def test_google_request_reads_the_same_with_ours() -> None:
    request = google_request()
    data = g.GenerateContentRequest.serialize(request)
    ours = pb.GenerateContentRequest.FromString(data)
    expected = json_format.MessageToDict(g.GenerateContentRequest.pb(request))
    assert json_format.MessageToDict(ours) == expected
    body = protojson.request_to_json(data)
    assert body == expected
    assert body["contents"][1]["parts"][1]["functionCall"]["args"] == {"city": "Paris", "days": 3}
    assert body["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingBudget": 1024,
    }
    assert body["tools"][1] == {"googleSearch": {}}
    assert g.GenerateContentRequest.deserialize(protojson.request_from_json(body)) == request


def test_our_request_reads_the_same_with_google() -> None:
    body = json_format.MessageToDict(g.GenerateContentRequest.pb(google_request()))
    data = protojson.request_from_json(body)
    theirs = g.GenerateContentRequest.deserialize(data)
    assert theirs == google_request()
    assert json_format.MessageToDict(g.GenerateContentRequest.pb(theirs)) == body


def test_google_response_reads_the_same_with_ours() -> None:
    response = google_response()
    data = g.GenerateContentResponse.serialize(response)
    chunk = protojson.response_to_json(data)
    assert chunk == json_format.MessageToDict(g.GenerateContentResponse.pb(response))
    candidate = chunk["candidates"][0]
    assert candidate["index"] == 0  # optional: set, so printed although zero
    assert candidate["finishReason"] == "STOP"
    assert candidate["content"]["parts"][0]["thoughtSignature"] == "EiBzaWc="
    assert chunk["usageMetadata"]["thoughtsTokenCount"] == 30
    assert chunk["usageMetadata"]["cachedContentTokenCount"] == 64
    assert candidate["groundingMetadata"]["groundingSupports"][0]["confidenceScores"] == [0.9]


def test_our_response_reads_the_same_with_google() -> None:
    chunk = json_format.MessageToDict(g.GenerateContentResponse.pb(google_response()))
    theirs = g.GenerateContentResponse.deserialize(protojson.response_from_json(chunk))
    assert theirs == google_response()


# --- google.rpc -----------------------------------------------------------------------------


def packed(detail: Message) -> any_pb2.Any:
    box = any_pb2.Any()
    box.Pack(detail)
    return box


def test_google_status_details_read_with_ours() -> None:
    status = status_pb2.Status(
        code=8,
        message="Resource has been exhausted",
        details=[
            packed(error_details_pb2.RetryInfo(retry_delay={"seconds": 37, "nanos": 500_000_000})),
            packed(
                error_details_pb2.ErrorInfo(
                    reason="RATE_LIMIT_EXCEEDED",
                    domain="googleapis.com",
                    metadata={"quota_limit": "GenerateRequestsPerMinute"},
                )
            ),
            packed(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(
                            subject="project:1",
                            quota_metric="generate_requests",
                            quota_id="PerMinute",
                            quota_dimensions={"model": "gemini-2.5-flash"},
                            quota_value=10,
                            future_quota_value=20,
                        )
                    ]
                )
            ),
            packed(error_details_pb2.Help(links=[error_details_pb2.Help.Link(url="https://x")])),
        ],
    )
    ours = rpc.Status.FromString(status.SerializeToString())
    assert (ours.code, ours.message) == (8, "Resource has been exhausted")
    kinds: dict[str, type[Message]] = {
        "RetryInfo": rpc.RetryInfo,
        "ErrorInfo": rpc.ErrorInfo,
        "QuotaFailure": rpc.QuotaFailure,
        "Help": rpc.Help,
    }
    for mine, theirs in zip(ours.details, status.details, strict=True):
        assert mine.type_url == theirs.type_url  # Google's URL: ours never rewrites it
        name = mine.type_url.rpartition("/")[2].removeprefix("google.rpc.")
        reference = getattr(error_details_pb2, name)()
        theirs.Unpack(reference)
        detail = kinds[name].FromString(mine.value)
        assert json_format.MessageToDict(detail) == json_format.MessageToDict(reference)
    assert ours.details[0].value == status.details[0].value
    assert json_format.MessageToDict(rpc.RetryInfo.FromString(ours.details[0].value)) == {
        "retryDelay": "37.500s"
    }


def test_our_status_reads_with_google() -> None:
    violation = rpc.BadRequest.FieldViolation(field="contents", description="must not be empty")
    detail = rpc.BadRequest(field_violations=[violation])
    box = any_pb2.Any(type_url="type.googleapis.com/google.rpc.BadRequest")
    box.value = detail.SerializeToString()
    ours = rpc.Status(code=3, message="bad", details=[box])
    theirs = status_pb2.Status.FromString(ours.SerializeToString())
    unpacked = error_details_pb2.BadRequest()
    assert theirs.details[0].Unpack(unpacked)
    assert unpacked.field_violations[0].field == "contents"
    assert json_format.MessageToDict(unpacked) == json_format.MessageToDict(detail)


def test_packages_do_not_collide_with_googles() -> None:
    pool = descriptor_pool.Default()
    for name in ("GenerateContentRequest", "Part", "Schema"):
        mine = pool.FindMessageTypeByName(OURS + name)
        theirs = pool.FindMessageTypeByName(GOOGLE + name)
        assert mine is not theirs
        assert message_factory.GetMessageClass(mine) is getattr(pb, name)
    assert pool.FindMessageTypeByName("zerogravity.rpc.Status") is rpc.Status.DESCRIPTOR
    assert pool.FindMessageTypeByName("google.rpc.Status") is status_pb2.Status.DESCRIPTOR
