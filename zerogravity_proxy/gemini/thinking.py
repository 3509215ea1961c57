"""`reasoning_effort` → Gemini `thinkingConfig` (protocols.md E.3).

Gemini 2.5 and Claude take a token budget, Gemini 3 a level; we never send both.

- No effort given: `{"includeThoughts": true}` and the model's own default amount of thinking,
  so thought summaries stream as `reasoning_content`, which is what clients reading that field
  expect.
- Budgets follow Google's own OpenAI-compatible endpoint (D-oaicompat): low 1024, medium 8192,
  high 24576, plus minimal 128. Each is raised to the model's smallest accepted budget:
  512 on 2.5 Flash-Lite, 1024 on Claude (Anthropic's minimum).
- `none`: budget 0 on 2.5, except 2.5 Pro, which cannot stop thinking and gets its smallest
  budget (128) with thoughts hidden. Gemini 3 cannot stop thinking either: its lowest level
  (`minimal` on Flash, `low` on Pro), thoughts hidden. Claude thinks only when asked, so `none`
  sends no thinkingConfig at all (None).
- Levels: `minimal` exists on Flash only (else `low`); `medium` is `high` on Gemini 3.0 Pro,
  which has no medium level (3.1 Pro and Flash do).
- `xhigh` and `max` (newer SDKs, Codex) are clamped to `high` rather than refused.
"""

from __future__ import annotations

from typing import Any

from zerogravity_proxy.openai.errors import invalid_request
from zerogravity_proxy.openai.models import Family

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_BUDGETS = {"minimal": 128, "low": 1024, "medium": 8192, "high": 24576}


def thinking_config(family: Family, effort: str | None, *, model: str) -> dict[str, Any] | None:
    """The thinkingConfig for `model` (its upstream id), or None when none should be sent.

    Models without thinking (Gemini 1.x and 2.0) answer any thinkingConfig with a 400, and
    Gemini 2.5 Flash-Lite, which does not think unless asked, refuses `includeThoughts` alone.
    """
    if effort is not None and effort not in EFFORTS:
        raise invalid_request(
            f"Invalid value for 'reasoning_effort': {effort!r}. "
            f"Supported values are: {', '.join(EFFORTS)}.",
            param="reasoning_effort",
            code="invalid_value",
        )
    name = model.removeprefix("models/")
    if name.startswith(("gemini-1.", "gemini-2.0")):
        return None
    if effort is None:
        return None if name.startswith("gemini-2.5-flash-lite") else {"includeThoughts": True}
    effort = "high" if effort in ("xhigh", "max") else effort
    if family == "gemini-3":
        return _level(effort, name)
    return _budget(family, effort, name)


def level_budget(level: object) -> int | None:
    """The token budget a Gemini 3 level stands for (the same table as efforts), or None."""
    return _BUDGETS.get(level.lower()) if isinstance(level, str) else None


def _level(effort: str, model: str) -> dict[str, Any]:
    if effort in ("none", "minimal"):
        level = "minimal" if "flash" in model else "low"
    elif effort == "medium" and model.startswith("gemini-3-pro"):
        level = "high"
    else:
        level = effort
    return {"includeThoughts": effort != "none", "thinkingLevel": level}


def _budget(family: Family, effort: str, model: str) -> dict[str, Any] | None:
    floor = 1024 if family == "claude" else 512 if "flash-lite" in model else 128
    if effort != "none":
        return {"includeThoughts": True, "thinkingBudget": max(_BUDGETS[effort], floor)}
    if family == "claude":
        return None
    return {"includeThoughts": False, "thinkingBudget": floor if "-pro" in model else 0}
