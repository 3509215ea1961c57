"""Cut a draft into GenerateContentResponse chunks the way Gemini streams them.

One part per chunk; function calls whole, in one chunk; `usageMetadata`, `modelVersion` and
`responseId` on every chunk, usage cumulative (restated, never a delta); zero counts omitted,
as proto3 JSON does.
"""

from __future__ import annotations

import json
import re

from .draft import Draft, Turn, count_words
from .plan import JSON
from .signatures import SignatureAuthority

_SENTENCE = re.compile(r"\S[^.!?]*[.!?]*")
_MAX_SUPPORTS = 4
_SEARCH_TITLES = ("example.com", "wikipedia.org")
_SAFETY_FINISHES = frozenset({"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})
_BLOCKED_RATING = {
    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
    "probability": "HIGH",
    "blocked": True,
}


class ChunkBuilder:
    """Accumulates chunks and the running token counts they restate."""

    def __init__(self, turn: Turn, authority: SignatureAuthority) -> None:
        self._turn = turn
        self._authority = authority
        self._candidates = 0
        self._thoughts = 0
        self._tool_use = 8 + count_words(turn.text) if turn.uses_search else 0
        self._chunks: list[JSON] = []

    def build(self, draft: Draft) -> list[JSON]:
        self._thoughts = draft.hidden_thoughts
        for thought in draft.thoughts:
            self._thoughts += count_words(thought)
            self._add([{"text": thought, "thought": True}])
        tally = _WordTally()
        for piece in draft.pieces:
            self._candidates = tally.feed(piece)
            self._add([{"text": piece}])
        answer = "".join(draft.pieces)
        if draft.calls:
            self._candidates += sum(_call_tokens(call) for call in draft.calls)
            self._add(self._call_parts(draft.calls))
        self._finish(draft, answer)
        return self._chunks

    def _call_parts(self, calls: list[JSON]) -> list[JSON]:
        """Parallel calls share one chunk; only the first carries the signature."""
        parts: list[JSON] = [{"functionCall": call} for call in calls]
        first = calls[0]
        parts[0]["thoughtSignature"] = self._authority.for_call(first["name"], first["args"])
        return parts

    def _finish(self, draft: Draft, answer: str) -> None:
        signed_text = bool(answer) and self._turn.model.startswith("gemini-3")
        if draft.bare_finish or not (draft.pieces or draft.calls):
            self._add(None)
        elif signed_text and not draft.calls:
            self._add([{"text": "", "thoughtSignature": self._authority.for_text(answer)}])
        candidate: JSON = self._chunks[-1]["candidates"][0]
        candidate["finishReason"] = draft.finish
        if draft.finish_message:
            candidate["finishMessage"] = draft.finish_message
        if draft.bare_finish and draft.finish in _SAFETY_FINISHES:
            candidate["safetyRatings"] = [_BLOCKED_RATING]
        if self._turn.uses_search and answer and not draft.bare_finish:
            candidate["groundingMetadata"] = grounding(self._turn, answer)

    def _add(self, parts: list[JSON] | None) -> None:
        """Append a chunk; without parts the candidate has no content (a contentless end)."""
        candidate: JSON = {} if parts is None else {"content": {"role": "model", "parts": parts}}
        self._chunks.append(
            {
                "candidates": [candidate],
                "usageMetadata": self._usage(),
                "modelVersion": self._turn.model,
                "responseId": self._turn.response_id,
            }
        )

    def _usage(self) -> JSON:
        return usage(self._turn.prompt_tokens, self._candidates, self._thoughts, self._tool_use)


class _WordTally:
    """Counts the words of a text fed in deltas, without rescanning what came before."""

    def __init__(self) -> None:
        self.total = 0
        self._inside_word = False

    def feed(self, piece: str) -> int:
        if piece:
            self.total += count_words(piece)
            if self._inside_word and not piece[0].isspace():
                self.total -= 1
            self._inside_word = not piece[-1].isspace()
        return self.total


def usage(prompt: int, candidates: int = 0, thoughts: int = 0, tool_use: int = 0) -> JSON:
    """`usageMetadata`: total = prompt + candidates + thoughts + tool-use prompt (GENAI doc)."""
    cached = prompt // 2 if prompt > 64 else 0
    counts: JSON = {"promptTokenCount": prompt}
    if candidates:
        counts["candidatesTokenCount"] = candidates
    counts["totalTokenCount"] = prompt + candidates + thoughts + tool_use
    if cached:
        counts["cachedContentTokenCount"] = cached
    counts["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    if cached:
        counts["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
    if thoughts:
        counts["thoughtsTokenCount"] = thoughts
    if tool_use:
        counts["toolUsePromptTokenCount"] = tool_use
    return counts


def blocked_chunk(turn: Turn, reason: str) -> JSON:
    """A blocked prompt: `promptFeedback.blockReason` and no candidates at all."""
    return {
        "promptFeedback": {"blockReason": reason, "safetyRatings": [_BLOCKED_RATING]},
        "usageMetadata": usage(turn.prompt_tokens),
        "modelVersion": turn.model,
        "responseId": turn.response_id,
    }


def grounding(turn: Turn, answer: str) -> JSON:
    """Search grounding over `answer`; segment offsets are UTF-8 byte offsets, as Google's are.

    A zero `startIndex` is omitted, the way proto3 JSON leaves out default values.
    """
    query = turn.text or "search"
    base = "https://vertexaisearch.cloud.google.com/grounding-api-redirect/" + turn.response_id
    sources = [
        {"web": {"uri": f"{base}{index}", "title": title}}
        for index, title in enumerate(_SEARCH_TITLES)
    ]
    supports: list[JSON] = []
    for index, match in enumerate(_SENTENCE.finditer(answer)):
        if index == _MAX_SUPPORTS:
            break
        start = len(answer[: match.start()].encode())
        segment: JSON = {"startIndex": start} if start else {}
        segment |= {"endIndex": start + len(match.group().encode()), "text": match.group()}
        supports.append(
            {
                "segment": segment,
                "groundingChunkIndices": [index % len(sources)],
                "confidenceScores": [0.9],
            }
        )
    rendered = f'<div class="container"><a class="chip" href="{base}">{query}</a></div>'
    return {
        "searchEntryPoint": {"renderedContent": rendered},
        "groundingChunks": sources,
        "groundingSupports": supports,
        "webSearchQueries": [query],
    }


def _call_tokens(call: JSON) -> int:
    return 1 + count_words(json.dumps(call["args"], ensure_ascii=False))
