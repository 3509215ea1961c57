"""What one exchange asks of Gemini, in Gemini's own terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    """The payload of one exchange; the originator supplies the envelope (see request.apply_spec).

    `model` is the OpenAI-facing name the client asked for, `upstream_model` the wire id.
    The dict fields are camelCase Gemini JSON, ready to be placed in a request body.
    """

    model: str
    upstream_model: str
    contents: list[JSON]
    system_instruction: JSON | None = None
    tools: list[JSON] | None = None
    tool_config: JSON | None = None
    generation_config: JSON | None = None
    labels: dict[str, str] = field(default_factory=dict)
