"""Exact checks on a discrete toy policy: the best-of-n distribution by enumeration, and its KL against
log n − (n−1)/n (Beirami et al. 2024: an upper bound for a discrete policy, approached as every outcome's
probability vanishes, never reached with finitely many outcomes)."""

import itertools

import numpy as np
import pytest

from oversight_lab.optimize.best_of_n import bon_distribution, bon_kl, exact_bon_kl


def enumerate_bon(probs, rewards, n):
    """P(best-of-n = y) summed over all K^n ordered draws; ties go uniformly to the tied draws' outcomes."""
    q = np.zeros(len(probs))
    for draw in itertools.product(range(len(probs)), repeat=n):
        p = np.prod([probs[i] for i in draw])
        top = max(rewards[i] for i in draw)
        winners = [i for i in draw if rewards[i] == top]
        for i in winners:
            q[i] += p / len(winners)
    return q


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_best_of_n_distribution_equals_enumeration(n):
    probs = np.array([0.4, 0.25, 0.2, 0.1, 0.05])
    rewards = np.array([0.0, 2.0, 1.0, 3.0, 2.0])  # outcomes 1 and 4 tie
    np.testing.assert_allclose(
        bon_distribution(probs, rewards, n), enumerate_bon(probs, rewards, n), atol=1e-12
    )


def test_exact_kl_is_strictly_below_the_formula_for_a_discrete_policy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        k = int(rng.integers(2, 40))
        probs = rng.dirichlet(np.ones(k))
        rewards = rng.permutation(k).astype(float)  # distinct outcomes
        for n in (2, 3, 8, 64, 1000):
            assert exact_bon_kl(probs, rewards, n) < float(bon_kl(n))


@pytest.mark.parametrize("n", [2, 4, 16])
def test_the_gap_closes_as_outcome_probabilities_vanish(n):
    gaps = []
    for k in (10, 30, 100, 300, 1000):
        probs = np.full(k, 1.0 / k)
        gaps.append(float(bon_kl(n)) - exact_bon_kl(probs, np.arange(k, dtype=float), n))
    assert all(g > 0 for g in gaps)
    assert all(a > b for a, b in zip(gaps, gaps[1:], strict=False))  # monotone in the largest probability 1/k
    assert gaps[-1] < 1e-4  # about n / k² here


def test_ties_lower_the_kl_further():
    probs = np.full(50, 0.02)
    distinct = exact_bon_kl(probs, np.arange(50.0), 8)
    tied = exact_bon_kl(probs, np.repeat(np.arange(10.0), 5), 8)  # ten reward levels of five outcomes each
    assert tied < distinct < float(bon_kl(8))
    assert tied == pytest.approx(
        exact_bon_kl(np.full(10, 0.1), np.arange(10.0), 8)
    )  # ties act as one outcome


def test_exact_kl_is_never_negative():
    # Heavily tied rewards: the plain sum came out below 0 (down to -1e-14) for 44 of these 2,000 policies.
    rng = np.random.default_rng(1)
    for _ in range(2000):
        k = int(rng.integers(1, 30))
        p = rng.dirichlet(np.ones(k))
        r = rng.integers(0, 3, k).astype(float)
        assert exact_bon_kl(p, r, int(rng.integers(1, 50))) >= 0.0
    for n in (1, 2, 8):  # one reward level: best-of-n is the base policy
        assert exact_bon_kl(np.full(10, 0.1), np.zeros(10), n) == 0.0


def test_a_real_negative_kl_is_reported_as_a_bug(monkeypatch):
    from oversight_lab.optimize import best_of_n

    # a "distribution" with half the mass missing gives KL = log(1/2) < 0
    monkeypatch.setattr(best_of_n, "bon_distribution", lambda probs, rewards, n: np.asarray(probs) / 2)
    with pytest.raises(ArithmeticError, match="negative"):
        best_of_n.exact_bon_kl(np.full(4, 0.25), np.arange(4.0), 2)


@pytest.mark.parametrize(
    ("probs", "rewards", "n", "message"),
    [
        ([0.5, np.nan], [0.0, 1.0], 2, "probs must be finite"),
        ([0.5, 0.5], [0.0, np.nan], 2, "rewards must be finite"),
        ([0.5, 0.5], [0.0, 1.0, 2.0], 2, "probs and rewards must have one length"),
        ([1.5, -0.5], [0.0, 1.0], 2, "probability distribution"),
        ([0.3, 0.3], [0.0, 1.0], 2, "probability distribution"),
        ([0.5, 0.5], [0.0, 1.0], 0, "n must be an integer >= 1"),
    ],
)
def test_bad_policies_are_refused(probs, rewards, n, message):
    with pytest.raises(ValueError, match=message):
        exact_bon_kl(np.array(probs), np.array(rewards), n)


def test_zero_probability_outcomes_are_never_chosen():
    q = bon_distribution(np.array([0.5, 0.0, 0.5]), np.array([0.0, 2.0, 1.0]), 3)
    np.testing.assert_allclose(q, [0.125, 0.0, 0.875])
