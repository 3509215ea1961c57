"""The one vocabulary for everything that happens in a Gemini response.

Decoders produce these, renderers, observers and tests consume them; nothing re-parses bytes.
Deltas are true deltas (never accumulated text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TextDelta:
    """The next fragment of answer text, with the thought signature of its part if any."""

    text: str
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class ThoughtDelta:
    """The next fragment of a thought summary (a `thought: true` part)."""

    text: str
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A whole function call. `id` is minted once (or Gemini's own) and used everywhere."""

    id: str
    name: str
    args: Mapping[str, Any]
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    uri: str
    title: str


@dataclass(frozen=True, slots=True)
class Support:
    """A span of the answer backed by sources; offsets are characters into the answer text."""

    start: int
    end: int
    text: str
    sources: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Grounding:
    queries: tuple[str, ...]
    sources: tuple[Source, ...]
    supports: tuple[Support, ...]


@dataclass(frozen=True, slots=True)
class Usage:
    """The last `usageMetadata` seen (Gemini's counts are cumulative, never summed)."""

    prompt: int = 0
    cached: int = 0
    candidates: int = 0
    thoughts: int = 0
    tool_use_prompt: int = 0
    total: int = 0


@dataclass(frozen=True, slots=True)
class Finish:
    """Gemini's `finishReason` (or `PROMPT_BLOCKED` for a blocked prompt) and `finishMessage`."""

    reason: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class UpstreamError:
    """A failure reported by (or on the way to) the upstream.

    `code` is Google's status (`RESOURCE_EXHAUSTED`, `INVALID_ARGUMENT`, ...) or one of ours
    (`STREAM_TRUNCATED`, `UPSTREAM_UNREACHABLE`, ...). `quota` classifies 429s:
    `rate_limit` (retry after `retry_delay`) or `quota_exhausted` (do not retry soon).
    """

    status: int
    code: str
    message: str
    retry_delay: float | None = None
    quota: str | None = None


Event = TextDelta | ThoughtDelta | ToolCall | Grounding | Usage | Finish | UpstreamError
