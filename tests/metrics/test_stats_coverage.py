"""The statistics layer on simulated experiments with a known truth.

A simulated experiment is nested as the lab's are: K pretraining seeds × R RLHF seeds × I items, with a
between-pretraining-seed effect, a between-RLHF-seed effect and item noise. Over 1,000 experiments the nominal
95% interval of :func:`cluster_estimate` must cover the true mean 93–97% of the time; the (seed, item) bootstrap
the stories used before must fail the case with strong between-seed variance.
"""

from __future__ import annotations

import numpy as np
import pytest

from oversight_lab.metrics.stats import (
    cluster_estimate,
    holm,
    mean_ci,
    median_range,
    paired_bootstrap_ci,
    paired_cluster_estimate,
    unit_means,
)

TRUTH = 0.4


def _experiment(rng: np.random.Generator, k: int, r: int, i: int, sd_pre: float, sd_rl: float, sd_item: float):
    a = rng.normal(0, sd_pre, k)[:, None, None]
    b = rng.normal(0, sd_rl, (k, r))[:, :, None]
    e = rng.normal(0, sd_item, (k, r, i))
    y = TRUTH + a + b + e
    units = [(p, p * 100 + s, j) for p in range(k) for s in range(r) for j in range(i)]
    return y.reshape(-1), units


@pytest.mark.parametrize(
    "k, sd_pre, sd_rl",
    [(3, 0.3, 0.1), (5, 0.3, 0.1), (3, 0.0, 0.2), (4, 0.05, 0.05)],
    ids=["strong-between-pretrain-3", "strong-between-pretrain-5", "rlhf-only", "weak"],
)
def test_cluster_interval_covers_95_percent(k: int, sd_pre: float, sd_rl: float) -> None:
    rng = np.random.default_rng(12345 + k)
    hits = 0
    for _ in range(1000):
        y, units = _experiment(rng, k, 3, 24, sd_pre, sd_rl, 0.5)
        est = cluster_estimate(y, units)
        assert est.n_units == k and est.unit == "pretraining seed"
        hits += est.lo <= TRUTH <= est.hi
    assert 0.93 <= hits / 1000 <= 0.97, hits


def test_item_bootstrap_undercovers_when_seeds_vary() -> None:
    """The old method: (seed, item) pairs resampled as if independent. Its interval is far too narrow."""
    rng = np.random.default_rng(7)
    hits_old = hits_new = 0
    n = 300
    for _ in range(n):
        y, units = _experiment(rng, 3, 3, 24, 0.3, 0.1, 0.5)
        _, lo, hi = paired_bootstrap_ci(y, np.zeros_like(y), n_boot=300, seed=int(rng.integers(1 << 30)))
        hits_old += lo <= TRUTH <= hi
        est = cluster_estimate(y, units)
        hits_new += est.lo <= TRUTH <= est.hi
    assert hits_old / n < 0.6  # measured 0.33 (new method 0.96): a nominal 95% interval missing 2 times in 3
    assert hits_new / n > 0.9


def test_unit_means_average_bottom_up_with_equal_weight() -> None:
    # pretraining seed 0 has one run with 1 item (value 1) and one run with 3 items (value 0): the seed mean is
    # the mean of the two runs (0.5), not of the four items (0.25)
    values = [1.0, 0.0, 0.0, 0.0, 2.0]
    units = [(0, 0, 0), (0, 1, 0), (0, 1, 1), (0, 1, 2), (1, 2, 0)]
    assert unit_means(values, units, 1) == {(0,): 0.5, (1,): 2.0}
    assert unit_means(values, units, 2)[(0, 1)] == 0.0
    with pytest.raises(ValueError, match="differ in length"):
        unit_means([1.0], units)


def test_one_pretraining_seed_falls_back_to_rlhf_seeds_and_says_so() -> None:
    est = cluster_estimate([0.1, 0.2, 0.3, 0.5], [(0, 0), (0, 1), (0, 2), (0, 3)])
    assert est.n_units == 4 and est.unit == "RLHF seed"
    assert "conditional on one pretraining seed" in est.method
    assert est.lo < 0.275 < est.hi


def test_bounds_keep_rates_in_range() -> None:
    m, lo, hi = mean_ci([0.0, 0.0, 0.9], bounds=(0.0, 1.0))
    assert lo == 0.0 and hi <= 1.0 and m == pytest.approx(0.3)
    unbounded = mean_ci([0.0, 0.0, 0.9])
    assert unbounded[1] < 0  # what the old reports showed: a rate below zero
    est = cluster_estimate([0.0, 0.0, 1.0], [(0,), (1,), (2,)], bounds=(0, 1))
    assert est.lo >= 0 and est.hi <= 1 and "range" in est.method


def test_paired_difference_is_within_units_and_p_value_matches_scipy() -> None:
    from scipy import stats

    a = {(0, 0): 1.0, (0, 1): 1.2, (1, 2): 2.0, (1, 3): 2.4, (2, 4): 0.9, (2, 5): 1.1}
    b = {(0, 0): 0.5, (0, 1): 0.5, (1, 2): 1.5, (1, 3): 1.5, (2, 4): 0.5, (2, 5): 0.3, (3, 6): 9.0}
    est = paired_cluster_estimate(a, b)
    diffs = [0.6, 0.7, 0.6]  # per pretraining seed: mean over its two RLHF seeds; seed 3 has no partner
    assert est.n_units == 3 and est.value == pytest.approx(np.mean(diffs))
    assert est.p_value == pytest.approx(stats.ttest_1samp(diffs, 0).pvalue)
    assert est.excludes(0.0)


def test_holm_and_median_range() -> None:
    assert holm([0.01, 0.04, 0.03, float("nan")])[:3] == pytest.approx([0.03, 0.06, 0.06])
    with pytest.raises(ValueError, match="p_values"):
        holm([1.5])
    assert median_range([1, 4, 16, float("nan")]) == {"median": 4.0, "min": 1.0, "max": 16.0, "n": 3}


def test_item_bootstrap_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="a: 1 of 2"):
        paired_bootstrap_ci([1.0, float("nan")], [0.0, 0.0])
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_ci([1.0, 2.0], [0.0])
