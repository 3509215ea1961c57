"""Per-model quota and LS enums from the `fetchAvailableModels` answers the LS receives.

The language server asks Cloud Code `POST /v1internal:fetchAvailableModels` for the account's
models; the answer (antigravity.md 1.2) is
`{"models": {"<wire id>": {"displayName", "model": "MODEL_PLACEHOLDER_Mnn", "quotaInfo":
{"remainingFraction", "resetTime"}, ...}}, ...}`. Watching it as it passes is how we learn
quota without making a call of our own, and which `MODEL_PLACEHOLDER_Mnn` the server currently
maps each wire id to (placeholders are remapped server-side, antigravity.md 1.7).

Sans-IO: the parser takes bytes or decoded JSON and never raises; the body is untrusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import orjson

LS_ENUMS: dict[str, str] = {
    "gemini-3-flash": "MODEL_PLACEHOLDER_M18",
    "claude-opus-4-6-thinking": "MODEL_PLACEHOLDER_M26",
    "claude-sonnet-4-6": "MODEL_PLACEHOLDER_M35",
    "gemini-3.1-pro-low": "MODEL_PLACEHOLDER_M36",
    "gemini-3.1-pro-high": "MODEL_PLACEHOLDER_M37",
    "gemini-3.1-flash-lite": "MODEL_PLACEHOLDER_M50",
}
"""Wire id → LS model enum as of early 2026 (antigravity.md 1.7); a fallback, since the server
remaps placeholders without LS updates. Enums learned from `fetchAvailableModels` win."""


@dataclass(frozen=True, slots=True)
class ModelQuota:
    """One model as `fetchAvailableModels` reported it; `None` where the answer said nothing."""

    model: str
    display_name: str | None
    enum: str | None
    remaining_fraction: float | None
    reset_time: str | None
    exhausted: bool


def parse_available_models(body: bytes | str | Mapping[str, Any]) -> dict[str, ModelQuota]:
    """Every well-formed model entry of a `fetchAvailableModels` answer, keyed by wire id.

    Accepts the bare answer and a `{"response": ...}` wrapper (the envelope the generate calls
    use), as bytes, text or decoded JSON. Malformed entries are skipped, malformed fields read
    as absent; anything unparseable yields `{}`.
    """
    if isinstance(body, bytes | str):
        try:
            obj: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            return {}
    else:
        obj = body
    if isinstance(obj, list) and len(obj) == 1:
        obj = obj[0]
    if not isinstance(obj, Mapping):
        return {}
    if "models" not in obj and isinstance(obj.get("response"), Mapping):
        obj = obj["response"]
    models = obj.get("models")
    if not isinstance(models, Mapping):
        return {}
    parsed: dict[str, ModelQuota] = {}
    for wire_id, entry in models.items():
        if isinstance(wire_id, str) and wire_id and isinstance(entry, Mapping):
            parsed[wire_id] = _model_quota(wire_id, entry)
    return parsed


def _model_quota(wire_id: str, entry: Mapping[str, Any]) -> ModelQuota:
    quota = entry.get("quotaInfo")
    if not isinstance(quota, Mapping):
        quota = {}
    fraction = _fraction(quota.get("remainingFraction"))
    reset_time = _text(quota.get("resetTime"))
    # ACP's rule (antigravity.md 1.2): the server drops remainingFraction once it reaches zero
    # but still says when the quota comes back.
    exhausted = (fraction is None and reset_time is not None) or fraction == 0.0
    return ModelQuota(
        model=wire_id,
        display_name=_text(entry.get("displayName")),
        enum=_text(entry.get("model")),
        remaining_fraction=fraction,
        reset_time=reset_time,
        exhausted=exhausted,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _fraction(value: Any) -> float | None:
    """A finite number (proto3 JSON may also send a float as a string), clamped to [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):  # "abc"; an int too big for a float
        return None
    return min(max(number, 0.0), 1.0) if math.isfinite(number) else None


def ls_enum(wire_id: str, learned: Mapping[str, ModelQuota]) -> str | None:
    """The LS enum for a wire id: the one last seen from the server, else the built-in table."""
    wire_id = wire_id.removeprefix("models/")
    seen = learned.get(wire_id)
    if seen is not None and seen.enum is not None:
        return seen.enum
    return LS_ENUMS.get(wire_id)


@dataclass(frozen=True, slots=True)
class QuotaSnapshot:
    """A copy of the book: safe to read while the proxy keeps updating the book."""

    models: dict[str, ModelQuota]
    observed: dict[str, float]
    """Wire id → when that model was last reported (unix seconds)."""
    observed_at: float | None
    """When any model was last reported; `None` until the first answer."""


class QuotaBook:
    """The latest quota per model, fed by every `fetchAvailableModels` answer the proxy sees.

    Answers merge: a model missing from a later answer keeps its older entry and timestamp
    (so one truncated or odd answer does not wipe what we know), and an answer with no
    parseable model changes nothing. Single-threaded by design: the addons and the sidecar
    share mitmproxy's event loop.
    """

    def __init__(self) -> None:
        self._models: dict[str, ModelQuota] = {}
        self._observed: dict[str, float] = {}
        self._observed_at: float | None = None

    def update(self, models: Mapping[str, ModelQuota], now: float) -> None:
        if not models:
            return
        self._models.update(models)
        self._observed.update(dict.fromkeys(models, now))
        self._observed_at = now if self._observed_at is None else max(self._observed_at, now)

    @property
    def models(self) -> Mapping[str, ModelQuota]:
        """A live read-only view, for `ls_enum` on every exchange without copying the book."""
        return MappingProxyType(self._models)

    def snapshot(self) -> QuotaSnapshot:
        order = sorted(self._models)
        return QuotaSnapshot(
            models={k: self._models[k] for k in order},
            observed={k: self._observed[k] for k in order},
            observed_at=self._observed_at,
        )

    def __len__(self) -> int:
        return len(self._models)
