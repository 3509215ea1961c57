"""The model catalogue: OpenAI-facing names, their upstream wire ids and thinking families."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

Family = Literal["gemini-2.5", "gemini-3", "claude"]

# A fixed creation stamp: the catalogue is configuration, not a record of release dates.
CREATED = 1735689600

DEFAULT_MODELS: dict[str, tuple[str, ...]] = {
    "gemini": (
        "gemini-2.0-flash",
        "gemini-2.0-flash-lite",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-3-pro-preview",
        "gemini-3-flash-preview",
        "gemini-3.1-pro-preview",
        "gemini-flash-latest",
        "gemini-flash-lite-latest",
        "gemini-pro-latest",
    ),
    "cloudcode": (
        # gemini-cli's names on v1internal, then Antigravity's.
        "gemini-3-pro-preview",
        "gemini-3.1-pro-preview",
        "gemini-3-flash-preview",
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-3-flash",
        "gemini-3-pro-high",
        "gemini-3-pro-low",
        "gemini-3.1-pro-high",
        "gemini-3.1-pro-low",
        "gemini-3.1-flash-lite",
        "claude-sonnet-4-5",
        "claude-sonnet-4-6",
        "claude-opus-4-6-thinking",
    ),
}


def family_of(upstream_model: str) -> Family:
    """Which thinking controls a model takes: a budget (2.5, Claude) or a level (Gemini 3+)."""
    name = upstream_model.removeprefix("models/")
    if name.startswith("claude"):
        return "claude"
    if name.startswith(("gemini-2", "gemini-1")):
        return "gemini-2.5"
    return "gemini-3"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    upstream: str
    family: Family
    owned_by: str = "google"

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "object": "model", "created": CREATED, "owned_by": self.owned_by}


class Catalogue:
    """Exact-name lookup; an unknown name is unknown (no prefix or fuzzy matching)."""

    def __init__(self, models: Iterable[ModelInfo]) -> None:
        self._models = {m.id: m for m in models}

    @classmethod
    def from_specs(cls, specs: Iterable[str], *, owned_by: str = "google") -> Catalogue:
        """Build from `name` or `name=upstream_id` entries (the `models` option)."""
        models = []
        for spec in specs:
            name, _, upstream = spec.partition("=")
            name, upstream = name.strip(), (upstream.strip() or name.strip())
            if not name:
                raise ValueError(f"empty model name in {spec!r}")
            models.append(ModelInfo(name, upstream, family_of(upstream), owned_by))
        return cls(models)

    def get(self, name: str) -> ModelInfo | None:
        return self._models.get(name)

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)
