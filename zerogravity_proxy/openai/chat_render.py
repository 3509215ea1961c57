"""Events to Chat Completions output: streamed chunks and the whole `chat.completion`.

One `ChatRender` accumulates an exchange, so the streaming and non-streaming paths cannot
drift apart: `feed` returns the chunks to send now, `finish` closes the stream, and
`completion` builds the non-streaming object from the same state (protocols.md A.3, A.4, E.4).

Non-standard fields, both read by common clients (A.6): `reasoning_content` carries thought
text (in `delta` and `message`), and in streaming the url_citation `annotations` ride on the
finish chunk's `delta`, because Gemini reports grounding only once the answer is complete.

With `n` > 1 each choice is an exchange of its own with its own `ChatRender` (its `index`);
`combined_completion` and `total_usage` put them together (one usage for all choices, summed:
each choice is billed as a request of its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
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
from zerogravity_proxy.openai.output import (
    FINISH_REASONS,
    TOOL_FAILURES,
    arguments_json,
    chat_usage,
    citations,
)

SSE_DONE: Final = b"data: [DONE]\n\n"


def sse_chunk(obj: Mapping[str, Any]) -> bytes:
    """One SSE event; Chat Completions streams carry no `event:` lines (A.4)."""
    return b"data: " + orjson.dumps(obj, default=dict) + b"\n\n"


def total_usage(usages: Iterable[Usage]) -> Usage:
    """The usage of several exchanges (the choices of one request), field by field."""
    names = [f.name for f in fields(Usage)]
    totals = dict.fromkeys(names, 0)
    for usage in usages:
        for name in names:
            totals[name] += getattr(usage, name)
    return Usage(**totals)


def combined_completion(renders: Sequence[ChatRender]) -> dict[str, Any]:
    """One `chat.completion` with a choice per render (in order) and their usages summed;
    raises what the first failed render's `completion` raises."""
    bodies = [render.completion() for render in renders]
    body = bodies[0]
    body["choices"] = [choice for b in bodies for choice in b["choices"]]
    body["usage"] = chat_usage(total_usage(render.usage for render in renders))
    return body


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
        "_index",
        "_model",
        "_null_opened",
        "_reasoning",
        "_started",
        "_text",
        "_tool_calls",
        "_usage",
    )

    def __init__(
        self,
        *,
        completion_id: str,
        created: int,
        model: str,
        include_usage: bool,
        index: int = 0,
    ) -> None:
        self._id = completion_id
        self._created = created
        self._model = model
        self._include_usage = include_usage
        self._index = index  # the choice's index, in its chunks and its completion choice
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._tool_calls: list[dict[str, Any]] = []  # message form, shared with the deltas
        self._annotations: list[dict[str, Any]] = []
        self._usage = Usage()
        self._finish: Finish | None = None
        self._error: OpenAIError | None = None
        self._started = False  # the role chunk has been sent
        self._null_opened = False  # ... with `content: null`
        self._finished = False  # the finish chunk has been sent

    @property
    def index(self) -> int:
        return self._index

    @property
    def usage(self) -> Usage:
        """The exchange's usage so far (zeros until Gemini reports it)."""
        return self._usage

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
                return self._delta({"reasoning_content": text}, None)
            case ToolCall():
                call = {
                    "id": event.id,
                    "type": "function",
                    "function": {
                        "name": event.name,
                        "arguments": arguments_json(event.args),
                    },
                }
                index = len(self._tool_calls)
                self._tool_calls.append(call)
                # A first tool call opens with `content: null`, as OpenAI sends it, and so does
                # a first thought: whether text follows is not known yet (see `finish`).
                return self._delta({"tool_calls": [{"index": index, **call}]}, None)
            case Grounding():
                self._annotations = citations(event)
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
        delta: dict[str, Any] = {}
        if self._null_opened and not self._text and not self._tool_calls:
            delta["content"] = ""  # thoughts only: the content is "", as `completion` says
        if self._annotations:
            delta["annotations"] = self._annotations
        out.append(self._chunk(delta, reason))
        if self._include_usage:
            out.append(self.usage_chunk())
        return out

    def usage_chunk(self, usage: Usage | None = None) -> dict[str, Any]:
        """The `include_usage` chunk (no choices), for `usage` or else this exchange's."""
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "system_fingerprint": None,
            "choices": [],
            "usage": chat_usage(self._usage if usage is None else usage),
        }

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
                {
                    "index": self._index,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": reason,
                }
            ],
            "usage": chat_usage(self._usage),
        }

    def _finish_reason(self) -> str:
        if self._error is not None:
            raise self._error
        if self._finish is None:
            raise OpenAIError(
                502, "upstream ended without finishing", "api_error", "upstream_incomplete"
            )
        reason = self._finish.reason
        if code := TOOL_FAILURES.get(reason):
            detail = f": {self._finish.message}" if self._finish.message else ""
            raise OpenAIError(502, f"Gemini stopped with {reason}{detail}", "api_error", code)
        if self._tool_calls:  # Gemini says STOP after calling tools
            return "tool_calls"
        return FINISH_REASONS.get(reason, "stop")

    def _delta(self, delta: dict[str, Any], role_content: str | None) -> list[dict[str, Any]]:
        chunk = self._chunk(delta, None)
        if self._started:
            return [chunk]
        self._started = True
        self._null_opened = role_content is None
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
                {
                    "index": self._index,
                    "delta": delta,
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
        }
