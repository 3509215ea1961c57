"""Recognising Gemini endpoints and patching request bodies from an exchange's spec.

The rule: the envelope comes from the originator, the payload from the client. The originator
keeps its model, project, request ids, labels, session and headers; the spec supplies
`contents`, `systemInstruction`, `tools`, `toolConfig` and `generationConfig`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from zerogravity_proxy.gemini.protojson import grpc_method
from zerogravity_proxy.gemini.spec import ExchangeSpec

Flavour = Literal["gemini", "cloudcode"]

GENERATE_METHODS = frozenset({"generateContent", "streamGenerateContent"})

_PUBLIC = re.compile(r"^/(?:v1|v1beta|v1alpha)/models/(?P<model>[^/:?]+):(?P<method>\w+)")
_CLOUDCODE = re.compile(r"^/v1internal:(?P<method>\w+)")

# Payload keys in both spellings (the proto-JSON parser accepts snake_case too): a spec replaces
# them all, so an originator's snake_case copy can never survive next to ours.
_PAYLOAD = {
    "contents": ("contents",),
    "systemInstruction": ("systemInstruction", "system_instruction"),
    "tools": ("tools",),
    "toolConfig": ("toolConfig", "tool_config"),
    "generationConfig": ("generationConfig", "generation_config"),
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    flavour: Flavour
    method: str
    model: str | None  # from the path (public REST API); Cloud Code and gRPC carry it in the body
    grpc: bool = False  # protobuf messages in gRPC frames, not JSON

    @property
    def generates(self) -> bool:
        return self.method in GENERATE_METHODS


def recognise(path: str) -> Endpoint | None:
    """The Gemini endpoint a request path addresses, or None for anything else.

    gRPC methods come in REST spelling (`StreamGenerateContent` → `streamGenerateContent`), so
    every rule about methods holds for both wires.
    """
    path = path.split("?", 1)[0]
    if grpc := grpc_method(path):
        return Endpoint("gemini", grpc[1], None, grpc=True)
    if m := _CLOUDCODE.match(path):
        return Endpoint("cloudcode", m["method"], None)
    if m := _PUBLIC.match(path):
        return Endpoint("gemini", m["method"], m["model"])
    return None


def payload_of(body: dict[str, Any], flavour: Flavour) -> dict[str, Any]:
    """The GenerateContentRequest inside a body (Cloud Code wraps it in `request`)."""
    if flavour == "cloudcode":
        inner = body.get("request")
        if not isinstance(inner, dict):
            inner = body["request"] = {}
        return inner
    return body


def apply_spec(body: dict[str, Any], flavour: Flavour, spec: ExchangeSpec) -> dict[str, Any]:
    """Put the spec's payload into an originator's body, in place, and return the body."""
    payload = payload_of(body, flavour)
    values = {
        "contents": spec.contents,
        "systemInstruction": spec.system_instruction,
        "tools": spec.tools,
        "toolConfig": spec.tool_config,
        "generationConfig": spec.generation_config,
    }
    for key, value in values.items():
        for spelling in _PAYLOAD[key]:
            payload.pop(spelling, None)
        if value is not None:
            payload[key] = value
    if spec.labels and flavour == "cloudcode":
        labels = payload.get("labels")
        payload["labels"] = {**(labels if isinstance(labels, dict) else {}), **spec.labels}
    return body
