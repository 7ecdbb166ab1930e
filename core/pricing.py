"""Model prices in USD per million tokens, for per-step cost in the trace."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    input: float
    output: float

    @property
    def cache_write(self) -> float:
        return self.input * 1.25

    @property
    def cache_read(self) -> float:
        return self.input * 0.1


PRICES = {"claude-haiku-4-5": Price(1.0, 5.0), "claude-sonnet-4-6": Price(3.0, 15.0), "claude-sonnet-4-5": Price(3.0, 15.0),
          "claude-sonnet-4": Price(3.0, 15.0), "claude-opus-4": Price(5.0, 25.0)}


def price_for(model: str) -> Price | None:
    """The price of a model id, matched on its family prefix; None when unknown."""
    for prefix in sorted(PRICES, key=len, reverse=True):
        if model.startswith(prefix):
            return PRICES[prefix]
    return None


def cost_usd(model: str, input_tokens: int, output_tokens: int, cache_write: int = 0, cache_read: int = 0) -> float:
    p = price_for(model)
    if p is None:
        return 0.0
    total = input_tokens * p.input + output_tokens * p.output + cache_write * p.cache_write + cache_read * p.cache_read
    return round(total / 1_000_000, 6)
