"""The statistics of post-distribution verification: sample size, reproducible draw, confidence interval.

Pure functions (no database) so they can be checked against published tables.
"""

import math
import random
from collections.abc import Sequence
from statistics import NormalDist
from typing import TypeVar

T = TypeVar("T")


def z_score(confidence: float) -> float:
    """Two-sided critical value: 1.96 for 95 %."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def sample_size(*, population: int, confidence: float = 0.95, margin: float = 0.05, p: float = 0.5) -> int:
    """Cochran's sample size with the finite population correction, rounded up.

    n0 = z^2 p (1 - p) / e^2;  n = n0 / (1 + (n0 - 1) / N). With p = 0.5 (the most cautious guess) this gives
    Krejcie & Morgan's table: N = 10,000 at 95 % / 5 % needs 370; an unlimited population 385 (384.15 up).
    """
    if population < 0:
        raise ValueError("population must not be negative")
    if not 0 < margin < 1:
        raise ValueError("margin must be between 0 and 1")
    if population == 0:
        return 0
    n0 = z_score(confidence) ** 2 * p * (1 - p) / margin**2
    n = n0 / (1 + (n0 - 1) / population)
    # Guard against 369.99999999 style float noise before rounding up.
    return min(population, math.ceil(round(n, 9)))


def draw(population: Sequence[T], *, size: int, seed: int) -> list[T]:
    """`size` items of `population` without replacement; the same population order and seed give the same list."""
    return random.Random(seed).sample(list(population), size)


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (well-behaved near 100 %, where verified rates usually are)."""
    if n == 0:
        return None
    z = z_score(confidence)
    phat = successes / n
    denominator = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denominator
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denominator
    # At 0 % and 100 % the bound is exact; float rounding must not move it past the observed rate.
    low = 0.0 if successes == 0 else max(0.0, min(phat, centre - half))
    high = 1.0 if successes == n else min(1.0, max(phat, centre + half))
    return low, high
