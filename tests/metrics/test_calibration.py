"""The lab's one ECE, Brier, AUROC, McNemar and reliability diagram, against hand-computed values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score

from oversight_lab.metrics.calibration import (
    auroc,
    bin_index,
    brier,
    brier_multiclass,
    ece,
    mcnemar,
    mcnemar_counts,
    reliability,
)

CONF = np.array([0.95, 0.85, 0.62, 0.55, 0.45, 0.30])
RIGHT = np.array([1, 0, 1, 1, 0, 0], dtype=bool)


def test_ece_equal_width_by_hand() -> None:
    # 5 bins of width 0.2: (0.8,1]: {.95 ✓, .85 ✗} conf .9 acc .5; (0.6,.8]: {.62 ✓} conf .62 acc 1;
    # (0.4,.6]: {.55 ✓, .45 ✗} conf .5 acc .5; (0.2,.4]: {.30 ✗} conf .3 acc 0.
    expected = (2 / 6) * 0.4 + (1 / 6) * 0.38 + (2 / 6) * 0.0 + (1 / 6) * 0.30
    assert ece(CONF, RIGHT, n_bins=5, strategy="width") == pytest.approx(expected)
    bins = reliability(CONF, RIGHT, n_bins=5)
    assert [b["n"] for b in bins] == [1, 2, 1, 2]  # the non-empty bins, in order
    assert (bins[-1]["lo"], bins[-1]["hi"]) == (0.8, 1.0)
    assert bins[-1]["acc"] == 0.5 and bins[-1]["conf"] == pytest.approx(0.9)


def test_width_bins_are_right_closed_without_float_error() -> None:
    # Guo et al.'s ((m-1)/M, m/M]: 0.6 belongs to (0.4, 0.6], 0 to the first bin. 0.7 * 10 is
    # 7.000000000000001 in floating point; it still belongs to (0.6, 0.7], bin 6.
    assert bin_index(np.array([0.6, 0.0, 1.0, 0.2]), 5, "width").tolist() == [2, 0, 4, 0]
    assert bin_index(np.array([0.7, 0.3, 0.1, 0.30000001]), 10, "width").tolist() == [6, 2, 0, 3]


def test_ece_equal_mass_by_hand() -> None:
    # 3 bins of 2 samples, sorted by confidence: {.30 ✗, .45 ✗}, {.55 ✓, .62 ✓}, {.85 ✗, .95 ✓}
    expected = (2 / 6) * abs(0 - 0.375) + (2 / 6) * abs(1 - 0.585) + (2 / 6) * abs(0.5 - 0.9)
    assert ece(CONF, RIGHT, n_bins=3, strategy="mass") == pytest.approx(expected)


def test_equal_mass_keeps_ties_in_one_bin_whatever_the_input_order() -> None:
    # Two bins: the cut at 3 falls inside the run of three 0.6s and moves past it, so the bins are
    # {0.3, 0.6, 0.6, 0.6} (conf 0.525, acc 0.5) and {0.9, 0.9} (conf 0.9, acc 1):
    # ECE = 4/6 · 0.025 + 2/6 · 0.1 = 0.05. Cutting into runs of 3 in input order gave 0.15 or 0.1833.
    conf = [0.3, 0.6, 0.6, 0.6, 0.9, 0.9]
    correct = [0, 1, 0, 1, 1, 1]
    values = set()
    for perm in itertools.permutations(range(6)):
        c = [conf[i] for i in perm]
        y = [correct[i] for i in perm]
        values.add(round(ece(c, y, n_bins=2, strategy="mass"), 12))
        assert [b["n"] for b in reliability(c, y, 2, "mass")] == [4, 2]
    assert values == {0.05}


def test_correctness_may_be_a_probability() -> None:
    # a forecast stated at 0.8 that comes true with probability 0.6 (the opinions world's forecasts): the
    # expected accuracy 0.6 against the confidence 0.8
    assert ece([0.8], [0.6]) == pytest.approx(0.2)
    assert brier([0.8], [0.6]) == pytest.approx(0.04)  # (c − p)²
    assert reliability([0.8, 0.8], [0.6, 1.0]) == [{"lo": 0.7, "hi": 0.8, "conf": 0.8, "acc": 0.8, "n": 2.0}]


def test_brier_by_hand() -> None:
    assert brier([0.7, 0.5], [1, 0]) == pytest.approx((0.09 + 0.25) / 2)
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    expected = ((0.3**2 + 0.2**2 + 0.1**2) + (0.5**2 + 0.5**2 + 0.0)) / 2
    assert brier_multiclass(probs, np.array([0, 1])) == pytest.approx(expected)


def test_auroc_by_hand_and_vs_sklearn() -> None:
    # positives {.95, .62, .55}, negatives {.85, .45, .30}: pairs won 3 + 2 + 2 = 7 of 9
    assert auroc(CONF, RIGHT) == pytest.approx(7 / 9)
    assert auroc([0.5, 0.5, 0.2], [1, 0, 0]) == pytest.approx((0.5 + 1) / 2)  # a tie counts half
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 200) / 4  # many ties
    labels = rng.random(200) < 0.4
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert np.isnan(auroc(CONF, np.ones(6, bool)))


def test_mcnemar_matches_scipy_binomtest_and_the_chi2_formula() -> None:
    for b, c in [(3, 11), (0, 6), (7, 7), (25, 12), (1, 0)]:
        assert mcnemar_counts(b, c).p_value == pytest.approx(binomtest(b, b + c, 0.5).pvalue)
    res = mcnemar_counts(25, 12, exact=False)
    assert res.statistic == pytest.approx((13 - 1) ** 2 / 37)
    assert res.p_value == pytest.approx(0.0483, abs=5e-4)  # chi2(1).sf(3.8919) from tables
    assert mcnemar_counts(0, 0).p_value == 1.0
    # from paired indicators: b = true before and false after
    t = mcnemar([1, 1, 1, 0, 0, 1], [0, 0, 1, 1, 0, 0])
    assert (t.b, t.c) == (3, 1)


BAD = [
    (lambda: ece([0.5, float("nan")], [1, 0]), "conf must be finite"),
    (lambda: ece([0.5, 0.5], [1]), "conf and correct must have one length"),
    (lambda: ece([1.2], [1]), r"conf must lie in \[0, 1\]"),
    (lambda: ece([-0.1], [1]), r"conf must lie in \[0, 1\]"),
    (lambda: ece([0.5], [1.5]), r"correct must lie in \[0, 1\]"),
    (lambda: ece([0.5], [1], n_bins=0), "n_bins"),
    (lambda: ece([0.5], [1], strategy="quantile"), "unknown binning"),
    (lambda: reliability([0.5, float("nan")], [1, 1]), "conf must be finite"),
    (lambda: brier([0.5, 0.2], [1]), "conf and correct must have one length"),
    (lambda: brier([0.5], [float("nan")]), "correct must be finite"),
    (lambda: brier_multiclass(np.array([[0.5, 0.6]]), np.array([0])), "probs rows must sum to 1"),
    (lambda: brier_multiclass(np.array([[0.5, 0.5]]), np.array([2])), "targets must be integer indices"),
    (lambda: brier_multiclass(np.array([[0.5, 0.5]]), np.array([0, 1])), "probs and targets"),
    (lambda: brier_multiclass(np.array([[1.5, -0.5]]), np.array([0])), r"probs must lie in \[0, 1\]"),
    (lambda: auroc([float("nan"), 0.1], [1, 0]), "scores must be finite"),
    (lambda: auroc([0.1], [1, 0]), "scores and labels must have one length"),
    (lambda: auroc([0.1, 0.2], [1, 2]), "labels must hold only 0/1"),
    (lambda: mcnemar_counts(-1, 3), "b must be a non-negative integer"),
    (lambda: mcnemar_counts(2, 1.5), "c must be a non-negative integer"),
    (lambda: mcnemar([1, 0], [1]), "before and after must have one length"),
    (lambda: mcnemar([1, float("nan")], [1, 0]), "before must be finite"),
]


@pytest.mark.parametrize(("call", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_is_a_value_error_naming_the_argument(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_failure_module_reexports_the_one_implementation() -> None:
    from oversight_lab.metrics import calibration, failure

    for name in ("ece", "brier", "mcnemar", "reliability", "McNemar"):
        assert getattr(failure, name) is getattr(calibration, name)
