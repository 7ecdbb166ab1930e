"""Model prices in USD per million tokens, for per-step cost in the trace."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.policies.base import LLMUsage


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


def usage_of(resp: Any, model: str, stage: str) -> "LLMUsage | None":
    """Tokens and cost of one Messages API response, tagged with the pipeline stage that made it."""
    from core.policies.base import LLMUsage

    u = getattr(resp, "usage", None)
    if u is None:
        return None
    cw = getattr(u, "cache_creation_input_tokens", 0) or 0
    cr = getattr(u, "cache_read_input_tokens", 0) or 0
    inp, out = u.input_tokens or 0, u.output_tokens or 0
    return LLMUsage(model=model, input_tokens=inp, output_tokens=out, cache_read_tokens=cr, cache_write_tokens=cw,
                    cost_usd=cost_usd(model, inp, out, cw, cr), stage=stage)
