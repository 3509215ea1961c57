"""Request bodies the stand-in sends to Cloud Code, as pure functions of their inputs."""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime
from typing import Any

from .prompt import FUNCTION_DECLARATIONS, SYSTEM_PROMPT

JSON = dict[str, Any]

DEFAULT_PROJECT = "standin-project-1"
ACCESS_TOKEN = "ya29.standin-token"
USER_AGENT = "antigravity/1.18.3 linux/amd64"
TITLE_MODEL = "gemini-2.5-flash-lite"

WIRE_MODELS: dict[str, str] = {
    "MODEL_PLACEHOLDER_M18": "gemini-3-flash",
    "MODEL_PLACEHOLDER_M26": "claude-opus-4-6-thinking",
    "MODEL_PLACEHOLDER_M35": "claude-sonnet-4-6",
    "MODEL_PLACEHOLDER_M36": "gemini-3.1-pro-low",
    "MODEL_PLACEHOLDER_M37": "gemini-3.1-pro-high",
    "MODEL_PLACEHOLDER_M50": "gemini-3.1-flash-lite",
}
"""The LS model enum → the wire model id it sends."""


class UnknownModelError(ValueError):
    """A model enum the stand-in has no wire id for."""


def wire_model(model_enum: str) -> str:
    """The wire model id for `model_enum`; raises UnknownModelError."""
    try:
        return WIRE_MODELS[model_enum]
    except KeyError:
        raise UnknownModelError(f"model not found: {model_enum}") from None


def session_id_for(cascade_id: str) -> str:
    """A signed decimal session id, `-` and 19 digits, stable for a cascade."""
    value = int.from_bytes(hashlib.sha256(cascade_id.encode()).digest()[:8], "big")
    return f"-{10**18 + value % (9 * 10**18)}"


def request_id(cascade_id: str, unix_ms: int, trajectory_id: str, step: int) -> str:
    """The LS-style `agent/<cascadeId>/<unix ms>/<trajectoryId>/<step>` request id."""
    return f"agent/{cascade_id}/{unix_ms}/{trajectory_id}/{step}"


def user_input_text(message: str, local_time: datetime) -> str:
    """A user message wrapped the way the LS stores a USER_INPUT step."""
    return (
        f"<USER_REQUEST>\n{message}\n</USER_REQUEST>\n"
        "<ADDITIONAL_METADATA>\n"
        f"The current local time is {local_time.isoformat(timespec='seconds')}. "
        "This is the latest source of truth for time; do not attempt to get the time any "
        "other way.\n"
        "</ADDITIONAL_METADATA>"
    )


def user_content(message: str, local_time: datetime) -> JSON:
    return {"role": "user", "parts": [{"text": user_input_text(message, local_time)}]}


def build_envelope(
    *,
    cascade_id: str,
    trajectory_id: str,
    step: int,
    model_enum: str,
    contents: list[JSON],
    unix_ms: int,
    project: str = DEFAULT_PROJECT,
) -> JSON:
    """The `streamGenerateContent` body for one agent step; raises UnknownModelError.

    `contents` is copied, so later changes to the caller's list do not show in the body.
    """
    return {
        "project": project,
        "requestId": request_id(cascade_id, unix_ms, trajectory_id, step),
        "model": wire_model(model_enum),
        "userAgent": "antigravity",
        "requestType": "agent",
        "request": {
            "contents": copy.deepcopy(contents),
            "systemInstruction": {"role": "user", "parts": [{"text": SYSTEM_PROMPT}]},
            "tools": [{"functionDeclarations": copy.deepcopy(list(FUNCTION_DECLARATIONS))}],
            "toolConfig": {"functionCallingConfig": {"mode": "VALIDATED"}},
            "generationConfig": {
                "maxOutputTokens": 65536,
                "thinkingConfig": {"includeThoughts": True, "thinkingLevel": "high"},
            },
            "sessionId": session_id_for(cascade_id),
            "labels": {
                "last_step_index": str(step),
                "model_enum": model_enum,
                "trajectory_id": trajectory_id,
                "used_claude": "false",
                "used_claude_conservative": "false",
            },
        },
    }


def fetch_models_body(project: str = DEFAULT_PROJECT) -> JSON:
    return {"project": project}


def title_body(message: str, project: str = DEFAULT_PROJECT) -> JSON:
    """The small `generateContent` call that names a new conversation."""
    return {
        "project": project,
        "model": TITLE_MODEL,
        "request": {
            "contents": [
                {"role": "user", "parts": [{"text": f"Generate a short title for: {message}"}]}
            ]
        },
    }
