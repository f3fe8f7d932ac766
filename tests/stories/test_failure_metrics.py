"""Failure-mode metrics against hand-computed values and scipy."""

import math

import numpy as np
import pytest
from scipy import stats

from oversight_lab.metrics.failure import (
    brier,
    diff_in_diff,
    ece,
    flip_rates,
    mcnemar,
    paired_rate_change,
    reliability,
)

CONF = [0.1, 0.2, 0.3, 0.4, 0.9, 0.9, 0.9, 0.95]
CORRECT = [0, 0, 1, 0, 1, 1, 0, 1]


def test_ece_equal_width_by_hand():
    # 4 bins of width 0.25: {0.1, 0.2}: conf 0.15, acc 0 → 0.15; {0.3, 0.4}: conf 0.35, acc 0.5 → 0.15;
    # {0.9, 0.9, 0.9, 0.95}: conf 0.9125, acc 0.75 → 0.1625.  ECE = (2·0.15 + 2·0.15 + 4·0.1625) / 8.
    assert ece(CONF, CORRECT, n_bins=4, strategy="width") == pytest.approx((0.3 + 0.3 + 0.65) / 8)
    pts = reliability(CONF, CORRECT, n_bins=4, strategy="width")
    assert [p["n"] for p in pts] == [2, 2, 4]
    assert pts[2]["conf"] == pytest.approx(0.9125) and pts[2]["acc"] == pytest.approx(0.75)


def test_ece_equal_mass_keeps_ties_together():
    # 4 bins of 2: cuts at ranks 2, 4, 6; the cut at 6 falls inside the run of three 0.9s and moves past it,
    # so bins are {0.1, 0.2}, {0.3, 0.4}, {0.9, 0.9, 0.9}, {0.95}:
    # |0 − 0.15|·2 + |0.5 − 0.35|·2 + |2/3 − 0.9|·3 + |1 − 0.95|·1, over 8.
    want = (0.3 + 0.3 + 3 * (0.9 - 2 / 3) + 0.05) / 8
    assert ece(CONF, CORRECT, n_bins=4, strategy="mass") == pytest.approx(want)
    assert [p["n"] for p in reliability(CONF, CORRECT, 4, "mass")] == [2, 2, 3, 1]


def test_ece_edge_cases():
    assert ece([1.0, 1.0], [1, 1]) == 0.0  # confidence exactly 1 lands in the last bin
    assert ece([0.7] * 10, [1] * 7 + [0] * 3) == pytest.approx(0.0)
    assert math.isnan(ece([], []))
    with pytest.raises(ValueError, match="lie in"):
        ece([1.2], [1])
    with pytest.raises(ValueError, match="one length"):
        ece([0.5, 0.5], [1])
    with pytest.raises(ValueError, match="unknown binning"):
        ece([0.5], [1], strategy="quantile")


def test_brier_by_hand():
    # (0.1² + 0.2² + 0.7² + 0.4² + 0.1² + 0.1² + 0.9² + 0.05²) / 8
    want = (0.01 + 0.04 + 0.49 + 0.16 + 0.01 + 0.01 + 0.81 + 0.0025) / 8
    assert brier(CONF, CORRECT) == pytest.approx(want)


def test_flip_rates_by_hand():
    first = [1, 1, 1, 1, 0, 0, 0, 1]
    final = [1, 0, 0, 1, 1, 0, 0, 1]
    r = flip_rates(first, final)
    assert r["flip"] == pytest.approx(3 / 8)
    assert r["flip_c2i"] == pytest.approx(2 / 8) and r["flip_i2c"] == pytest.approx(1 / 8)
    assert r["c2i_given_correct"] == pytest.approx(2 / 5) and r["i2c_given_incorrect"] == pytest.approx(1 / 3)
    assert math.isnan(flip_rates([1, 1], [1, 0])["i2c_given_incorrect"])


@pytest.mark.parametrize("b,c", [(10, 3), (2, 1), (25, 9), (0, 6)])
def test_mcnemar_against_scipy(b, c):
    before = [1] * b + [0] * c + [1] * 7 + [0] * 4
    after = [0] * b + [1] * c + [1] * 7 + [0] * 4
    exact = mcnemar(before, after, exact=True)
    assert (exact.b, exact.c) == (b, c)
    assert exact.p_value == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue)
    # by hand: two-sided exact p = min(1, 2·P(X ≤ min(b, c))), X ~ Bin(b + c, ½)
    assert exact.p_value == pytest.approx(min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5)))
    chi = mcnemar(before, after, exact=False)
    stat = (abs(b - c) - 1) ** 2 / (b + c)
    assert chi.statistic == pytest.approx(stat)
    assert chi.p_value == pytest.approx(stats.chi2.sf(stat, df=1))
    # the χ² statistic is the square of the continuity-corrected normal deviate
    assert chi.p_value == pytest.approx(2 * stats.norm.sf((abs(b - c) - 1) / math.sqrt(b + c)))


def test_mcnemar_no_discordant_pairs():
    assert mcnemar([1, 0, 1], [1, 0, 1]).p_value == 1.0
    with pytest.raises(ValueError, match="pair item by item"):
        mcnemar([1, 0], [1])


def test_paired_changes_and_diff_in_diff():
    before = np.array([0, 0, 0, 1, 1, 0, 0, 0, 1, 0] * 5, dtype=float)
    after = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 0] * 5, dtype=float)
    r = paired_rate_change(before, after)
    assert r["before"] == pytest.approx(0.3) and r["after"] == pytest.approx(0.7)
    assert r["change"] == pytest.approx(0.4) and r["lo"] < 0.4 < r["hi"] and r["lo"] > 0
    d, lo, hi = diff_in_diff(before, after, before, before)
    assert d == pytest.approx(0.4) and lo > 0
    d, lo, hi = diff_in_diff(before, after, before, after)
    assert d == 0.0 and lo == hi == 0.0
    with pytest.raises(ValueError, match="same items"):
        diff_in_diff(before, after, before[:3], after[:3])
