"""The overoptimisation fits recover known coefficients; the every-n estimator equals the brute-force one."""

import itertools
import math

import numpy as np
import pytest

from oversight_lab.metrics.overopt import bon_curve_all, fit_gao, fit_seeds, gao_form, paired_difference, peak
from oversight_lab.optimize.best_of_n import bon_curve, bon_kl


@pytest.mark.parametrize(
    "form,alpha,beta", [("bon", 1.2, 0.5), ("bon", 0.6, 0.1), ("rl", 0.9, 0.6), ("rl", 0.5, 0.2)]
)
def test_fit_recovers_coefficients_from_noisy_curves(form, alpha, beta):
    rng = np.random.default_rng(0)
    d = np.sqrt(bon_kl(2 ** np.arange(0, 14)))  # the √KL of best-of-n at n = 1, 2, 4, … 8192
    r = gao_form(form, d, alpha, beta) + rng.normal(scale=0.01, size=len(d))
    fit = fit_gao(d, r, form)
    assert fit.alpha == pytest.approx(alpha, abs=0.05) and fit.beta == pytest.approx(beta, abs=0.05)
    assert fit.alpha_lo < alpha < fit.alpha_hi and fit.beta_lo < beta < fit.beta_hi
    assert fit.r2 > 0.99 and fit.n_points == len(d)


def test_fit_r2_is_low_for_the_wrong_shape():
    d = np.linspace(0, 3, 20)
    fit = fit_gao(d, np.sin(4 * d), "bon")
    assert fit.r2 < 0.5


def test_peak_is_the_argmax_of_the_form():
    grid = np.linspace(1e-6, 40, 400_001)
    for form, alpha, beta in (("bon", 1.0, 0.3), ("rl", 1.0, 0.5)):
        d_star, r_star = peak(form, alpha, beta)
        values = gao_form(form, grid, alpha, beta)
        assert d_star == pytest.approx(grid[np.argmax(values)], abs=1e-3)
        assert r_star == pytest.approx(values.max(), abs=1e-6)
    assert peak("bon", 1.0, 0.3)[0] == pytest.approx(1 / 0.6)
    assert peak("rl", 1.0, 0.5)[0] == pytest.approx(math.e)
    assert peak("bon", 1.0, -0.1) == (math.inf, math.inf)  # no overoptimisation: gold keeps rising


def test_fit_seeds_interval_covers_the_truth():
    rng = np.random.default_rng(1)
    d = np.linspace(0, 3, 15)
    curves = [
        (d, gao_form("bon", d, 1.0 + rng.normal(scale=0.05), 0.4) + rng.normal(scale=0.02, size=15))
        for _ in range(5)
    ]
    out = fit_seeds(curves, "bon")
    assert out["n_fitted"] == 5 and out["mean_fit"]["r2"] > 0.98
    assert out["alpha"]["lo"] < 1.0 < out["alpha"]["hi"]
    assert out["beta"]["lo"] < 0.4 < out["beta"]["hi"]
    assert out["d_peak"]["mean"] == pytest.approx(1.25, abs=0.1)


def test_paired_difference():
    out = paired_difference([1.0, 2.0, 3.0], [0.5, 1.0, 2.5])
    assert out["mean"] == pytest.approx((0.5 + 1.0 + 0.5) / 3) and out["n"] == 3
    assert out["lo"] < out["mean"] < out["hi"]


def brute_force(proxy, values, n):
    """Every n-subset; a tie among its best proxies broken at random (the tied values averaged)."""
    out = []
    for s in itertools.combinations(range(len(proxy)), n):
        top = max(proxy[i] for i in s)
        out.append(np.mean([values[i] for i in s if proxy[i] == top]))
    return np.mean(out)


def test_every_n_estimator_equals_brute_force_and_the_per_n_estimator():
    rng = np.random.default_rng(2)
    proxy, values = rng.normal(size=11), rng.normal(size=11)
    proxy[3] = proxy[7]  # a tie: its two values count half each, whatever their positions
    every = bon_curve_all(proxy, values)
    for n in range(1, 12):
        assert every[n - 1] == pytest.approx(brute_force(proxy, values, n), abs=1e-12)
    proxy, values = rng.normal(size=(4, 700)), rng.normal(size=(4, 700, 3))
    ns = np.arange(1, 701)
    np.testing.assert_allclose(bon_curve_all(proxy, values), bon_curve(proxy, values, ns), atol=1e-10)


def test_every_n_to_ten_thousand_is_fast_and_finite():
    rng = np.random.default_rng(3)
    proxy = rng.normal(size=10_000)
    gold = proxy - 0.2 * proxy**2 + rng.normal(scale=0.5, size=10_000)
    curve = bon_curve_all(proxy, gold)  # its speed is measured in benchmarks/bench_bon.py, not here
    assert curve.shape == (10_000,) and np.all(np.isfinite(curve))
    check = bon_curve(proxy, gold, np.array([1, 10, 100, 1000, 10_000]))
    np.testing.assert_allclose(curve[[0, 9, 99, 999, 9999]], check, atol=1e-9)
    assert curve[-1] == pytest.approx(gold[np.argmax(proxy)])


def test_fit_inputs_must_pair_up():
    with pytest.raises(ValueError, match="d and r must have one length"):
        fit_gao([0.1, 0.2, 0.3], [0.1, 0.2], "bon")
    with pytest.raises(ValueError, match="a and b must have one length"):
        paired_difference([0.1, 0.2], [0.1])


def test_sweep_intervals_nest_in_pretraining_seeds():
    """Replicates of one pretrained evaluatee are not independent: with (pretraining seed, RLHF seed) paths the
    interval is over pretraining seeds (their means first), and it is wider than one over the curves when the
    pretrained models differ while the RLHF seeds of one barely do."""
    d = np.linspace(0.0, 3.0, 8)
    curves, units = [], []
    for p, alpha in enumerate((0.5, 1.0, 1.5)):  # three pretrained models, each with its own alpha
        for s in range(4):
            curves.append((d, gao_form("bon", d, alpha + 0.001 * s, 0.2)))
            units.append((p, 10 * p + s))
    flat = fit_seeds(curves, "bon")
    nested = fit_seeds(curves, "bon", units)
    assert nested["alpha"]["mean"] == pytest.approx(1.0 + 0.0015, abs=1e-3)
    assert "3 pretraining seeds" in nested["alpha"]["method"]
    assert (nested["alpha"]["hi"] - nested["alpha"]["lo"]) > 1.5 * (flat["alpha"]["hi"] - flat["alpha"]["lo"])
    # paired differences nest the same way: the mean of the per-pretraining-seed means
    diffs = paired_difference([1.0, 1.2, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0], units=[(0, 1), (0, 2), (1, 3), (1, 4)])
    assert diffs["mean"] == pytest.approx((1.1 + 3.0) / 2) and diffs["n"] == 4
    assert "2 pretraining seeds" in diffs["method"]
    with pytest.raises(ValueError, match="units"):
        fit_seeds(curves, "bon", units[:-1])
