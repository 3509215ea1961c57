"""Gemini request bodies and our own answers in either wire format: JSON, or gRPC + protobuf.

The rewrite rules (request.apply_spec, cascade.apply_ls_spec) work on the REST JSON form; a
gRPC request is decoded into that same form and encoded back after the rewrite, so both wires
get exactly the same treatment. Answers we make ourselves (refusals, the LS's synthetic STOP)
are written in the originator's wire too: a gRPC client reads only `grpc-status`, never an
HTTP status or a JSON error body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from zerogravity_proxy.gemini import grpc, protojson
from zerogravity_proxy.gemini.errors import DecodeError
from zerogravity_proxy.gemini.request import Endpoint
from zerogravity_proxy.gemini.thinking import level_budget

GRPC_TYPE = "application/grpc"

# The gRPC status for each HTTP status we answer with ourselves (Google's pairs); else UNKNOWN.
_GRPC_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL",
    503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}  # fmt: skip


class BodyError(ValueError):
    """A request body that is not the Gemini request its endpoint promises."""


def read_request(
    content: bytes, endpoint: Endpoint, grpc_encoding: str | None, *, strict: bool = True
) -> dict[str, Any]:
    """The request body as REST JSON; `BodyError` (with the reason) for anything else.

    `strict=False` drops protobuf fields our schema does not know instead of refusing them.
    """
    if endpoint.grpc:
        try:
            return protojson.request_to_json(grpc_message(content, grpc_encoding), strict=strict)
        except protojson.ProtoMappingError as e:
            raise BodyError(str(e)) from None
    try:
        body = orjson.loads(content or b"{}")
    except orjson.JSONDecodeError as e:
        raise BodyError(str(e)) from None
    if not isinstance(body, dict):
        raise BodyError("request body is not a JSON object")
    return body


def grpc_message(content: bytes, grpc_encoding: str | None) -> bytes:
    """The one message of a unary gRPC request body; `BodyError` for anything else."""
    decoder = grpc.GrpcMessageDecoder(grpc_encoding)
    try:
        messages = decoder.feed(content) + decoder.close()
    except DecodeError as e:
        raise BodyError(f"bad gRPC framing: {e}") from None
    if len(messages) != 1:
        raise BodyError(f"expected one gRPC message, got {len(messages)}")
    return messages[0]


def write_request(body: Mapping[str, Any], endpoint: Endpoint) -> bytes:
    """The rewritten body in the endpoint's wire; `BodyError` if protobuf cannot carry it."""
    if not endpoint.grpc:
        return orjson.dumps(body)
    try:
        return grpc.encode_message(protojson.request_from_json(_for_protobuf(body)))
    except protojson.ProtoMappingError as e:
        raise BodyError(f"the request cannot be sent over gRPC: {e}") from None


def _for_protobuf(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """What Google's public protobuf cannot carry, made so it can (google-ai-generativelanguage
    0.12, v1beta, has no field for either): `thinkingLevel` becomes the budget it stands for,
    which Gemini 3 takes too, and a part's `mediaResolution`, only a hint, is left out."""
    out = dict(body)
    config = body.get("generationConfig")
    thinking = config.get("thinkingConfig") if isinstance(config, Mapping) else None
    if (
        isinstance(config, Mapping)
        and isinstance(thinking, Mapping)
        and "thinkingLevel" in thinking
    ):
        level = thinking["thinkingLevel"]
        budget = level_budget(level)
        if budget is None:
            raise BodyError(f"unknown thinking level {level!r}")
        converted = {key: value for key, value in thinking.items() if key != "thinkingLevel"}
        converted.setdefault("thinkingBudget", budget)
        out["generationConfig"] = {**config, "thinkingConfig": converted}
    contents = body.get("contents")
    if isinstance(contents, list) and any(_has_resolution(c) for c in contents):
        out["contents"] = [_without_resolution(c) for c in contents]
    return out


def _has_resolution(content: object) -> bool:
    parts = content.get("parts") if isinstance(content, Mapping) else None
    return isinstance(parts, list) and any(
        isinstance(part, Mapping) and "mediaResolution" in part for part in parts
    )


def _without_resolution(content: Any) -> Any:
    if not _has_resolution(content):
        return content
    parts = [
        {k: v for k, v in part.items() if k != "mediaResolution"}
        if isinstance(part, Mapping)
        else part
        for part in content["parts"]
    ]
    return {**content, "parts": parts}


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete response of ours: status, headers, body and (gRPC) trailers."""

    status: int
    headers: dict[str, str]
    body: bytes
    trailers: dict[str, str] | None = None


def error_answer(endpoint: Endpoint | None, status: int, message: str) -> Answer:
    """An error in Google's shape for the originator's wire.

    gRPC gets a trailers-only response (HTTP 200, `grpc-status` in the headers), which is how
    gRPC servers report an error before any message.
    """
    if endpoint is not None and endpoint.grpc:
        headers = {
            "content-type": GRPC_TYPE,
            "grpc-status": str(grpc.GRPC_CODES.index(_GRPC_STATUS.get(status, "UNKNOWN"))),
            "grpc-message": grpc.percent_encode(message),
        }
        return Answer(200, headers, b"")
    body = orjson.dumps({"error": {"code": status, "message": message, "status": "ZEROGRAVITY"}})
    return Answer(status, {"content-type": "application/json"}, body)


def stream_answer(endpoint: Endpoint, chunk: Mapping[str, Any]) -> Answer:
    """A complete, successful stream of the one `chunk` (REST JSON form)."""
    if endpoint.grpc:
        body = grpc.encode_message(protojson.response_from_json(chunk))
        return Answer(200, {"content-type": GRPC_TYPE}, body, {"grpc-status": "0"})
    body = b"data: " + orjson.dumps(chunk) + b"\n\n"
    return Answer(200, {"content-type": "text/event-stream"}, body)
