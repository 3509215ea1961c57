"""Small, plausible answers for the model lists and Cloud Code's housekeeping calls."""

from __future__ import annotations

from datetime import datetime, timedelta

from .plan import JSON

PROJECT = "sim-project-000000"

GEMINI_MODELS: tuple[tuple[str, str], ...] = (
    ("gemini-2.5-flash", "Gemini 2.5 Flash"),
    ("gemini-2.5-pro", "Gemini 2.5 Pro"),
    ("gemini-3-flash-preview", "Gemini 3 Flash Preview"),
    ("gemini-3-pro-preview", "Gemini 3 Pro Preview"),
)

CLOUD_CODE_MODELS: tuple[tuple[str, str, str], ...] = (
    ("gemini-3-flash", "Gemini 3 Flash", "MODEL_PLACEHOLDER_M18"),
    ("gemini-3.1-pro-low", "Gemini 3.1 Pro (Low)", "MODEL_PLACEHOLDER_M36"),
    ("gemini-3.1-pro-high", "Gemini 3.1 Pro (High)", "MODEL_PLACEHOLDER_M37"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6 (Thinking)", "MODEL_PLACEHOLDER_M35"),
    ("claude-opus-4-6-thinking", "Claude Opus 4.6 (Thinking)", "MODEL_PLACEHOLDER_M26"),
)


def gemini_model(model_id: str, display: str) -> JSON:
    return {
        "name": f"models/{model_id}",
        "version": "001",
        "displayName": display,
        "description": f"{display} (simulated)",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    }


def gemini_models() -> JSON:
    return {"models": [gemini_model(model_id, display) for model_id, display in GEMINI_MODELS]}


def available_models(now: datetime) -> JSON:
    """`fetchAvailableModels`: per-model quota with a reset time five hours from `now`."""
    reset = (now + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    models = {
        model_id: {
            "displayName": display,
            "model": placeholder,
            "quotaInfo": {"remainingFraction": 0.8, "resetTime": reset},
        }
        for model_id, display, placeholder in CLOUD_CODE_MODELS
    }
    return {"models": models, "webSearchModelIds": ["gemini-3-flash"]}


def load_code_assist() -> JSON:
    tier = {
        "id": "standard-tier",
        "name": "Gemini Code Assist",
        "description": "Simulated tier",
        "userDefinedCloudaicompanionProject": False,
    }
    return {
        "currentTier": tier,
        "allowedTiers": [{**tier, "isDefault": True}],
        "cloudaicompanionProject": PROJECT,
        "gcpManaged": False,
    }


def onboard_user() -> JSON:
    return {
        "name": "operations/sim-onboard",
        "done": True,
        "response": {
            "@type": "type.googleapis.com/google.internal.cloud.code.v1internal.OnboardUserResponse",
            "cloudaicompanionProject": {"id": PROJECT, "name": PROJECT},
        },
    }


def user_info() -> JSON:
    return {"email": "simulated-user@example.com", "regionCode": "US", "userTier": "standard-tier"}
