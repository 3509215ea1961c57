"""Turn decoded `GenerateContentResponse` chunks into events (protocols.md D.4/D.5).

One interpreter per response: it remembers the answer text (grounding offsets are relative to
it), the last cumulative `usageMetadata`, and whether the stream reached an end, so that
`close()` can report one `Usage` and flag a stream that stopped without a finish reason.
Chunks are untrusted JSON: every field is type-checked and anything unexpected is skipped.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any, TypeIs

from zerogravity_proxy.events import (
    Event,
    Finish,
    Grounding,
    Source,
    Support,
    TextDelta,
    ThoughtDelta,
    ToolCall,
    UpstreamError,
    Usage,
)
from zerogravity_proxy.gemini.errors import error_from_object

# Parts we do not render yet; their signatures stay with them rather than moving to text.
_SKIPPED_PARTS = ("inlineData", "fileData", "executableCode", "codeExecutionResult")


def new_call_id() -> str:
    """An OpenAI-style tool-call id for a `functionCall` that came without one."""
    return "call_" + secrets.token_hex(12)


class ChunkInterpreter:
    """Feed parsed chunks (Cloud Code envelope or bare), get events; then `close()` once."""

    def __init__(self, new_call_id: Callable[[], str] = new_call_id) -> None:
        self._new_call_id = new_call_id
        self._answer: list[str] = []  # non-thought text so far
        self._usage: Mapping[str, Any] | None = None
        self._chunks = 0
        self._finished = False
        self._failed = False

    @property
    def finished(self) -> bool:
        """A `Finish` or `UpstreamError` has been emitted: the stream reached an end."""
        return self._finished or self._failed

    @property
    def failed(self) -> bool:
        """An `UpstreamError` has been emitted; later chunks are ignored."""
        return self._failed

    def feed(self, chunk: Mapping[str, Any]) -> list[Event]:
        if self._failed:
            return []
        self._chunks += 1
        envelope = chunk.get("response")
        body = envelope if isinstance(envelope, Mapping) else chunk
        if body.get("error") is not None:
            self._failed = True
            return [error_from_object(body, 502)]
        usage = body.get("usageMetadata")
        if isinstance(usage, Mapping):
            self._usage = usage
        candidates = body.get("candidates")
        if isinstance(candidates, list) and candidates:
            first = candidates[0]
            return self._candidate(first) if isinstance(first, Mapping) else []
        return self._prompt_feedback(body.get("promptFeedback"))

    def fail(self, error: UpstreamError) -> list[Event]:
        """An error reported beside the chunks (gRPC trailers): it ends the stream like one."""
        if self._failed:
            return []
        self._failed = True
        return [error]

    def close(self) -> list[Event]:
        """The final `Usage`, and a `STREAM_TRUNCATED` error if the stream never ended."""
        events: list[Event] = []
        if self._usage is not None:
            events.append(_usage(self._usage))
        if not self.finished:
            self._failed = True
            what = "ended without a finish reason" if self._chunks else "was empty"
            events.append(UpstreamError(502, "STREAM_TRUNCATED", f"upstream stream {what}"))
        return events

    def _candidate(self, candidate: Mapping[str, Any]) -> list[Event]:
        events: list[Event] = []
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, Mapping) else None
        for part in _list(parts):
            event = self._part(part) if isinstance(part, Mapping) else None
            if event is not None:
                events.append(event)
        metadata = candidate.get("groundingMetadata")
        grounding = self._grounding(metadata) if isinstance(metadata, Mapping) else None
        if grounding is not None:
            events.append(grounding)
        reason = _str(candidate.get("finishReason"))
        if reason and not self._finished:
            self._finished = True
            events.append(Finish(reason, _str(candidate.get("finishMessage")) or None))
        return events

    def _part(self, part: Mapping[str, Any]) -> Event | None:
        signature = _str(part.get("thoughtSignature")) or None
        call = part.get("functionCall")
        if isinstance(call, Mapping):
            return self._tool_call(call, signature)
        if any(key in part for key in _SKIPPED_PARTS):
            return None
        text = _str(part.get("text"))
        if not text and signature is None:
            return None
        if part.get("thought") is True:
            return ThoughtDelta(text, signature)
        self._answer.append(text)
        return TextDelta(text, signature)

    def _tool_call(self, call: Mapping[str, Any], signature: str | None) -> ToolCall:
        args = call.get("args")
        return ToolCall(
            id=_str(call.get("id")) or self._new_call_id(),
            name=_str(call.get("name")),
            args=args if isinstance(args, Mapping) else {},
            signature=signature,
        )

    def _prompt_feedback(self, feedback: Any) -> list[Event]:
        if not isinstance(feedback, Mapping) or self._finished:
            return []
        reason = _str(feedback.get("blockReason"))
        if not reason:
            return []
        self._finished = True
        message = f"prompt blocked: {reason}"
        detail = _str(feedback.get("blockReasonMessage"))
        return [Finish("PROMPT_BLOCKED", f"{message} ({detail})" if detail else message)]

    def _grounding(self, metadata: Mapping[str, Any]) -> Grounding | None:
        queries = tuple(q for q in _list(metadata.get("webSearchQueries")) if isinstance(q, str))
        sources = tuple(_source(c) for c in _list(metadata.get("groundingChunks")))
        raw_supports = _list(metadata.get("groundingSupports"))
        supports: tuple[Support, ...] = ()
        if raw_supports:
            answer = self._answer_bytes()
            supports = tuple(_support(s, answer) for s in raw_supports if isinstance(s, Mapping))
        if not (queries or sources or supports):
            return None
        return Grounding(queries, sources, supports)

    def _answer_bytes(self) -> bytes:
        """The answer so far as UTF-8, since Gemini's segment offsets count bytes."""
        text = "".join(self._answer)
        self._answer = [text]
        return text.encode("utf-8")


def _source(chunk: Any) -> Source:
    """Keep one `Source` per grounding chunk so that `Support.sources` indices stay valid."""
    web = chunk.get("web") if isinstance(chunk, Mapping) else None
    if not isinstance(web, Mapping):
        return Source("", "")
    return Source(_str(web.get("uri")), _str(web.get("title")))


def _support(support: Mapping[str, Any], answer: bytes) -> Support:
    segment = support.get("segment")
    if not isinstance(segment, Mapping):
        segment = {}
    start = _int(segment.get("startIndex"))
    end = _int(segment.get("endIndex"))
    indices = tuple(i for i in _list(support.get("groundingChunkIndices")) if _is_int(i))
    return Support(
        _char_offset(answer, start),
        _char_offset(answer, end),
        _str(segment.get("text")),
        indices,
    )


def _char_offset(text: bytes, byte_offset: int) -> int:
    """Characters in the first `byte_offset` bytes; an offset inside a character rounds down."""
    return len(text[: max(byte_offset, 0)].decode("utf-8", "ignore"))


def _usage(metadata: Mapping[str, Any]) -> Usage:
    return Usage(
        prompt=_int(metadata.get("promptTokenCount")),
        cached=_int(metadata.get("cachedContentTokenCount")),
        candidates=_int(metadata.get("candidatesTokenCount")),
        thoughts=_int(metadata.get("thoughtsTokenCount")),
        tool_use_prompt=_int(metadata.get("toolUsePromptTokenCount")),
        total=_int(metadata.get("totalTokenCount")),
    )


def _is_int(value: Any) -> TypeIs[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any) -> int:
    return value if _is_int(value) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
