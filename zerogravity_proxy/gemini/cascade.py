"""The Antigravity language server's side of an exchange: matching, rewriting, answering.

With the `antigravity` driver the LS, not us, builds the Cloud Code request: we make it send the
placeholder prompt `.<cid:ID>`, recognise that marker (and, for the cascade's later requests, the
`requestId` / `labels.trajectory_id` it carries), and put the client's payload into the LS's
envelope. Everything here is sans-IO and works on parsed JSON (antigravity.md 1.4, 1.5, 2.3).

What the LS gets back must keep it quiet: follow-up requests we do not forward are answered with
a synthetic STOP, and the client's function calls are hidden from it, since the LS would try to
run tools it does not have.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeIs

import orjson

from zerogravity_proxy.gemini.request import Flavour, apply_spec, payload_of
from zerogravity_proxy.gemini.spec import ExchangeSpec
from zerogravity_proxy.gemini.thinking import thinking_config
from zerogravity_proxy.openai.models import Family, family_of

Mode = Literal["replace", "append"]

MARKER_RE = re.compile(r"<cid:([0-9a-f]{32})>")
_REQUEST_ID_RE = re.compile(
    r"agent/(?P<conversation>[^/\s]+)/(?P<ms>[0-9]{1,20})"
    r"/(?P<trajectory>[^/\s]+)/(?P<step>[0-9]{1,20})"
)

# Cloud Code takes at most 64000 output tokens for Claude (antigravity.md 1.4); the LS's own
# 65536 is dropped with its generationConfig, so a client without a limit gets the maximum.
CLAUDE_MAX_OUTPUT = 64000
_CLAUDE_MIN_BUDGET = 1024  # Anthropic's smallest thinking budget
_LEVELS = ("minimal", "low", "medium", "high")
_SEARCH_TOOLS = ("googleSearch", "google_search", "urlContext", "url_context")
_FUNCTION_TOOLS = ("functionDeclarations", "function_declarations")
_CALL_KEYS = ("functionCall", "function_call")


class CascadeRewriteError(ValueError):
    """The client's payload cannot be sent in the LS's envelope; the message is for the client."""


# --- matching ---------------------------------------------------------------------------------


def marker(exchange_id: str) -> str:
    """The placeholder prompt the driver asks the LS to send for exchange `exchange_id`.

    The leading dot keeps the LS's own prompt handling on its dummy-message path; the id is
    checked here so that we never send a marker `find_marker` could not read back.
    """
    text = f"<cid:{exchange_id}>"
    if MARKER_RE.fullmatch(text) is None:
        raise ValueError(f"not an exchange id (32 lowercase hex digits): {exchange_id!r}")
    return "." + text


def find_marker(body: Mapping[str, Any], flavour: Flavour = "cloudcode") -> str | None:
    """The exchange id of the newest marker in the user turns of a request body, or None.

    User turns are searched from the last one back (a reused cascade carries the markers of its
    earlier turns in its history) and, within a turn, from its last text part. Only `role: user`
    counts: the system instruction and model turns may quote anything, markers included.
    `flavour` says where the request is: Cloud Code's `request` envelope, or the body itself.
    """
    request = body.get("request") if flavour == "cloudcode" else body
    contents = request.get("contents") if isinstance(request, Mapping) else None
    if not isinstance(contents, list):
        return None
    for content in reversed(contents):
        if not isinstance(content, Mapping) or content.get("role") != "user":
            continue
        parts: object = content.get("parts")
        for part in reversed(parts if isinstance(parts, list) else []):
            text: object = part.get("text") if isinstance(part, Mapping) else None
            if isinstance(text, str) and (found := MARKER_RE.findall(text)):
                return str(found[-1])
    return None


@dataclass(frozen=True, slots=True)
class RequestId:
    """The LS's `requestId`: `agent/<conversation>/<unix ms>/<trajectory>/<step>`."""

    conversation: str
    unix_ms: int
    trajectory: str
    step: int


def parse_request_id(value: object) -> RequestId | None:
    """The parts of an LS-style request id; None for any other form (e.g. `agent-<uuid>`)."""
    if not isinstance(value, str) or (m := _REQUEST_ID_RE.fullmatch(value)) is None:
        return None
    return RequestId(m["conversation"], int(m["ms"]), m["trajectory"], int(m["step"]))


def cascade_keys(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys that a later request of the same cascade carries too, most specific first.

    `traj:` keys come from the request id and from `labels.trajectory_id` (both, if they ever
    disagree), the `conv:` key from the request id; a body with neither has no keys.
    """
    keys: list[str] = []
    request_id = parse_request_id(body.get("requestId"))
    if request_id is not None:
        keys.append(f"traj:{request_id.trajectory}")
    request = body.get("request")
    labels = request.get("labels") if isinstance(request, Mapping) else None
    trajectory = labels.get("trajectory_id") if isinstance(labels, Mapping) else None
    if isinstance(trajectory, str) and trajectory:
        keys.append(f"traj:{trajectory}")
    if request_id is not None:
        keys.append(f"conv:{request_id.conversation}")
    return tuple(dict.fromkeys(keys))


# --- rewriting --------------------------------------------------------------------------------


def apply_ls_spec(
    body: dict[str, Any],
    spec: ExchangeSpec,
    *,
    mode: Mode = "replace",
    flavour: Flavour = "cloudcode",
) -> dict[str, Any]:
    """Put the spec's payload into the LS's body, in place, and return the body.

    The envelope (`project`, `model`, `requestId`, `userAgent`, `requestType`, `sessionId`,
    labels) stays the LS's, so the request still looks like the LS's own; the payload is the
    client's (see `request.apply_spec`). `mode` decides the system instruction: the client's
    alone (`replace`), or the LS's parts followed by the client's (`append`). The Cloud Code
    constraints are then applied for the family of the model the LS chose, on copies: the
    spec's dicts are never mutated and history (`functionCall.args` included) is never touched.
    Raises `CascadeRewriteError`, before changing anything, for a payload Cloud Code refuses.
    """
    if mode not in ("replace", "append"):
        raise ValueError(f"unknown system prompt mode: {mode!r}")
    _check_tools(spec.tools)
    model = body.get("model")
    model = model.removeprefix("models/") if isinstance(model, str) else spec.upstream_model
    family = family_of(model)
    config = _generation_config(family, model, spec.generation_config)
    tool_config = _validated(spec.tool_config, spec.tools) if family == "claude" else None

    payload = payload_of(body, flavour)
    ls_system = payload.get("systemInstruction", payload.get("system_instruction"))
    apply_spec(body, flavour, spec)
    if mode == "append" and isinstance(ls_system, Mapping):
        payload["systemInstruction"] = _appended(ls_system, spec.system_instruction)
    if config is not None:
        payload["generationConfig"] = config
    if tool_config is not None:
        payload["toolConfig"] = tool_config
    return body


def _check_tools(tools: Sequence[Any] | None) -> None:
    """Cloud Code refuses search or URL context next to function declarations (400)."""
    tools = [t for t in tools or () if isinstance(t, Mapping)]
    search = next((key for t in tools for key in _SEARCH_TOOLS if key in t), None)
    if search is not None and any(t.get(key) for t in tools for key in _FUNCTION_TOOLS):
        raise CascadeRewriteError(
            f"'{search}' cannot be combined with function tools in one request on this "
            "upstream (Cloud Code rejects it): send web search and function tools separately"
        )


def _appended(ls: Mapping[str, Any], client: Mapping[str, Any] | None) -> dict[str, Any]:
    """The LS's system instruction (its `role` included) with the client's parts after its own."""
    extra = _list(client.get("parts")) if client is not None else []
    return {**ls, "parts": [*_list(ls.get("parts")), *extra]}


def _generation_config(
    family: Family, model: str, config: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """A copy of `config` within the family's limits; None when there is nothing to send.

    Each family takes its own thinking control (a level for Gemini 3, a budget for the others)
    and gets it converted from the other; when both are present the family's own one wins.
    Conversions reuse `thinking.thinking_config`, so a level means the same budget here as an
    OpenAI `reasoning_effort` of that name does (per-model floors included).
    """
    if config is None and family != "claude":
        return None
    out = dict(config or {})
    raw = out.get("thinkingConfig")
    thinking = dict(raw) if isinstance(raw, Mapping) else None
    if thinking is not None:
        if family == "gemini-3":
            budget = thinking.pop("thinkingBudget", None)
            if "thinkingLevel" not in thinking and _is_int(budget) and budget >= 0:
                thinking["thinkingLevel"] = _level_for(budget, model)
        else:
            level = thinking.pop("thinkingLevel", None)
            if level is not None and "thinkingBudget" not in thinking:
                thinking["thinkingBudget"] = _budget_for(family, level, model)
        out["thinkingConfig"] = thinking
    if family == "claude":
        _claude_limits(out, thinking)
    return out


def _claude_limits(config: dict[str, Any], thinking: dict[str, Any] | None) -> None:
    """`maxOutputTokens` ≤ 64000 (64000 when absent), and a thinking budget below it.

    A budget that does not fit is lowered to just below the limit; when even that is under
    Anthropic's minimum there is no room to think at all, so thinking is left off (as for
    `reasoning_effort: none` on Claude) rather than raising the client's own output limit.
    """
    limit = config.get("maxOutputTokens")
    limit = min(limit, CLAUDE_MAX_OUTPUT) if _is_int(limit) else CLAUDE_MAX_OUTPUT
    config["maxOutputTokens"] = limit
    budget = thinking.get("thinkingBudget") if thinking is not None else None
    if thinking is None or not _is_int(budget) or budget < limit:
        return
    if limit - 1 >= _CLAUDE_MIN_BUDGET:
        thinking["thinkingBudget"] = limit - 1
    else:
        del config["thinkingConfig"]


def _level_for(budget: int, model: str) -> str:
    """A Gemini 3 level for a token budget: ≤2048 low (0 included: Gemini 3 always thinks),
    ≤12000 medium, above that high; `thinking_config` adapts it to what `model` offers."""
    effort = "low" if budget <= 2048 else "medium" if budget <= 12000 else "high"
    config = thinking_config("gemini-3", effort, model=model) or {}
    return str(config.get("thinkingLevel", effort))


def _budget_for(family: Family, level: object, model: str) -> int:
    """The budget a budget-taking model gets for a Gemini 3 level name."""
    name = level.lower() if isinstance(level, str) else None
    if name not in _LEVELS:
        raise CascadeRewriteError(
            f"unknown thinking level {level!r}; expected one of: {', '.join(_LEVELS)}"
        )
    config = thinking_config(family, name, model=model) or {}
    budget = config.get("thinkingBudget")
    if not _is_int(budget):  # cannot happen for a known level; guards a change in thinking.py
        raise CascadeRewriteError(f"no thinking budget for level {level!r} on {model}")
    return budget


def _validated(tool_config: object, tools: Sequence[Any] | None) -> dict[str, Any] | None:
    """Claude on Cloud Code calls functions in `VALIDATED` mode where Gemini would use `AUTO`.

    An unset mode means AUTO, so a request with function declarations and no mode gets
    VALIDATED too; ANY and NONE are left alone. Returns None when nothing changes.
    """
    config = tool_config if isinstance(tool_config, Mapping) else {}
    calling = config.get("functionCallingConfig")
    calling = calling if isinstance(calling, Mapping) else {}
    mode = calling.get("mode")
    has_functions = any(
        isinstance(t, Mapping) and t.get(key) for t in tools or () for key in _FUNCTION_TOOLS
    )
    if mode in ("AUTO", "MODE_UNSPECIFIED") or (mode is None and has_functions):
        return {**config, "functionCallingConfig": {**calling, "mode": "VALIDATED"}}
    return None


# --- answers for the LS -----------------------------------------------------------------------


def synthetic_stop(body: Mapping[str, Any], flavour: Flavour = "cloudcode") -> dict[str, Any]:
    """The one chunk of a complete, empty answer for a follow-up request we do not forward.

    The LS fires extra requests per turn (antigravity.md 2.3); answering them with a plain
    STOP ends its turn without spending quota. Ids are derived from the body, so a repeated
    request gets the same answer (useful in logs and tests). Cloud Code's chunk comes in its
    `{"response": ...}` envelope; the public API's is the response itself.
    """
    raw = hashlib.sha256(_canonical(body)).digest()
    response: dict[str, Any] = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": 0, "candidatesTokenCount": 0, "totalTokenCount": 0},
    }
    model = body.get("model")
    if isinstance(model, str):
        response["modelVersion"] = model.removeprefix("models/")
    response["responseId"] = base64.urlsafe_b64encode(raw[:16]).rstrip(b"=").decode()
    if flavour == "gemini":
        return response
    return {"response": response, "traceId": raw[16:24].hex()}


def for_language_server(chunk: Mapping[str, Any]) -> Mapping[str, Any]:
    """One response chunk as the LS may see it: without the client's function calls.

    The calls are the client's to run; the LS does not have those tools and would answer with
    errors or its own follow-ups. Everything else (text, thoughts, signatures on text parts,
    usage, finish reason, the `{"response": ...}` envelope) is kept, and a candidate left
    without parts gets one empty text part so that it stays well-formed. Both the enveloped
    and the bare form are handled. Copies are made only along the changed path: a chunk
    without calls (nearly every chunk) is returned as the same object.
    """
    out = chunk
    response = chunk.get("response")
    if isinstance(response, Mapping):
        stripped = _without_calls(response)
        if stripped is not response:
            out = {**chunk, "response": stripped}
    return _without_calls(out)


def _without_calls(body: Mapping[str, Any]) -> Mapping[str, Any]:
    candidates = body.get("candidates")
    if not isinstance(candidates, list):
        return body
    stripped = [_candidate_without_calls(c) for c in candidates]
    if all(new is old for new, old in zip(stripped, candidates, strict=True)):
        return body
    return {**body, "candidates": stripped}


def _candidate_without_calls(candidate: object) -> object:
    if not isinstance(candidate, Mapping):
        return candidate
    content = candidate.get("content")
    if not isinstance(content, Mapping) or not isinstance(parts := content.get("parts"), list):
        return candidate
    kept = [p for p in parts if not (isinstance(p, Mapping) and any(k in p for k in _CALL_KEYS))]
    if len(kept) == len(parts):
        return candidate
    return {**candidate, "content": {**content, "parts": kept or [{"text": ""}]}}


# --- helpers ----------------------------------------------------------------------------------


def _canonical(body: Mapping[str, Any]) -> bytes:
    """Bytes that identify a body: sorted-key JSON, or its repr for what orjson cannot encode
    (integers beyond 64 bits, non-string keys), so that answering never fails."""
    try:
        return orjson.dumps(body, default=_plain, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError included
        return repr(body).encode("utf-8", "backslashreplace")


def _plain(value: object) -> object:
    """orjson's fallback: JSON-like mappings that are not dicts."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def _is_int(value: object) -> TypeIs[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
