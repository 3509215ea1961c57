"""reasoning_effort → thinkingConfig per family and model (protocols.md E.3)."""

from __future__ import annotations

from typing import Any

import pytest

from zerogravity_proxy.gemini.thinking import EFFORTS, thinking_config
from zerogravity_proxy.openai.errors import OpenAIError
from zerogravity_proxy.openai.models import Family, family_of

MODELS = [
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
    "gemini-3.1-pro-preview",
    "gemini-3-flash",
    "claude-sonnet-4-6",
    "claude-opus-4-6-thinking",
]


def config(model: str, effort: str | None) -> dict[str, Any] | None:
    return thinking_config(family_of(model), effort, model=model)


def budget(value: int, *, thoughts: bool = True) -> dict[str, Any]:
    return {"includeThoughts": thoughts, "thinkingBudget": value}


def level(value: str, *, thoughts: bool = True) -> dict[str, Any]:
    return {"includeThoughts": thoughts, "thinkingLevel": value}


@pytest.mark.parametrize("model", [m for m in MODELS if m != "gemini-2.5-flash-lite"])
def test_no_effort_asks_for_thought_summaries_only(model: str) -> None:
    assert config(model, None) == {"includeThoughts": True}


def test_flash_lite_does_not_think_unless_asked() -> None:
    # It refuses includeThoughts while thinking is off (its default).
    assert config("gemini-2.5-flash-lite", None) is None
    assert config("gemini-2.5-flash-lite", "low") == budget(1024)


@pytest.mark.parametrize("model", ["gemini-2.0-flash", "gemini-2.0-flash-lite", "gemini-1.5-pro"])
@pytest.mark.parametrize("effort", [None, "none", "low", "high"])
def test_models_without_thinking_get_no_thinking_config(model: str, effort: str | None) -> None:
    # Any thinkingConfig is a 400 ("thinking_config is not supported") on these.
    assert config(model, effort) is None


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "gemini-2.5-flash",
            [budget(0, thoughts=False), budget(128), budget(1024), budget(8192), budget(24576)],
        ),
        (
            "gemini-2.5-pro",  # cannot turn thinking off: smallest budget, thoughts hidden
            [budget(128, thoughts=False), budget(128), budget(1024), budget(8192), budget(24576)],
        ),
        (
            "gemini-2.5-flash-lite",  # smallest budget 512
            [budget(0, thoughts=False), budget(512), budget(1024), budget(8192), budget(24576)],
        ),
        (
            "models/gemini-2.5-flash-lite",
            [budget(0, thoughts=False), budget(512), budget(1024), budget(8192), budget(24576)],
        ),
        (
            "claude-opus-4-6-thinking",  # Anthropic's minimum budget is 1024; none sends nothing
            [None, budget(1024), budget(1024), budget(8192), budget(24576)],
        ),
        (
            "gemini-3-flash-preview",
            [
                level("minimal", thoughts=False),
                level("minimal"),
                level("low"),
                level("medium"),
                level("high"),
            ],
        ),
        (
            "gemini-3-pro-preview",  # 3.0 Pro: no minimal, no medium
            [
                level("low", thoughts=False),
                level("low"),
                level("low"),
                level("high"),
                level("high"),
            ],
        ),
        (
            "gemini-3.1-pro-preview",
            [
                level("low", thoughts=False),
                level("low"),
                level("low"),
                level("medium"),
                level("high"),
            ],
        ),
    ],
)
def test_effort_table(model: str, expected: list[dict[str, Any] | None]) -> None:
    efforts = ["none", "minimal", "low", "medium", "high"]
    assert [config(model, effort) for effort in efforts] == expected


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("effort", ["xhigh", "max"])
def test_xhigh_and_max_clamp_to_high(model: str, effort: str) -> None:
    assert config(model, effort) == config(model, "high")


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("effort", [None, *EFFORTS])
def test_never_both_budget_and_level(model: str, effort: str | None) -> None:
    result = config(model, effort) or {}
    assert not ("thinkingBudget" in result and "thinkingLevel" in result)
    family: Family = family_of(model)
    if family == "gemini-3":
        assert "thinkingBudget" not in result
    else:
        assert "thinkingLevel" not in result


@pytest.mark.parametrize("effort", ["HIGH", "auto", "", "disable"])
def test_unknown_effort_is_a_400_on_reasoning_effort(effort: str) -> None:
    with pytest.raises(OpenAIError) as err:
        config("gemini-2.5-flash", effort)
    assert (err.value.status, err.value.param, err.value.code) == (
        400,
        "reasoning_effort",
        "invalid_value",
    )
