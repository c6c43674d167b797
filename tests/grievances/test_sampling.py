"""Sample size and intervals against published values, and properties that must hold for any input."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grievances.sampling import draw, sample_size, wilson_interval, z_score


@pytest.mark.parametrize(
    ("population", "expected"),
    # Krejcie & Morgan (1970), table for 95 % / 5 %, and Cochran's unlimited population (384.15 up: 385).
    [(10, 10), (100, 80), (500, 218), (1000, 278), (10_000, 370), (100_000, 383), (1_000_000, 384)],
)
def test_known_sample_sizes_at_95_and_5(population, expected):
    assert sample_size(population=population) == expected


def test_an_unlimited_population_needs_385():
    assert sample_size(population=10**12) == 385


def test_other_levels():
    assert round(z_score(0.95), 3) == 1.960
    assert round(z_score(0.99), 3) == 2.576
    # 99 % / 5 %, large population: 2.5758^2 * 0.25 / 0.0025 = 663.5 -> 664.
    assert sample_size(population=10**12, confidence=0.99) == 664
    # 95 % / 3 %: 1067.1 -> 1068.
    assert sample_size(population=10**12, margin=0.03) == 1068


@given(
    population=st.integers(min_value=1, max_value=10**7),
    confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    margin=st.sampled_from([0.01, 0.03, 0.05, 0.1, 0.2]),
)
def test_sample_never_exceeds_the_population_nor_the_unlimited_size(population, confidence, margin):
    n = sample_size(population=population, confidence=confidence, margin=margin)
    assert 1 <= n <= population
    assert n <= sample_size(population=10**12, confidence=confidence, margin=margin)


@given(population=st.integers(min_value=1, max_value=10**6), extra=st.integers(min_value=1, max_value=10**5))
def test_a_larger_population_never_needs_a_smaller_sample(population, extra):
    assert sample_size(population=population) <= sample_size(population=population + extra)


@given(population=st.integers(min_value=1, max_value=10**6))
def test_a_tighter_margin_or_higher_confidence_never_needs_fewer(population):
    assert sample_size(population=population, margin=0.05) <= sample_size(population=population, margin=0.03)
    assert sample_size(population=population, confidence=0.95) <= sample_size(
        population=population, confidence=0.99
    )


def test_empty_population_and_bad_arguments():
    assert sample_size(population=0) == 0
    with pytest.raises(ValueError):
        sample_size(population=10, margin=0)
    with pytest.raises(ValueError):
        sample_size(population=10, confidence=1)


@given(seed=st.integers(min_value=0, max_value=2**62), size=st.integers(min_value=0, max_value=50))
def test_the_draw_is_reproducible_and_without_replacement(seed, size):
    population = list(range(50))
    first = draw(population, size=size, seed=seed)
    assert first == draw(population, size=size, seed=seed)
    assert len(set(first)) == size and set(first) <= set(population)


def test_wilson_interval():
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(95, 100)
    # Published value for 95/100 at 95 %: 0.888 - 0.978.
    assert (round(low, 3), round(high, 3)) == (0.888, 0.978)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and 0.72 < low < 0.73


@given(n=st.integers(min_value=1, max_value=5000), data=st.data())
def test_the_interval_contains_the_observed_rate(n, data):
    k = data.draw(st.integers(min_value=0, max_value=n))
    low, high = wilson_interval(k, n)
    assert 0 <= low <= k / n <= high <= 1
