"""Events to Chat Completions output: streamed chunks and the whole `chat.completion`.

One `ChatRender` accumulates an exchange, so the streaming and non-streaming paths cannot
drift apart: `feed` returns the chunks to send now, `finish` closes the stream, and
`completion` builds the non-streaming object from the same state (protocols.md A.3, A.4, E.4).

Non-standard fields, both read by common clients (A.6): `reasoning_content` carries thought
text (in `delta` and `message`), and in streaming the url_citation `annotations` ride on the
finish chunk's `delta`, because Gemini reports grounding only once the answer is complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import orjson

from zerogravity_proxy.events import (
    Event,
    Finish,
    Grounding,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    UpstreamError,
    Usage,
)
from zerogravity_proxy.openai.errors import OpenAIError, from_upstream

SSE_DONE: Final = b"data: [DONE]\n\n"

# Every Gemini finishReason not listed here (STOP, FINISH_REASON_UNSPECIFIED, OTHER and values
# newer than this table) is a normal end: "stop".
_FINISH_REASONS: Final[Mapping[str, str]] = {
    "MAX_TOKENS": "length",
    **dict.fromkeys(
        (
            "SAFETY",
            "RECITATION",
            "LANGUAGE",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
            "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT",
            "IMAGE_RECITATION",
            "PROMPT_BLOCKED",
        ),
        "content_filter",
    ),
}

# Failed tool calling has no OpenAI finish_reason; reporting "stop" would pass off a broken
# turn as a finished one, so these become errors the client can see and retry.
_TOOL_FAILURES: Final[Mapping[str, str]] = {
    "MALFORMED_FUNCTION_CALL": "malformed_function_call",
    "UNEXPECTED_TOOL_CALL": "unexpected_tool_call",
    "TOO_MANY_TOOL_CALLS": "too_many_tool_calls",
}


def sse_chunk(obj: Mapping[str, Any]) -> bytes:
    """One SSE event; Chat Completions streams carry no `event:` lines (A.4)."""
    return b"data: " + orjson.dumps(obj, default=dict) + b"\n\n"


class ChatRender:
    """The state of one chat completion, rendered as chunks as it grows or whole at the end.

    The finish chunk is sent by `finish`, not on the `Finish` event: grounding and usage
    arrive after it, and the finish reason depends on every tool call seen.
    """

    __slots__ = (
        "_annotations",
        "_created",
        "_error",
        "_finish",
        "_finished",
        "_id",
        "_include_usage",
        "_model",
        "_reasoning",
        "_started",
        "_text",
        "_tool_calls",
        "_usage",
    )

    def __init__(
        self, *, completion_id: str, created: int, model: str, include_usage: bool
    ) -> None:
        self._id = completion_id
        self._created = created
        self._model = model
        self._include_usage = include_usage
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._tool_calls: list[dict[str, Any]] = []  # message form, shared with the deltas
        self._annotations: list[dict[str, Any]] = []
        self._usage = Usage()
        self._finish: Finish | None = None
        self._error: OpenAIError | None = None
        self._started = False  # the role chunk has been sent
        self._finished = False  # the finish chunk has been sent

    def feed(self, event: Event) -> list[dict[str, Any]]:
        """The chunks to send for `event`; raises the client-facing error for `UpstreamError`."""
        match event:
            case TextDelta(text=text):
                if not text:  # a signature-only part: nothing for the client
                    return []
                self._text.append(text)
                return self._delta({"content": text}, "")
            case ThoughtDelta(text=text):
                if not text:
                    return []
                self._reasoning.append(text)
                return self._delta({"reasoning_content": text}, "")
            case ToolCall():
                call = {
                    "id": event.id,
                    "type": "function",
                    "function": {
                        "name": event.name,
                        "arguments": _arguments(event.args),
                    },
                }
                index = len(self._tool_calls)
                self._tool_calls.append(call)
                # A first tool call opens with `content: null`, as OpenAI sends it; text and
                # thoughts open with "". So only thoughts followed by nothing but tool calls
                # stream a content of "" where `completion` says null (both valid, A.3).
                return self._delta({"tool_calls": [{"index": index, **call}]}, None)
            case Grounding():
                self._annotations = _annotations(event)
            case Usage():
                self._usage = event
            case Finish():
                self._finish = event
            case UpstreamError():
                self._error = from_upstream(event)
                raise self._error
        return []

    def finish(self) -> list[dict[str, Any]]:
        """The closing chunks: role (if nothing was sent), finish, then usage if requested.

        Raises instead if the answer failed or never finished, so success is never reported
        for an incomplete answer. A second call returns nothing.
        """
        if self._finished:
            return []
        reason = self._finish_reason()
        self._finished = True
        out = [] if self._started else [self._role_chunk("")]
        self._started = True
        out.append(
            self._chunk({"annotations": self._annotations} if self._annotations else {}, reason)
        )
        if self._include_usage:
            out.append(
                {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": self._created,
                    "model": self._model,
                    "system_fingerprint": None,
                    "choices": [],
                    "usage": _usage(self._usage),
                }
            )
        return out

    def completion(self) -> dict[str, Any]:
        """The non-streaming `chat.completion`; raises exactly what `finish` would."""
        reason = self._finish_reason()
        text = "".join(self._text)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": text or (None if self._tool_calls else ""),
            "refusal": None,
            "annotations": self._annotations,
        }
        if self._tool_calls:
            message["tool_calls"] = self._tool_calls
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        return {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": reason}
            ],
            "usage": _usage(self._usage),
        }

    def _finish_reason(self) -> str:
        if self._error is not None:
            raise self._error
        if self._finish is None:
            raise OpenAIError(
                502, "upstream ended without finishing", "api_error", "upstream_incomplete"
            )
        reason = self._finish.reason
        if code := _TOOL_FAILURES.get(reason):
            detail = f": {self._finish.message}" if self._finish.message else ""
            raise OpenAIError(502, f"Gemini stopped with {reason}{detail}", "api_error", code)
        if self._tool_calls:  # Gemini says STOP after calling tools
            return "tool_calls"
        return _FINISH_REASONS.get(reason, "stop")

    def _delta(self, delta: dict[str, Any], role_content: str | None) -> list[dict[str, Any]]:
        chunk = self._chunk(delta, None)
        if self._started:
            return [chunk]
        self._started = True
        return [self._role_chunk(role_content), chunk]

    def _role_chunk(self, content: str | None) -> dict[str, Any]:
        return self._chunk({"role": "assistant", "content": content}, None)

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }


def _arguments(args: Mapping[str, Any]) -> str:
    """Compact JSON text, as `json.dumps(args, ensure_ascii=False)` would give but faster.

    The stdlib handles what orjson refuses (integers beyond 64 bits, very deep nesting), so
    odd arguments never break a stream.
    """
    try:
        return orjson.dumps(args, default=dict).decode()
    except TypeError:
        return json.dumps(args, ensure_ascii=False, separators=(",", ":"), default=dict)


def _annotations(grounding: Grounding) -> list[dict[str, Any]]:
    """One url_citation per support, citing its first source (as LiteLLM does, E.4)."""
    out: list[dict[str, Any]] = []
    for support in grounding.supports:
        if not support.sources or not 0 <= support.sources[0] < len(grounding.sources):
            continue
        source = grounding.sources[support.sources[0]]
        out.append(
            {
                "type": "url_citation",
                "url_citation": {
                    "start_index": support.start,
                    "end_index": support.end,
                    "title": source.title,
                    "url": source.uri,
                },
            }
        )
    return out


def _usage(usage: Usage) -> dict[str, Any]:
    """OpenAI usage from Gemini counts, built so that total == prompt + completion always.

    Tool-use prompt tokens are prompt input OpenAI has no field for; thoughts are output.
    """
    prompt = usage.prompt + usage.tool_use_prompt
    completion = usage.candidates + usage.thoughts
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": usage.cached},
        "completion_tokens_details": {"reasoning_tokens": usage.thoughts},
    }
