"""Events to Responses API output: streamed events and the whole `response` object.

One `ResponsesRender` accumulates an exchange, so streaming and non-streaming cannot drift
apart: `feed` returns the events to send now, `finish` (or `fail`) closes the stream, and
`response` is the object the terminal event carries (protocols.md B.3, B.4, E.5).
It shares ChatRender's semantics: the same usage arithmetic, finish-reason table, tool-call
failures, citations and argument JSON.

Choices:
- `response.created` and `response.in_progress` go out with the first event there is to send,
  so an upstream error before any content still reaches the client as an HTTP status: `feed`
  raises it. Once anything was emitted (or `start` was called) the error is kept for `finish`,
  which answers `response.failed`.
- At most one item is open at a time; content of another kind closes it, so `output` is the
  done items in `output_index` order. A function call is added and done at once (its arguments
  arrive whole, in one delta). When the turn ends short (incomplete or failed), `finish` closes
  the open item with status `incomplete`; `fail` closes nothing.
- Thought signatures become reasoning items' `encrypted_content`, which the request side turns
  back into the signature of the next function call. The latest signature not yet placed goes
  on the reasoning item that closes next. A function call with a signature to place and no open
  reasoning item (thinking off, or text in between) gets an empty-summary reasoning item right
  before it: placing it earlier would reorder items already streamed. A signature left at the
  end (a text-only turn) is dropped: Gemini validates signatures only on function calls (D.3),
  and a reasoning item after the answer would have no call to attach to. These items exist
  whether or not `include_encrypted` is set, as OpenAI's reasoning items do; `include_encrypted`
  only decides whether `encrypted_content` is shown.
- Grounding annotates the open message only, its offsets rebased onto that message; supports
  for text in an already finished message are dropped, as its done event has been sent.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

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

# Chat finish reasons that end a Responses turn as `incomplete`, with this reason.
_INCOMPLETE: Final[Mapping[str, str]] = {
    "length": "max_output_tokens",
    "content_filter": "content_filter",
}

# What the renderer owns in the Response object; an echoed request field never overrides it.
_OWN_KEYS: Final = frozenset(
    {
        "id",
        "object",
        "created_at",
        "status",
        "model",
        "output",
        "usage",
        "error",
        "incomplete_details",
        "completed_at",
    }
)

_Status = Literal["completed", "incomplete", "failed"]


def sse_event(event: Mapping[str, Any]) -> bytes:
    """One SSE event; the `event:` line repeats `type` for clients that dispatch on it (B.4)."""
    return b"event: %s\ndata: %s\n\n" % (event["type"].encode(), orjson.dumps(event, default=dict))


@dataclass(slots=True)
class _Reasoning:
    id: str
    index: int
    texts: list[str] = field(default_factory=list)  # empty: an item carrying only a signature


@dataclass(slots=True)
class _Message:
    id: str
    index: int
    start: int  # where this message begins in the whole answer text (grounding offsets)
    texts: list[str] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)


class ResponsesRender:
    """The state of one response, rendered as stream events as it grows or whole at the end.

    The terminal event is sent by `finish`, not on the `Finish` event: content, grounding and
    usage may still follow it.
    """

    __slots__ = (
        "_answer_len",
        "_called",
        "_clock",
        "_created_at",
        "_echo",
        "_failure",
        "_final",
        "_finish",
        "_id",
        "_include_encrypted",
        "_model",
        "_open",
        "_output",
        "_seq",
        "_signature",
        "_signatures",
        "_started",
        "_usage",
    )

    def __init__(
        self,
        *,
        response_id: str,
        created_at: int,
        model: str,
        echo: Mapping[str, Any],
        include_encrypted: bool,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._id = response_id
        self._created_at = created_at
        self._model = model
        # The SDK requires these three; defaults for when the request left them out.
        self._echo: dict[str, Any] = {
            "tools": [],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            **{k: v for k, v in echo.items() if k not in _OWN_KEYS},
        }
        self._include_encrypted = include_encrypted
        self._clock = clock
        self._seq = 0
        self._started = False
        self._open: _Reasoning | _Message | None = None
        self._output: list[dict[str, Any]] = []  # done items; position == output_index
        self._signatures: dict[int, str] = {}  # output_index of a reasoning item -> signature
        self._signature: str | None = None  # the latest signature no item carries yet
        self._answer_len = 0
        self._called = False
        self._usage = Usage()
        self._finish: Finish | None = None
        self._failure: OpenAIError | None = None
        self._final: dict[str, Any] | None = None

    @property
    def failure(self) -> OpenAIError | None:
        """Why the response failed, for an HTTP status or the log; final once `finish` ran."""
        return self._failure

    def start(self) -> list[dict[str, Any]]:
        """`response.created` and `response.in_progress`, once; `feed` and `finish` call it."""
        if self._started:
            return []
        self._started = True
        snapshot = self._object("in_progress", [])
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    def feed(self, event: Event) -> list[dict[str, Any]]:
        """The events to send for `event`; raises an upstream error if nothing was started."""
        if self._final is not None or self._failure is not None:
            return []
        out: list[dict[str, Any]] = []
        match event:
            case ThoughtDelta(text=text, signature=signature):
                self._signature = signature or self._signature
                if text:
                    self._thought(out, text)
            case TextDelta(text=text, signature=signature):
                self._signature = signature or self._signature
                if text:
                    self._text(out, text)
            case ToolCall():
                self._signature = event.signature or self._signature
                self._call(out, event)
            case Grounding():
                self._ground(out, event)
            case Usage():
                self._usage = event
            case Finish():
                self._finish = event
            case UpstreamError():
                self._failure = from_upstream(event, input_param="input")
                if not self._started:
                    raise self._failure
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Close the open item, then the terminal event; a second call returns nothing."""
        if self._final is not None:
            return []
        out = self.start()
        status, incomplete = self._outcome()
        if self._open is not None:
            self._close(out, "completed" if status == "completed" else "incomplete")
        out.append(self._terminal(status, incomplete))
        return out

    def fail(self, error: OpenAIError) -> list[dict[str, Any]]:
        """`response.failed` for a failure outside the event stream; open items stay unfinished."""
        if self._final is not None:
            return []
        out = self.start()
        self._failure = error
        out.append(self._terminal("failed", None))
        return out

    def response(self, *, include_encrypted: bool | None = None) -> dict[str, Any]:
        """The final Response object, finishing first if needed (the non-streaming path).

        `include_encrypted` overrides the request's choice, e.g. for a stored copy that must
        keep the signatures to replay them.
        """
        if self._final is None:
            self.finish()
        final = self._final
        assert final is not None
        if include_encrypted is None or include_encrypted == self._include_encrypted:
            return final
        return {**final, "output": self._rendered_output(include_encrypted)}

    # --- content ---

    def _thought(self, out: list[dict[str, Any]], text: str) -> None:
        item = self._open
        if not isinstance(item, _Reasoning):
            item = self._add_reasoning(out)
            out.append(
                self._event(
                    "response.reasoning_summary_part.added",
                    item_id=item.id,
                    output_index=item.index,
                    summary_index=0,
                    part={"type": "summary_text", "text": ""},
                )
            )
        item.texts.append(text)
        out.append(
            self._event(
                "response.reasoning_summary_text.delta",
                item_id=item.id,
                output_index=item.index,
                summary_index=0,
                delta=text,
            )
        )

    def _text(self, out: list[dict[str, Any]], text: str) -> None:
        item = self._open
        if not isinstance(item, _Message):
            item_id = f"msg_{secrets.token_hex(12)}"
            added = {
                "id": item_id,
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            index = self._add(out, item_id, added)
            item = self._open = _Message(item_id, index, self._answer_len)
            out.append(
                self._event(
                    "response.content_part.added",
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    part={"type": "output_text", "text": "", "annotations": []},
                )
            )
        item.texts.append(text)
        self._answer_len += len(text)
        out.append(
            self._event(
                "response.output_text.delta",
                item_id=item.id,
                output_index=item.index,
                content_index=0,
                delta=text,
                logprobs=[],
            )
        )

    def _call(self, out: list[dict[str, Any]], call: ToolCall) -> None:
        self._called = True
        if self._signature is not None and not isinstance(self._open, _Reasoning):
            self._add_reasoning(out)  # closed by the call's own `_add`, taking the signature
        arguments = arguments_json(call.args)
        item = {
            "id": f"fc_{secrets.token_hex(12)}",
            "type": "function_call",
            "call_id": call.id,
            "name": call.name,
            "arguments": "",
            "status": "in_progress",
        }
        index = self._add(out, item["id"], item)
        head = {"item_id": item["id"], "output_index": index}
        done = {**item, "arguments": arguments, "status": "completed"}
        self._output.append(done)
        out += (
            self._event("response.function_call_arguments.delta", **head, delta=arguments),
            self._event(
                "response.function_call_arguments.done",
                **head,
                name=call.name,
                arguments=arguments,
            ),
            self._event("response.output_item.done", output_index=index, item=done),
        )

    def _ground(self, out: list[dict[str, Any]], grounding: Grounding) -> None:
        item = self._open
        if not isinstance(item, _Message):
            return
        for annotation in citations(grounding):
            cite = annotation["url_citation"]
            start = cite["start_index"] - item.start
            if start < 0:
                continue
            flat = {
                "type": "url_citation",
                "start_index": start,
                "end_index": cite["end_index"] - item.start,
                "title": cite["title"],
                "url": cite["url"],
            }
            out.append(
                self._event(
                    "response.output_text.annotation.added",
                    item_id=item.id,
                    output_index=item.index,
                    content_index=0,
                    annotation_index=len(item.annotations),
                    annotation=flat,
                )
            )
            item.annotations.append(flat)

    # --- items ---

    def _add_reasoning(self, out: list[dict[str, Any]]) -> _Reasoning:
        item_id = f"rs_{secrets.token_hex(12)}"
        index = self._add(out, item_id, {"id": item_id, "type": "reasoning", "summary": []})
        item = self._open = _Reasoning(item_id, index)
        return item

    def _add(self, out: list[dict[str, Any]], item_id: str, item: dict[str, Any]) -> int:
        """Start if needed, close the open item, announce `item`; returns its output_index."""
        out += self.start()
        if self._open is not None:
            self._close(out, "completed")
        index = len(self._output)
        out.append(self._event("response.output_item.added", output_index=index, item=item))
        return index

    def _close(self, out: list[dict[str, Any]], status: Literal["completed", "incomplete"]) -> None:
        item = self._open
        assert item is not None
        self._open = None
        head = {"item_id": item.id, "output_index": item.index}
        done: dict[str, Any]
        if isinstance(item, _Reasoning):
            done = {"id": item.id, "type": "reasoning", "summary": []}
            if item.texts:
                text = "".join(item.texts)
                part = {"type": "summary_text", "text": text}
                out.append(
                    self._event(
                        "response.reasoning_summary_text.done", **head, summary_index=0, text=text
                    )
                )
                part_done = self._event(
                    "response.reasoning_summary_part.done", **head, summary_index=0, part=part
                )
                if status == "incomplete":
                    part_done["status"] = status
                out.append(part_done)
                done["summary"] = [part]
            if status == "incomplete":  # OpenAI leaves status off finished reasoning items
                done["status"] = status
            if self._signature is not None:
                self._signatures[item.index] = self._signature
                self._signature = None
        else:
            text = "".join(item.texts)
            content = {"type": "output_text", "text": text, "annotations": item.annotations}
            out += (
                self._event(
                    "response.output_text.done", **head, content_index=0, text=text, logprobs=[]
                ),
                self._event("response.content_part.done", **head, content_index=0, part=content),
            )
            done = {
                "id": item.id,
                "type": "message",
                "role": "assistant",
                "status": status,
                "content": [content],
            }
        self._output.append(done)
        out.append(
            self._event(
                "response.output_item.done",
                output_index=item.index,
                item=self._rendered(item.index, self._include_encrypted),
            )
        )

    def _rendered(self, index: int, include_encrypted: bool) -> dict[str, Any]:
        item = self._output[index]
        signature = self._signatures.get(index)
        if include_encrypted and signature is not None:
            return {**item, "encrypted_content": signature}
        return item

    def _rendered_output(self, include_encrypted: bool) -> list[dict[str, Any]]:
        return [self._rendered(i, include_encrypted) for i in range(len(self._output))]

    # --- the end ---

    def _outcome(self) -> tuple[_Status, dict[str, str] | None]:
        """The terminal status as ChatRender's finish reason decides it; records failures."""
        if self._failure is not None:
            return "failed", None
        if self._finish is None:
            self._failure = OpenAIError(
                502, "upstream ended without finishing", "api_error", "upstream_incomplete"
            )
            return "failed", None
        reason = self._finish.reason
        if code := TOOL_FAILURES.get(reason):
            detail = f": {self._finish.message}" if self._finish.message else ""
            self._failure = OpenAIError(
                502, f"Gemini stopped with {reason}{detail}", "api_error", code
            )
            return "failed", None
        if not self._called and (why := _INCOMPLETE.get(FINISH_REASONS.get(reason, ""))):
            return "incomplete", {"reason": why}
        return "completed", None  # as in Chat, calls made mean a finished turn

    def _terminal(self, status: _Status, incomplete: dict[str, str] | None) -> dict[str, Any]:
        final = self._object(status, self._rendered_output(self._include_encrypted))
        final["usage"] = _responseschat_usage(self._usage)
        if status == "completed":
            final["completed_at"] = int(self._clock())
        elif status == "incomplete":
            final["incomplete_details"] = incomplete
        else:
            assert self._failure is not None
            final["error"] = _response_error(self._failure)
        self._final = final
        return self._event(f"response.{status}", response=final)

    def _object(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self._id,
            "object": "response",
            "created_at": self._created_at,
            "status": status,
            "model": self._model,
            "output": output,
            **self._echo,
            "usage": None,
            "error": None,
            "incomplete_details": None,
        }

    def _event(self, type_: str, **fields: Any) -> dict[str, Any]:
        event = {"type": type_, "sequence_number": self._seq, **fields}
        self._seq += 1
        return event


def _responseschat_usage(usage: Usage) -> dict[str, Any]:
    """Chat's numbers in the Responses shape, where every key is required (B.3)."""
    chat = chat_usage(usage)
    return {
        "input_tokens": chat["prompt_tokens"],
        "input_tokens_details": {"cached_tokens": usage.cached, "cache_write_tokens": 0},
        "output_tokens": chat["completion_tokens"],
        "output_tokens_details": {"reasoning_tokens": usage.thoughts},
        "total_tokens": chat["total_tokens"],
    }


def _response_error(error: OpenAIError) -> dict[str, str]:
    """`{code, message}`: the code is a closed enum, so only what a client acts on survives."""
    if error.status == 429:
        code = "rate_limit_exceeded"
    elif error.status == 400:
        code = "invalid_prompt"
    else:
        code = "server_error"
    return {"code": code, "message": error.message}
