"""The stand-in's gRPC wire: one `StreamGenerateContent` call with Google's own client.

With `--wire grpc` a turn sends its generation request to the public Gemini API over gRPC
(`google.ai.generativelanguage.v1beta.GenerativeService`), as a gRPC client would, instead of
Cloud Code's JSON. Like any gRPC client it is pointed at a proxy by its environment:
`https_proxy` (grpc's HTTP CONNECT proxy) and `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH` (the roots that
verify the server), both read by grpc when it creates its first channel; see `grpc_environment`.

The request is the LS's own (its system prompt and tools, its user turn wrapped the same way) in
public-API form; every message received is recorded as REST JSON (camelCase, `MessageToDict`),
and the call's final status as its gRPC code name (`OK`, `RESOURCE_EXHAUSTED`, ...).
"""

from __future__ import annotations

import asyncio
import copy
import os
import struct
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from google.ai.generativelanguage_v1beta import GenerativeServiceAsyncClient
from google.ai.generativelanguage_v1beta.types import (
    GenerateContentRequest,
    GenerateContentResponse,
)
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.protobuf import json_format

from .config import StandInConfig
from .envelope import wire_model
from .prompt import FUNCTION_DECLARATIONS, SYSTEM_PROMPT
from .state import RequestRecord

JSON = dict[str, Any]

GRPC_PATH = "/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent"
API_KEY = "standin-gemini-api-key"
LS_MAX_OUTPUT_TOKENS = 65536

# Variables that would send grpc elsewhere than `https_proxy` says (grpc_proxy wins over it,
# no_proxy exempts hosts), cleared so that the stand-in always goes through the given proxy.
_PROXY_OVERRIDES = ("grpc_proxy", "no_grpc_proxy", "no_proxy", "NO_PROXY")


def grpc_environment(
    proxy: str | None,
    ca_file: str | Path | None,
    environ: MutableMapping[str, str] | None = None,
) -> None:
    """Point grpc at `proxy` and make it trust `ca_file`; call before grpc makes a channel."""
    env = os.environ if environ is None else environ
    if proxy:
        for name in _PROXY_OVERRIDES:
            env.pop(name, None)
        env["https_proxy"] = proxy
    if ca_file is not None:
        env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(ca_file)


def _public_schema(schema: Any) -> Any:
    """A JSON schema in the public proto's `Schema` form: type names are enum names."""
    if isinstance(schema, list):
        return [_public_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: JSON = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.upper()
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _public_schema(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = _public_schema(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def public_declarations() -> list[JSON]:
    """The LS's own tools as the public API declares them."""
    return [
        {**decl, "parameters": _public_schema(decl["parameters"])} for decl in FUNCTION_DECLARATIONS
    ]


def public_request(model_enum: str, contents: list[JSON]) -> JSON:
    """The LS's generation request in public-API form (REST JSON); raises UnknownModelError.

    The same payload as the Cloud Code envelope's `request`, minus what the public proto has
    no field for (session id, labels, a thinking level: Gemini 3 thinks at its default, high).
    """
    return {
        "model": f"models/{wire_model(model_enum)}",
        "contents": copy.deepcopy(contents),
        "systemInstruction": {"role": "user", "parts": [{"text": SYSTEM_PROMPT}]},
        "tools": [{"functionDeclarations": public_declarations()}],
        "toolConfig": {"functionCallingConfig": {"mode": "VALIDATED"}},
        "generationConfig": {
            "maxOutputTokens": LS_MAX_OUTPUT_TOKENS,
            "thinkingConfig": {"includeThoughts": True},
        },
    }


def to_message(request: JSON) -> GenerateContentRequest:
    """REST JSON → the client's request message; raises json_format.ParseError."""
    raw = GenerateContentRequest.pb()()
    json_format.ParseDict(request, raw)
    message: GenerateContentRequest = GenerateContentRequest.wrap(raw)
    return message


def to_json(response: GenerateContentResponse) -> JSON:
    """A received message as REST JSON (camelCase, enums by name)."""
    raw = GenerateContentResponse.pb(response)
    return json_format.MessageToDict(raw)


def _framed(message: bytes) -> bytes:
    """One uncompressed gRPC frame, as recorded in `RequestRecord.body`."""
    return struct.pack(">BI", 0, len(message)) + message


class GrpcGeneration:
    """`await open()` once, `await stream(record, request, on_message)` per call, `close()`."""

    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self._client: GenerativeServiceAsyncClient | None = None

    async def open(self) -> None:
        """The client (and its channel) for the default endpoint, with no credentials."""
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        self._client = GenerativeServiceAsyncClient(
            transport="grpc_asyncio", credentials=credentials
        )

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.transport.close()  # type: ignore[no-untyped-call]

    async def stream(
        self, record: RequestRecord, request: JSON, on_message: Callable[[JSON], None]
    ) -> None:
        """Send `request` (REST JSON), read the stream to its status, filling in the record.

        `record.messages` gets each message as REST JSON (also handed to `on_message`),
        `record.body` their protobuf bytes in gRPC frames (uncompressed; grpc hides the wire
        itself, so `record.wire` stays empty); `record.grpc_status` and `grpc_message` the
        final status. The turn timeout and failures to build the request end up in the
        record, never raised. No retries: one call, one status. The call carries an API key
        (`x-goog-api-key`), as a public-API client's does.
        """
        if self._client is None:
            raise RuntimeError("the gRPC client is not open")
        try:
            message = to_message(request)
        except json_format.ParseError as exc:
            record.error = f"the request does not fit the public proto: {exc}"
            return
        try:
            async with asyncio.timeout(self.config.turn_timeout):
                await self._call(self._client, record, message, on_message)
        except TimeoutError:
            record.timed_out = True
            record.error = f"no complete answer within {self.config.turn_timeout:g} s"

    @staticmethod
    async def _call(
        client: GenerativeServiceAsyncClient,
        record: RequestRecord,
        message: GenerateContentRequest,
        on_message: Callable[[JSON], None],
    ) -> None:
        try:
            responses = await client.stream_generate_content(
                request=message, retry=None, metadata=[("x-goog-api-key", API_KEY)]
            )
            async for response in responses:
                record.body += _framed(GenerateContentResponse.serialize(response))
                chunk = to_json(response)
                record.messages.append(chunk)
                on_message(chunk)
        except api_exceptions.GoogleAPICallError as exc:
            code = exc.grpc_status_code
            record.grpc_status = code.name if code is not None else "UNKNOWN"
            record.grpc_message = exc.message
        else:
            record.grpc_status = "OK"
        record.complete = True
