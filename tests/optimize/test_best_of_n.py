import itertools
import math

import numpy as np
import pytest

from oversight_lab.optimize.best_of_n import bon_curve, bon_distribution, bon_kl, exact_bon_kl


def brute_force(proxy, values, n):
    """Average value of the proxy-best over every n-subset of the pool."""
    subsets = list(itertools.combinations(range(len(proxy)), n))
    return np.mean([values[max(s, key=lambda i: proxy[i])] for s in subsets])


def test_estimator_equals_brute_force():
    rng = np.random.default_rng(0)
    proxy, values = rng.normal(size=10), rng.normal(size=10)
    ns = np.arange(1, 11)
    est = bon_curve(proxy, values, ns)
    for n, e in zip(ns, est, strict=False):
        assert e == pytest.approx(brute_force(proxy, values, n), abs=1e-12)
    assert est[0] == pytest.approx(values.mean())
    assert est[-1] == pytest.approx(values[np.argmax(proxy)])


def test_estimator_over_prompts_and_quantities():
    rng = np.random.default_rng(1)
    proxy = rng.normal(size=(3, 8))
    vals = rng.normal(size=(3, 8, 2))
    out = bon_curve(proxy, vals, np.array([1, 3, 8]))
    assert out.shape == (3, 2)
    for j, n in enumerate([1, 3, 8]):
        expect = np.mean([brute_force(proxy[p], vals[p, :, 1], n) for p in range(3)])
        assert out[j, 1] == pytest.approx(expect)
    with pytest.raises(ValueError, match="every n must be in"):
        bon_curve(proxy, vals[..., 0], np.array([9]))


def test_large_pool_is_finite():
    rng = np.random.default_rng(2)
    out = bon_curve(rng.normal(size=10_000), rng.normal(size=10_000), np.array([1, 10, 1000, 10_000]))
    assert np.all(np.isfinite(out))


@pytest.mark.slow  # the 100,000-outcome case takes ~14 s
def test_exact_kl_is_below_the_analytic_formula():
    probs = np.full(20, 1 / 20)
    rewards = np.arange(20.0)
    for n in (1, 2, 4, 16):
        exact = exact_bon_kl(probs, rewards, n)
        assert exact <= bon_kl(n) + 1e-12
    assert exact_bon_kl(probs, rewards, 1) == pytest.approx(0.0)
    # many equally likely distinct outcomes: the exact KL approaches log n − (n−1)/n
    big = np.full(100_000, 1e-5)
    assert exact_bon_kl(big, np.arange(100_000.0), 4) == pytest.approx(float(bon_kl(4)), abs=1e-3)


def test_bon_distribution_matches_sampling_and_handles_ties():
    probs = np.array([0.5, 0.3, 0.2])
    rewards = np.array([0.0, 1.0, 1.0])  # outcomes 1 and 2 tie
    q = bon_distribution(probs, rewards, 2)
    assert q.sum() == pytest.approx(1.0)
    assert q[0] == pytest.approx(0.25)
    assert q[1] / q[2] == pytest.approx(1.5)
    assert float(bon_kl(1)) == 0.0 and float(bon_kl(2)) == pytest.approx(math.log(2) - 0.5)
