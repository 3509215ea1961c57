"""The sans-IO core: one GenerateContentRequest in, a `Plan` (chunks or an error) out.

Deterministic: the same request always plans the same bytes; `responseId` and `traceId` are
derived from a hash of the request. The order mirrors Google's: parse/validate (400), thought
signatures (400), then quota and server errors, then the answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from typing import Any

import orjson

from . import errors
from .chunks import ChunkBuilder, blocked_chunk
from .directives import DirectiveError, Directives, parse_directives
from .draft import Turn, compose, count_words
from .normalize import normalize
from .plan import JSON, ErrorReply, Flavour, Pacing, Plan
from .signatures import SignatureAuthority, check_replayed_calls, failure
from .validate import validate_request

MIDSTREAM_CHUNKS = 2
# fmt: off
_ENVELOPE_KEYS = frozenset({
    "model", "project", "request", "requestId", "request_id", "userAgent", "user_agent",
    "requestType", "request_type", "user_prompt_id", "userPromptId", "enabledCreditTypes",
    "enabled_credit_types",
})
# fmt: on
_ROOT_NOT_OBJECT = 'Invalid JSON payload received. Unknown name "": Root element must be a message.'


def plan_request(body: Any, model: str, flavour: Flavour, authority: SignatureAuthority) -> Plan:
    """Plan Google's answer to `body` (the GenerateContentRequest, unwrapped) for `model`."""
    model = model.removeprefix("models/")
    digest = request_digest(body, model, flavour)
    trace_id = digest.hex()[:16]
    if not isinstance(body, dict):
        return Plan(error=errors.invalid_argument(_ROOT_NOT_OBJECT), trace_id=trace_id)
    request: JSON = normalize(body)
    invalid = validate_request(request, flavour)
    if invalid is not None:
        return Plan(error=invalid, trace_id=trace_id)
    try:
        directives, text = parse_directives(user_text(request["contents"]))
    except DirectiveError as exc:
        return Plan(error=errors.invalid_argument(str(exc)), trace_id=trace_id)
    checks = check_replayed_calls(request["contents"], authority)
    enforced = directives.signatures or model.startswith("gemini-3")
    plan = Plan(
        pacing=_pacing(directives),
        signatures=checks,
        signatures_enforced=enforced,
        trace_id=trace_id,
    )
    turn = Turn(
        request=request,
        model=model,
        flavour=flavour,
        text=" ".join(text.split()),
        directives=directives,
        response_id=base64.urlsafe_b64encode(digest[16:32]).rstrip(b"=").decode(),
        prompt_tokens=prompt_tokens(request),
    )
    refusal = (failure(checks) if enforced else None) or _directed_error(turn)
    if refusal is not None:
        return replace(plan, error=refusal)
    return _shape(replace(plan, chunks=tuple(_chunks(turn, authority))), turn)


def unwrap_envelope(body: Any) -> tuple[str, Any] | ErrorReply:
    """Cloud Code's `{"model", "project", "request", ...}` envelope → (model, request)."""
    if not isinstance(body, dict):
        return errors.invalid_argument(_ROOT_NOT_OBJECT)
    unknown = [key for key in body if key not in _ENVELOPE_KEYS]
    if unknown:
        lines = [
            f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
            for key in unknown
        ]
        return errors.invalid_argument("\n".join(lines), [("", line) for line in lines])
    model, request = body.get("model"), body.get("request")
    if not isinstance(model, str) or not model or request is None:
        return errors.invalid_argument("Request contains an invalid argument.")
    return model, request


def request_digest(body: Any, model: str, flavour: Flavour) -> bytes:
    canonical = orjson.dumps([flavour.value, model, body], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).digest()


def user_text(contents: list[JSON]) -> str:
    """The text of the most recent user content that has text (tool results have none)."""
    for content in reversed(contents):
        if content.get("role") not in (None, "", "user"):
            continue
        texts = [
            part["text"]
            for part in content.get("parts") or []
            if isinstance(part.get("text"), str) and not part.get("thought")
        ]
        if texts:
            return "\n".join(texts)
    return ""


def prompt_tokens(request: JSON) -> int:
    """Words in the contents and system instruction; non-text parts count their JSON words."""
    contents: list[JSON] = list(request.get("contents") or [])
    system = request.get("systemInstruction")
    if isinstance(system, dict):
        contents.append(system)
    count = 0
    for content in contents:
        for part in content.get("parts") or []:
            text = part.get("text")
            count += count_words(text if isinstance(text, str) else json.dumps(part))
    return max(1, count)


def _pacing(directives: Directives) -> Pacing:
    return Pacing(
        delay=directives.delay,
        stall=directives.stall,
        cut=directives.cut,
        gzip=directives.gzip,
    )


def _directed_error(turn: Turn) -> ErrorReply | None:
    match turn.directives.error:
        case None | "midstream":
            return None
        case "429":
            return errors.rate_limited(turn.flavour, turn.model)
        case "quota":
            return errors.quota_exhausted(turn.flavour, turn.model)
        case "500":
            return errors.internal()
        case "503":
            return errors.unavailable(turn.flavour, turn.model)
        case "context":
            return errors.context_too_long(turn.prompt_tokens)
        case code:
            return errors.plain(int(code))


def _chunks(turn: Turn, authority: SignatureAuthority) -> list[JSON]:
    if turn.directives.block:
        return [blocked_chunk(turn, turn.directives.block)]
    return ChunkBuilder(turn, authority).build(compose(turn))


def _shape(plan: Plan, turn: Turn) -> Plan:
    """Apply `error=midstream` and `cut=N`: fewer chunks, and none of them finished."""
    chunks = list(plan.chunks)
    midstream: JSON | None = None
    if turn.directives.error == "midstream":
        chunks = _unfinished(chunks[:MIDSTREAM_CHUNKS])
        midstream = {"error": errors.unavailable(turn.flavour, turn.model).error}
    if turn.directives.cut is not None:
        chunks = _unfinished(chunks[: turn.directives.cut])
    return replace(plan, chunks=tuple(chunks), midstream_error=midstream)


def _unfinished(chunks: list[JSON]) -> list[JSON]:
    """The chunks without their ending fields; a chunk left with an empty candidate is dropped."""
    ending = ("finishReason", "finishMessage", "groundingMetadata", "safetyRatings")
    kept: list[JSON] = []
    for chunk in chunks:
        if "candidates" not in chunk:
            kept.append(chunk)
            continue
        candidates = [
            {key: value for key, value in candidate.items() if key not in ending}
            for candidate in chunk["candidates"]
        ]
        if any(candidates):
            kept.append({**chunk, "candidates": candidates})
    return kept
