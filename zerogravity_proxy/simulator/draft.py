"""What the simulated model says, before it is cut into chunks.

Pure functions from a `Turn` to a `Draft`: which thoughts, which answer text (as the deltas it
will stream in), or which function calls; then stop sequences and `maxOutputTokens` applied.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from itertools import islice, pairwise
from typing import Any

from .directives import Directives
from .plan import JSON, Flavour
from .schemas import example_value

WORDS_PER_CHUNK = 4
FILLER = "This answer comes from the zerogravity simulator and stays the same for the same request."
THOUGHTS = (
    "**Reading the request**\n\nThe user wants a reply, so I will answer plainly.",
    "**Drafting the answer**\n\nI keep it short and the same every time.",
)
_WORD = re.compile(r"\S+")
_CALL_FINISHES = {
    "MALFORMED_FUNCTION_CALL": "Malformed function call: print(default_api.{name}())",
    "UNEXPECTED_TOOL_CALL": "Unexpected tool call: default_api.{name}",
}


@dataclass(frozen=True, slots=True)
class Turn:
    """The parts of a validated request the planner reads."""

    request: JSON
    model: str
    flavour: Flavour
    text: str
    directives: Directives
    response_id: str
    prompt_tokens: int

    @property
    def generation(self) -> JSON:
        config: JSON = self.request.get("generationConfig") or {}
        return config

    @property
    def uses_search(self) -> bool:
        tools: list[JSON] = self.request.get("tools") or []
        return any("googleSearch" in tool or "googleSearchRetrieval" in tool for tool in tools)


@dataclass(slots=True)
class Draft:
    """The answer as deltas. `bare_finish` ends on a candidate without content (SAFETY & co)."""

    thoughts: list[str] = field(default_factory=list)
    hidden_thoughts: int = 0
    pieces: list[str] = field(default_factory=list)
    calls: list[JSON] = field(default_factory=list)
    finish: str = "STOP"
    finish_message: str | None = None
    bare_finish: bool = False


def count_words(text: str) -> int:
    """The simulator's tokenizer: one token per whitespace-separated word."""
    return len(_WORD.findall(text))


def compose(turn: Turn) -> Draft:
    draft = Draft()
    _add_thoughts(draft, turn)
    last_parts: list[JSON] = turn.request["contents"][-1].get("parts") or []
    results = [part["functionResponse"] for part in last_parts if "functionResponse" in part]
    if results:
        draft.pieces = word_pieces(_tool_results_text(results))
    elif calls := _plan_calls(turn):
        draft.calls = calls
    elif str(turn.generation.get("responseMimeType", "")).lower() == "application/json":
        draft.pieces = _json_pieces(turn)
    else:
        draft.pieces = _text_pieces(turn)
    apply_limits(draft, turn.generation)
    _force_finish(draft, turn)
    return draft


def _add_thoughts(draft: Draft, turn: Turn) -> None:
    """Thinking models think; the words count as thoughts even when the text is not sent."""
    config: JSON = turn.generation.get("thinkingConfig") or {}
    if config.get("thinkingBudget") == 0:
        return
    thinking = bool(config) or turn.model.startswith(("gemini-3", "gemini-2.5"))
    if not (thinking or "thinking" in turn.model):
        return
    if config.get("includeThoughts"):
        draft.thoughts = list(THOUGHTS)
    else:
        draft.hidden_thoughts = sum(count_words(thought) for thought in THOUGHTS)


def word_pieces(text: str, per_chunk: int = WORDS_PER_CHUNK) -> list[str]:
    """Split `text` into deltas of `per_chunk` words; their concatenation is exactly `text`."""
    starts = [match.start() for match in _WORD.finditer(text)][per_chunk::per_chunk]
    bounds = [0, *starts, len(text)]
    return [text[a:b] for a, b in pairwise(bounds) if text[a:b]]


def _even_pieces(text: str, count: int) -> list[str]:
    size = max(1, math.ceil(len(text) / count))
    return [text[i : i + size] for i in range(0, len(text), size)]


def _sized_pieces(seed: str, count: int, size: int) -> list[str]:
    """`count` deltas of `size` characters (bytes, for ASCII), padded with filler text."""
    stream = seed
    while len(stream) < count * size:
        stream += " " + FILLER
    return [stream[i * size : (i + 1) * size] for i in range(count)]


def _text_pieces(turn: Turn) -> list[str]:
    answer = f"You said: {turn.text or 'nothing'}. {FILLER}"
    events, size = turn.directives.events, turn.directives.size
    if events is None and size is None:
        return word_pieces(answer)
    if events is None:
        events = math.ceil(len(answer) / (size or 1))
    return _sized_pieces(answer, events, size or max(1, math.ceil(len(answer) / events)))


def _json_pieces(turn: Turn) -> list[str]:
    generation = turn.generation
    schema = generation.get("responseJsonSchema", generation.get("responseSchema"))
    if schema is None:
        document: Any = {"answer": f"You said: {turn.text or 'nothing'}."}
    else:
        document = example_value(schema, all_properties=True)
    return _even_pieces(json.dumps(document, ensure_ascii=False), turn.directives.events or 3)


def _tool_results_text(results: list[JSON]) -> str:
    return " ".join(
        f"{result.get('name')} returned {json.dumps(result.get('response'), ensure_ascii=False)}."
        for result in results
    )


def _plan_calls(turn: Turn) -> list[JSON]:
    """Call every usable function the user named; under mode ANY, at least the first one."""
    tools: list[JSON] = turn.request.get("tools") or []
    declarations = [decl for tool in tools for decl in tool.get("functionDeclarations") or []]
    config: JSON = (turn.request.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = str(config.get("mode") or "AUTO").upper()
    if not declarations or mode == "NONE":
        return []
    allowed = config.get("allowedFunctionNames") or []
    usable = [decl for decl in declarations if not allowed or decl.get("name") in allowed]
    chosen = [decl for decl in usable if _mentions(turn.text, str(decl.get("name")))]
    if not chosen and mode == "ANY":
        chosen = usable[:1]
    return [_call(turn, decl, index) for index, decl in enumerate(chosen)]


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None


def _call(turn: Turn, declaration: JSON, index: int) -> JSON:
    schema = declaration.get("parametersJsonSchema", declaration.get("parameters"))
    args = example_value(schema) if schema is not None else {}
    call: JSON = {"name": declaration["name"], "args": args if isinstance(args, dict) else {}}
    if turn.model.startswith("claude"):
        seed = f"{turn.response_id}/{index}/{declaration['name']}".encode()
        call["id"] = "toolu_vrtx_" + hashlib.sha256(seed).hexdigest()[:24]
    return call


def apply_limits(draft: Draft, generation: JSON) -> None:
    """Stop sequences cut the answer text; `maxOutputTokens` counts thoughts first."""
    stops = [stop for stop in generation.get("stopSequences") or [] if isinstance(stop, str)]
    text = "".join(draft.pieces)
    hits = [index for index in (text.find(stop) for stop in stops if stop) if index >= 0]
    if hits:
        draft.pieces = _cut_chars(draft.pieces, min(hits))
    limit = _as_int(generation.get("maxOutputTokens"))
    if limit is not None and limit > 0:
        _apply_token_limit(draft, limit)


def _as_int(value: Any) -> int | None:
    """Proto-JSON integers may arrive as numbers or as decimal strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _apply_token_limit(draft: Draft, limit: int) -> None:
    thought_words = draft.hidden_thoughts + sum(count_words(t) for t in draft.thoughts)
    if thought_words > limit or (thought_words == limit and (draft.pieces or draft.calls)):
        draft.hidden_thoughts = min(draft.hidden_thoughts, limit)
        draft.thoughts = _cut_each(draft.thoughts, limit - draft.hidden_thoughts)
        draft.pieces, draft.calls, draft.finish = [], [], "MAX_TOKENS"
        return
    remaining = limit - thought_words
    text = "".join(draft.pieces)
    if count_words(text) > remaining:
        draft.pieces = _cut_chars(draft.pieces, _word_end(text, remaining))
        draft.finish = "MAX_TOKENS"


def _word_end(text: str, words: int) -> int:
    """Index just after the `words`-th word of `text`."""
    if words <= 0:
        return 0
    matches = list(islice(_WORD.finditer(text), words))
    return matches[-1].end() if matches else 0


def _cut_chars(pieces: list[str], index: int) -> list[str]:
    kept: list[str] = []
    position = 0
    for piece in pieces:
        if position + len(piece) > index:
            piece = piece[: max(0, index - position)]
        if piece:
            kept.append(piece)
        position += len(piece)
        if position >= index:
            break
    return kept


def _cut_each(parts: list[str], words: int) -> list[str]:
    """Keep whole parts while they fit, then the start of the next one."""
    kept: list[str] = []
    for part in parts:
        size = count_words(part)
        if size > words:
            head = part[: _word_end(part, words)]
            return [*kept, head] if head else kept
        kept.append(part)
        words -= size
    return kept


def _force_finish(draft: Draft, turn: Turn) -> None:
    """`[[sim:finish=REASON]]`: end the stream the way Gemini does for that reason."""
    reason = turn.directives.finish
    if reason is None:
        return
    draft.finish = reason
    if reason in _CALL_FINISHES:
        name = draft.calls[0]["name"] if draft.calls else "run"
        draft.thoughts, draft.pieces, draft.calls = [], [], []
        draft.finish_message = _CALL_FINISHES[reason].format(name=name)
        draft.bare_finish = True
    elif reason not in ("STOP", "MAX_TOKENS"):
        draft.bare_finish = True
