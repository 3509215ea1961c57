"""The model catalogue: building it from the `models` setting, families, and lookups."""

from __future__ import annotations

import pytest

from zerogravity_proxy.openai.models import (
    CREATED,
    DEFAULT_MODELS,
    Catalogue,
    Family,
    ModelInfo,
    family_of,
)


@pytest.mark.parametrize(
    ("upstream", "family"),
    [
        ("gemini-2.5-pro", "gemini-2.5"),
        ("gemini-2.5-flash-lite", "gemini-2.5"),
        ("gemini-2.0-flash", "gemini-2.5"),
        ("gemini-1.5-pro", "gemini-2.5"),
        ("models/gemini-2.5-flash", "gemini-2.5"),
        ("gemini-3-pro-preview", "gemini-3"),
        ("gemini-3-flash", "gemini-3"),
        ("gemini-3.1-pro-high", "gemini-3"),
        ("models/gemini-3-flash-preview", "gemini-3"),
        ("claude-sonnet-4-6", "claude"),
        ("claude-opus-4-6-thinking", "claude"),
        ("models/claude-sonnet-4-6", "claude"),
        ("some-future-model", "gemini-3"),
    ],
)
def test_family_of(upstream: str, family: Family) -> None:
    assert family_of(upstream) == family


def test_from_specs_name_and_name_equals_upstream() -> None:
    catalogue = Catalogue.from_specs(
        ["gemini-2.5-pro", "fast = gemini-2.5-flash", " opus=claude-opus-4-6-thinking ", "x="]
    )
    assert list(catalogue) == [
        ModelInfo("gemini-2.5-pro", "gemini-2.5-pro", "gemini-2.5", "google"),
        ModelInfo("fast", "gemini-2.5-flash", "gemini-2.5", "google"),
        ModelInfo("opus", "claude-opus-4-6-thinking", "claude", "google"),
        ModelInfo("x", "x", "gemini-3", "google"),
    ]
    assert len(catalogue) == 4


def test_from_specs_owned_by() -> None:
    catalogue = Catalogue.from_specs(["gemini-3-flash"], owned_by="zerogravity-simulator")
    info = catalogue.get("gemini-3-flash")
    assert info == ModelInfo(
        "gemini-3-flash", "gemini-3-flash", "gemini-3", "zerogravity-simulator"
    )


@pytest.mark.parametrize("spec", ["", "   ", "=gemini-2.5-pro", " = x"])
def test_from_specs_empty_name(spec: str) -> None:
    with pytest.raises(ValueError, match=r"^empty model name in "):
        Catalogue.from_specs(["ok", spec])


def test_later_entry_with_same_name_wins() -> None:
    catalogue = Catalogue.from_specs(["a=gemini-2.5-pro", "a=gemini-3-flash"])
    assert len(catalogue) == 1
    info = catalogue.get("a")
    assert info is not None and info.upstream == "gemini-3-flash"


def test_to_openai_shape() -> None:
    info = ModelInfo("fast", "gemini-2.5-flash", "gemini-2.5", "google")
    assert info.to_openai() == {
        "id": "fast",
        "object": "model",
        "created": CREATED,
        "owned_by": "google",
    }
    assert CREATED == 1735689600


def test_exact_lookup_only() -> None:
    catalogue = Catalogue.from_specs(DEFAULT_MODELS["gemini"])
    info = catalogue.get("gemini-2.5-flash")
    assert info is not None and info.upstream == "gemini-2.5-flash"
    for name in (
        "gemini-2.5",
        "gemini-2.5-flash-",
        "GEMINI-2.5-FLASH",
        "models/gemini-2.5-flash",
        " gemini-2.5-flash",
        "gemini-2.5-flash-latest",
        "",
    ):
        assert catalogue.get(name) is None, name


@pytest.mark.parametrize("flavour", ["gemini", "cloudcode"])
def test_default_catalogues_build(flavour: str) -> None:
    specs = DEFAULT_MODELS[flavour]
    catalogue = Catalogue.from_specs(specs)
    assert len(catalogue) == len(specs)  # no duplicates, no empty names
    for info in catalogue:
        assert info.upstream == info.id  # defaults are plain names
        assert info.family == family_of(info.id)
    assert catalogue.get("gemini-2.5-pro") == ModelInfo(
        "gemini-2.5-pro", "gemini-2.5-pro", "gemini-2.5", "google"
    )
    if flavour == "cloudcode":
        claude = [m.id for m in catalogue if m.family == "claude"]
        assert claude and all(name.startswith("claude-") for name in claude)
