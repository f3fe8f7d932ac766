"""Metrics and paired statistics against hand-computed values and scipy/sklearn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score

from oversight_lab.evals.metrics import auroc, brier, brier_top, ece, fit_temperature, nll, reliability
from oversight_lab.evals.stats import bootstrap_mean_ci, mcnemar

CONF = np.array([0.95, 0.85, 0.62, 0.55, 0.45, 0.30])
RIGHT = np.array([1, 0, 1, 1, 0, 0], dtype=bool)


def test_ece_equal_width_by_hand() -> None:
    # 5 bins of width 0.2: (0.8,1]: {.95 ✓, .85 ✗} conf .9 acc .5; (0.6,.8]: {.62 ✓} conf .62 acc 1;
    # (0.4,.6]: {.55 ✓, .45 ✗} conf .5 acc .5; (0.2,.4]: {.30 ✗} conf .3 acc 0.
    expected = (2 / 6) * 0.4 + (1 / 6) * 0.38 + (2 / 6) * 0.0 + (1 / 6) * 0.30
    assert ece(CONF, RIGHT, n_bins=5, scheme="width") == pytest.approx(expected)
    bins = reliability(CONF, RIGHT, n_bins=5)
    assert [b.count for b in bins] == [0, 1, 2, 1, 2]
    assert bins[4].accuracy == 0.5 and bins[4].confidence == pytest.approx(0.9)


def test_ece_equal_mass_by_hand() -> None:
    # 3 bins of 2 samples, sorted by confidence: {.30 ✗, .45 ✗}, {.55 ✓, .62 ✓}, {.85 ✗, .95 ✓}
    expected = (2 / 6) * abs(0 - 0.375) + (2 / 6) * abs(1 - 0.585) + (2 / 6) * abs(0.5 - 0.9)
    assert ece(CONF, RIGHT, n_bins=3, scheme="mass") == pytest.approx(expected)


def test_bin_edges_are_right_closed() -> None:
    # 0.6 belongs to (0.4, 0.6], not (0.6, 0.8]; 0 goes into the first bin.
    bins = reliability(np.array([0.6, 0.0]), np.array([1, 0]), n_bins=5)
    assert [b.count for b in bins] == [1, 0, 1, 0, 0]


def test_brier_by_hand() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    targets = np.array([0, 1])
    expected = ((0.3**2 + 0.2**2 + 0.1**2) + (0.5**2 + 0.5**2 + 0.0)) / 2
    assert brier(probs, targets) == pytest.approx(expected)
    assert brier_top(np.array([0.7, 0.5]), np.array([1, 0])) == pytest.approx((0.09 + 0.25) / 2)


def test_auroc_by_hand_and_vs_sklearn() -> None:
    # positives {.95, .62, .55}, negatives {.85, .45, .30}: pairs won 3 + 2 + 2 = 7 of 9
    assert auroc(CONF, RIGHT) == pytest.approx(7 / 9)
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200) / 4  # many ties
    labels = rng.random(200) < 0.4
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert np.isnan(auroc(CONF, np.ones(6, bool)))


def test_temperature_recovers_the_generating_temperature() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (4000, 4))
    true_t = 2.5
    p = np.exp(logits / true_t)
    p /= p.sum(1, keepdims=True)
    targets = np.array([rng.choice(4, p=row) for row in p])
    t = fit_temperature(logits, targets)
    assert t == pytest.approx(true_t, rel=0.08)
    assert nll(logits, targets, t) < nll(logits, targets, 1.0)


def test_mcnemar_matches_scipy_binomtest() -> None:
    for b, c in [(3, 11), (0, 6), (7, 7), (25, 12), (1, 0)]:
        res = mcnemar(b, c)
        assert res["p_exact"] == pytest.approx(binomtest(b, b + c, 0.5).pvalue)
    res = mcnemar(25, 12)
    assert res["chi2"] == pytest.approx((13 - 1) ** 2 / 37)
    assert res["p_chi2"] == pytest.approx(0.0483, abs=5e-4)  # chi2(1).sf(3.8919) from tables
    assert mcnemar(0, 0)["p_exact"] == 1.0


def test_cluster_bootstrap_is_wider_for_correlated_clusters() -> None:
    rng = np.random.default_rng(2)
    cluster_effect = np.repeat(rng.normal(0, 1, 20), 10)  # 20 questions, 10 templates each
    values = cluster_effect + rng.normal(0, 0.1, 200)
    keys = [str(i // 10) for i in range(200)]
    mean, lo, hi = bootstrap_mean_ci(values, keys, n_boot=400)
    _, lo_i, hi_i = bootstrap_mean_ci(values, [str(i) for i in range(200)], n_boot=400)
    assert lo < mean < hi
    assert (hi - lo) > 2 * (hi_i - lo_i)  # treating items as independent would be overconfident
