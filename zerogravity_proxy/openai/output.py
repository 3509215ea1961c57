"""What both renderers derive from events the same way: finish classes, usage, citations, JSON.

Chat Completions and Responses present an exchange differently, but must agree on what its
outcome was, how tokens are counted and how citations and tool arguments are written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import orjson

from zerogravity_proxy.events import Grounding, Usage

# Every Gemini finishReason not listed here (STOP, FINISH_REASON_UNSPECIFIED, OTHER and values
# newer than this table) is a normal end: "stop".
FINISH_REASONS: Final[Mapping[str, str]] = {
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
TOOL_FAILURES: Final[Mapping[str, str]] = {
    "MALFORMED_FUNCTION_CALL": "malformed_function_call",
    "UNEXPECTED_TOOL_CALL": "unexpected_tool_call",
    "TOO_MANY_TOOL_CALLS": "too_many_tool_calls",
}


def arguments_json(args: Mapping[str, Any]) -> str:
    """Compact JSON text, as `json.dumps(args, ensure_ascii=False)` would give but faster.

    The stdlib handles what orjson refuses (integers beyond 64 bits, very deep nesting), so
    odd arguments never break a stream.
    """
    try:
        return orjson.dumps(args, default=dict).decode()
    except TypeError:
        return json.dumps(args, ensure_ascii=False, separators=(",", ":"), default=dict)


def citations(grounding: Grounding) -> list[dict[str, Any]]:
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


def chat_usage(usage: Usage) -> dict[str, Any]:
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
