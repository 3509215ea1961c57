"""What a Gemini exchange would cost at list prices, in US dollars.

The default prices are ESTIMATES: the published pay-as-you-go list prices per million tokens
(Google AI Studio / Vertex AI for Gemini, Anthropic for Claude) as known when this was written,
for prompts within the standard context tier (Gemini Pro models charge more above 200k prompt
tokens; that tier is not modelled). Cached input is the cache-read rate; cache storage and
Claude's cache-write surcharge are not modelled. Free tiers, Antigravity or Code Assist quotas
and negotiated discounts are ignored: the figure is what the tokens would cost on a paid key.
Override or extend them with `prices` entries (`model=input/cached_input/output`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from zerogravity_proxy.events import Usage

PER = 1_000_000  # prices are per million tokens


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens: uncached prompt, cached prompt, output (thinking included)."""

    input: float
    cached: float
    output: float


# Keyed by wire id (or a prefix of wire ids, at a `-` or `@` boundary). Estimates, see above.
DEFAULT_PRICES: Mapping[str, Price] = {
    # Gemini 2.5: cached input at 10% of input since implicit caching reached all 2.5 models.
    "gemini-2.5-pro": Price(1.25, 0.125, 10.00),
    "gemini-2.5-flash": Price(0.30, 0.03, 2.50),
    "gemini-2.5-flash-lite": Price(0.10, 0.01, 0.40),
    # Gemini 3 (preview list prices; 3.1 Pro is listed at 3 Pro's prices).
    "gemini-3-pro": Price(2.00, 0.20, 12.00),
    "gemini-3-flash": Price(0.50, 0.05, 3.00),
    "gemini-3.1-pro": Price(2.00, 0.20, 12.00),
    # Claude (Anthropic's list prices; cached = cache read, 10% of input).
    "claude-sonnet-4-5": Price(3.00, 0.30, 15.00),
    "claude-sonnet-4-6": Price(3.00, 0.30, 15.00),
    "claude-opus-4-5": Price(5.00, 0.50, 25.00),
    "claude-opus-4-6": Price(5.00, 0.50, 25.00),
}

_BOUNDARIES = ("-", "@")


class PriceTable:
    """Prices by model: an exact wire id first, else the longest prefix ending at `-` or `@`.

    So `gemini-3.1-pro-high` and `gemini-3-pro-preview` find `gemini-3.1-pro` and
    `gemini-3-pro`, while `gemini-2.5-pro` never prices a hypothetical `gemini-2.5-prox`.
    A `models/` prefix (public API paths) is ignored.
    """

    def __init__(self, prices: Mapping[str, Price] = DEFAULT_PRICES) -> None:
        self._prices = dict(prices)
        # Longest first, so the first prefix that matches is the longest.
        self._prefixes = sorted(self._prices, key=len, reverse=True)

    @classmethod
    def from_entries(
        cls, entries: Sequence[str], *, defaults: Mapping[str, Price] = DEFAULT_PRICES
    ) -> PriceTable:
        """The defaults, with `model=input/cached_input/output` entries added or replacing.

        Raises ValueError naming the bad entry: missing `=`, empty model, not exactly three
        prices, or a price that is not a finite non-negative number.
        """
        prices = dict(defaults)
        for entry in entries:
            model, price = _parse_entry(entry)
            prices[model] = price
        return cls(prices)

    def get(self, model: str) -> Price | None:
        """The price of a wire id, or None when no entry matches."""
        name = model.strip().removeprefix("models/")
        exact = self._prices.get(name)
        if exact is not None:
            return exact
        for prefix in self._prefixes:
            if name.startswith(prefix) and name[len(prefix) : len(prefix) + 1] in _BOUNDARIES:
                return self._prices[prefix]
        return None

    def cost(self, model: str, usage: Usage) -> float | None:
        """USD for one response's usage, or None for an unknown model.

        Cached prompt tokens are priced at the cached rate, the rest of the prompt and the
        tool-use prompt at the input rate; output is candidates plus thoughts.
        """
        price = self.get(model)
        if price is None:
            return None
        cached = min(max(usage.cached, 0), max(usage.prompt, 0))
        uncached = max(usage.prompt, 0) - cached + max(usage.tool_use_prompt, 0)
        output = max(usage.candidates, 0) + max(usage.thoughts, 0)
        total = uncached * price.input + cached * price.cached + output * price.output
        # Rounded to a nano-dollar, so sums and comparisons carry no binary-float noise.
        return round(total / PER, 9)

    def __iter__(self) -> Iterator[tuple[str, Price]]:
        return iter(sorted(self._prices.items()))

    def __len__(self) -> int:
        return len(self._prices)


def _parse_entry(entry: str) -> tuple[str, Price]:
    model, sep, rest = entry.partition("=")
    model = model.strip()
    if not sep or not model:
        raise ValueError(f"prices: {entry!r} is not model=input/cached_input/output")
    if any(c.isspace() for c in model):
        raise ValueError(f"prices: {entry!r}: the model name contains whitespace")
    parts = rest.split("/")
    if len(parts) != 3:
        raise ValueError(
            f"prices: {entry!r}: expected three prices per million tokens,"
            " input/cached_input/output"
        )
    values: list[float] = []
    for label, text in zip(("input", "cached_input", "output"), parts, strict=True):
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"prices: {entry!r}: {label} price {text!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(
                f"prices: {entry!r}: {label} price must be a finite non-negative number"
            )
        values.append(value)
    return model, Price(*values)
