"""How sure a sample count is: a Wilson interval with the finite-population correction.

Pure arithmetic on counts, independent of the engine that produced them.
"""
from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(matched: int, n: int, population: int | None = None, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval of the proportion matched/n.

    With `population` (N) the sample is taken without replacement, so the variance shrinks by the
    finite-population correction (N - n) / (N - 1): the interval uses the effective sample size
    n (N - 1) / (N - n). A sample of the whole population has a zero-width interval.
    """
    if n <= 0:
        return (0.0, 0.0)
    p = matched / n
    if population is not None and population > 1:
        if n >= population:
            return (p, p)
        n_eff = n * (population - 1) / (population - n)
    else:
        n_eff = float(n)
    denom = 1 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def scaled_interval(matched: int, n: int, population: int) -> tuple[int, int, int]:
    """(estimate, low, high) in customers: the sample proportion scaled to the population."""
    if n <= 0:
        return (0, 0, 0)
    lo, hi = wilson(matched, n, population)
    estimate = round(matched / n * population)
    low, high = math.floor(lo * population + 1e-9), math.ceil(hi * population - 1e-9)
    return estimate, min(low, estimate), max(high, estimate)


def too_unsure(matched: int, estimate: int, low: int, high: int, exact_below: int, max_relative_error: float) -> str:
    """Why a sample estimate is too thin to show alone ('' when it is good enough)."""
    if matched < exact_below:
        return f"only {matched:,} sampled customers match (fewer than {exact_below:,})"
    if estimate and (high - low) / 2 > max_relative_error * estimate:
        return f"the 95% interval is wider than ±{max_relative_error:.0%} of the estimate"
    return ""
