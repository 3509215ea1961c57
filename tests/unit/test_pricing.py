"""Price lookup (exact, longest prefix), `prices` entries and the cost arithmetic."""

from __future__ import annotations

import pytest

from zerogravity_proxy.events import Usage
from zerogravity_proxy.pricing import DEFAULT_PRICES, Price, PriceTable


@pytest.fixture
def table() -> PriceTable:
    return PriceTable()


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("gemini-2.5-pro", Price(1.25, 0.125, 10.00)),
        ("gemini-2.5-flash", Price(0.30, 0.03, 2.50)),
        ("gemini-2.5-flash-lite", Price(0.10, 0.01, 0.40)),
        ("gemini-3-pro", Price(2.00, 0.20, 12.00)),
        ("gemini-3-flash", Price(0.50, 0.05, 3.00)),
        ("gemini-3.1-pro", Price(2.00, 0.20, 12.00)),
        ("claude-sonnet-4-5", Price(3.00, 0.30, 15.00)),
        ("claude-sonnet-4-6", Price(3.00, 0.30, 15.00)),
        ("claude-opus-4-5", Price(5.00, 0.50, 25.00)),
        ("claude-opus-4-6", Price(5.00, 0.50, 25.00)),
    ],
)
def test_defaults(table: PriceTable, model: str, price: Price) -> None:
    assert table.get(model) == price


def test_defaults_cover_exactly_the_documented_models(table: PriceTable) -> None:
    assert len(table) == len(DEFAULT_PRICES) == 10
    assert [model for model, _ in table] == sorted(DEFAULT_PRICES)


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("gemini-3.1-pro-high", "gemini-3.1-pro"),
        ("gemini-3.1-pro-low", "gemini-3.1-pro"),
        ("gemini-3.1-pro-preview", "gemini-3.1-pro"),
        ("gemini-3-pro-high", "gemini-3-pro"),
        ("gemini-3-pro-preview", "gemini-3-pro"),
        ("gemini-3-flash-preview", "gemini-3-flash"),
        ("gemini-2.5-flash-lite-preview-09-2025", "gemini-2.5-flash-lite"),  # longest wins
        ("gemini-2.5-flash-preview-09-2025", "gemini-2.5-flash"),
        ("claude-opus-4-6-thinking", "claude-opus-4-6"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("models/gemini-2.5-pro", "gemini-2.5-pro"),
    ],
)
def test_longest_prefix_at_a_boundary(table: PriceTable, model: str, entry: str) -> None:
    assert table.get(model) == DEFAULT_PRICES[entry]


@pytest.mark.parametrize(
    "model",
    ["gemini-2.5-prox", "gemini-3", "gemini-3.1-flash-lite", "gemini-flash-latest", "gpt-4o", ""],
)
def test_unknown_models_have_no_price(table: PriceTable, model: str) -> None:
    assert table.get(model) is None
    assert table.cost(model, Usage(prompt=10, candidates=10)) is None


def test_cost_arithmetic(table: PriceTable) -> None:
    usage = Usage(
        prompt=1_000_000,
        cached=200_000,
        candidates=100_000,
        thoughts=50_000,
        tool_use_prompt=10_000,
    )
    # (800k uncached + 10k tool-use) * 1.25 + 200k cached * 0.125 + (100k + 50k) * 10, per 1M
    assert table.cost("gemini-2.5-pro", usage) == 2.5375


def test_cost_of_small_usage_is_exact(table: PriceTable) -> None:
    assert table.cost("gemini-2.5-flash", Usage(prompt=3, candidates=2, total=5)) == 5.9e-06
    assert table.cost("claude-opus-4-6-thinking", Usage(prompt=1000, thoughts=200)) == 0.01


def test_cost_of_no_usage_is_zero(table: PriceTable) -> None:
    assert table.cost("gemini-3-flash", Usage()) == 0.0


def test_cached_beyond_the_prompt_is_capped(table: PriceTable) -> None:
    # A cached count larger than the prompt (never seen, but not trusted): the prompt is all cached.
    assert table.cost("gemini-2.5-pro", Usage(prompt=1_000_000, cached=2_000_000)) == 0.125


def test_overrides_replace_and_extend_the_defaults() -> None:
    table = PriceTable.from_entries(["gemini-2.5-pro=2/0.5/20", " my-model = 1 / 0.1 / 2 "])
    assert table.get("gemini-2.5-pro") == Price(2.0, 0.5, 20.0)
    assert table.get("gemini-2.5-pro-preview") == Price(2.0, 0.5, 20.0)
    assert table.get("my-model-v2") == Price(1.0, 0.1, 2.0)
    assert table.get("gemini-3-flash") == DEFAULT_PRICES["gemini-3-flash"]
    # 1M uncached * 1 + 1M cached * 0.1 + 0.5M output * 2
    usage = Usage(prompt=2_000_000, cached=1_000_000, candidates=500_000)
    assert table.cost("my-model", usage) == 2.1


def test_a_more_specific_override_wins_over_a_default_prefix() -> None:
    table = PriceTable.from_entries(["gemini-3.1-pro-high=4/0.4/24"])
    assert table.get("gemini-3.1-pro-high") == Price(4.0, 0.4, 24.0)
    assert table.get("gemini-3.1-pro-low") == DEFAULT_PRICES["gemini-3.1-pro"]


def test_later_entries_win_and_no_entries_are_the_defaults() -> None:
    table = PriceTable.from_entries(["m=1/1/1", "m=2/2/2"])
    assert table.get("m") == Price(2.0, 2.0, 2.0)
    assert dict(PriceTable.from_entries([])) == dict(DEFAULT_PRICES)


def test_from_entries_with_other_defaults() -> None:
    table = PriceTable.from_entries(["a=1/0/1"], defaults={})
    assert len(table) == 1 and table.get("gemini-2.5-pro") is None


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("gemini-2.5-pro", "is not model=input/cached_input/output"),
        ("=1/0.1/2", "is not model=input/cached_input/output"),
        ("my model=1/0.1/2", "model name contains whitespace"),
        ("m=1/2", "expected three prices"),
        ("m=1/2/3/4", "expected three prices"),
        ("m=", "expected three prices"),
        ("m=one/0.1/2", "input price 'one' is not a number"),
        ("m=1//2", "cached_input price '' is not a number"),
        ("m=1/0.1/-2", "output price must be a finite non-negative number"),
        ("m=nan/0.1/2", "input price must be a finite non-negative number"),
        ("m=1/inf/2", "cached_input price must be a finite non-negative number"),
    ],
)
def test_bad_entries_are_refused_with_a_clear_message(entry: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        PriceTable.from_entries(["ok=1/1/1", entry])
    assert str(caught.value).startswith(f"prices: {entry!r}")
