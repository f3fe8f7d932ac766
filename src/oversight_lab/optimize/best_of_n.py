"""Best-of-n sampling against a proxy, with the unbiased estimator and the analytic KL.

From one pool of N samples per prompt, the expected value of *any* quantity (gold, proxy) for the answer that
best-of-n selects by proxy is estimated without bias for every n ≤ N (Nakano et al. 2021, appendix; used by
Gao et al. 2022 and Coste et al. 2023): sort the pool by proxy ascending; the i-th smallest (1-based) is the
maximum of a uniformly random n-subset with probability C(i−1, n−1) / C(N, n). So

    E[v(best of n)] = Σ_{i=n}^{N} C(i−1, n−1) / C(N, n) · v_(i).

The KL divergence of the best-of-n policy from the base policy is log n − (n−1)/n (Stiennon et al. 2020;
Gao et al. 2022, eq. 1). Beirami et al. (2024) show it is an upper bound: exact only in the limit where every
outcome has
vanishing probability, strictly larger for a discrete policy. For a discrete policy whose probabilities are
known, ``exact_bon_kl`` computes the exact value.

Ties in the proxy are broken at random, as a best-of-n sampler with no other preference would: the estimate is
the expected value under random tie-breaking (tied samples share their mean value, see
``metrics.overopt.sorted_by_proxy``), so it does not depend on the order of the pool. A NaN proxy or value,
an n outside [1, N] and probabilities that are not a distribution are ``ValueError`` s.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field
from scipy.special import gammaln

from oversight_lab.metrics.checks import as_finite, check_same_length
from oversight_lab.metrics.overopt import sorted_by_proxy
from oversight_lab.optimize.base import OptimiserConfig

__all__ = ["BestOfNConfig", "bon_curve", "bon_distribution", "bon_kl", "bon_weights", "exact_bon_kl"]


class BestOfNConfig(OptimiserConfig):
    """Best-of-n against the proxy, every n ≤ ``pool_size`` from one pool (``bon.*``; the loop's driver is
    :mod:`oversight_lab.optimize.bon_driver`)."""

    name: ClassVar[str] = "bon"
    label: ClassVar[str] = "Best-of-n"
    kl_label: ClassVar[str] = "√KL (analytic, log n − (n−1)/n)"
    runner: ClassVar[str] = "oversight_lab.optimize.bon_driver:run"

    pool_size: int = Field(
        64, ge=2, description="samples per eval task; the estimator covers every n ≤ pool"
    )
    n_tasks: int = Field(32, ge=1, description="held-out eval tasks the pool is drawn for")
    cache_pool: bool = Field(
        False,
        description="keep the sampled pool in the cache (it depends on the initial policy, tasks and seed "
        "only, so cells of a sweep share it)",
    )


def bon_kl(n: int | np.ndarray) -> np.ndarray:
    """Analytic KL(best-of-n ‖ base) = log n − (n − 1)/n, in nats."""
    n = as_finite("n", n, ndim=None)
    if np.any(n < 1):
        raise ValueError(f"n must be >= 1, got {np.min(n)}")
    return np.log(n) - (n - 1) / n


def bon_weights(n_pool: int, ns: np.ndarray) -> np.ndarray:
    """w[j, i] = P(the (i+1)-th smallest of the pool is the best of ns[j]); shape (len(ns), n_pool)."""
    ns = _check_ns(ns, n_pool).astype(float)[:, None]
    i = np.arange(1, n_pool + 1, dtype=float)[None, :]
    valid = i >= ns
    # log C(i-1, n-1) - log C(N, n), computed with log-gamma to stay finite for N = 10^4.
    log_w = (
        gammaln(i)
        - gammaln(ns)
        - gammaln(np.maximum(i - ns + 1, 1.0))
        - (gammaln(n_pool + 1.0) - gammaln(ns + 1) - gammaln(n_pool - ns + 1))
    )
    return np.where(valid, np.exp(np.where(valid, log_w, 0.0)), 0.0)


def _check_ns(ns: np.ndarray, n_pool: int) -> np.ndarray:
    x = as_finite("ns", ns, ndim=None).ravel()
    if len(x) == 0 or np.any(x != np.round(x)) or x.min() < 1 or x.max() > n_pool:
        shown = f"{x.min()}..{x.max()}" if len(x) else "none"
        raise ValueError(f"best-of-n: every n must be an integer in [1, {n_pool}], got {shown}")
    return x.astype(int)


def bon_curve(proxy: np.ndarray, values: np.ndarray, ns: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Unbiased E[value of the proxy-best of n] for each n in ``ns``, averaged over prompts.

    ``proxy`` and ``values`` have shape (prompts, N) (or (N,) for one prompt); ``values`` may carry a trailing
    axis of several quantities, shape (prompts, N, q), giving a result of shape (len(ns), q). Tied proxies
    count with their mean value (the expectation under random tie-breaking).
    """
    sorted_vals, squeeze = sorted_by_proxy(proxy, values)  # (N, q): the weights are shared by all prompts
    n_pool = sorted_vals.shape[0]
    ns = _check_ns(ns, n_pool)
    out = np.empty((len(ns), sorted_vals.shape[-1]))
    for j in range(0, len(ns), chunk):
        out[j : j + chunk] = bon_weights(n_pool, ns[j : j + chunk]) @ sorted_vals
    return out[:, 0] if squeeze else out


def bon_distribution(probs: np.ndarray, rewards: np.ndarray, n: int) -> np.ndarray:
    """The exact best-of-n distribution of a discrete policy over outcomes ranked by ``rewards``.

    Outcomes with equal reward are tied; a tie is broken uniformly at random (the best-of-n policy then gives
    tied outcomes probability in proportion to the base policy).
    """
    probs, rewards = _check_policy(probs, rewards, n)
    levels, level_of = np.unique(rewards, return_inverse=True)  # reward levels, ascending
    at = np.bincount(level_of, weights=probs, minlength=len(levels))  # P(reward = level)
    upto = np.cumsum(at)  # F(level)
    below = np.concatenate([[0.0], upto[:-1]])  # F(level-)
    # P(max reward equals r) = F(r)^n - F(r-)^n; split among the tie in proportion to base probabilities.
    # Outcomes the base policy never produces (probability 0) are never the best of its samples.
    mass = upto**n - below**n
    share = np.divide(probs, at[level_of], out=np.zeros_like(probs), where=at[level_of] > 0)
    return mass[level_of] * share


def _check_policy(probs: np.ndarray, rewards: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    p = as_finite("probs", probs)
    r = as_finite("rewards", rewards)
    check_same_length(probs=p, rewards=r)
    if len(p) == 0 or p.min() < 0 or abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"probs must be a probability distribution (>= 0, summing to 1), sums to {p.sum()}")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return p, r


def exact_bon_kl(probs: np.ndarray, rewards: np.ndarray, n: int) -> float:
    """Exact KL(best-of-n ‖ base) for a discrete policy; ≤ log n − (n−1)/n (Beirami et al. 2024).

    KL is never negative: float error of a few ulps below 0 (at n = 1, or when one outcome takes all the
    mass) is returned as 0; a value clearly below 0 would be a bug here and raises ``ArithmeticError``.
    """
    q = bon_distribution(probs, rewards, n)
    p, _ = _check_policy(probs, rewards, n)
    mask = q > 0
    kl = float(np.sum(q[mask] * np.log(q[mask] / p[mask])))
    if kl < -1e-9:
        raise ArithmeticError(f"exact best-of-n KL came out negative ({kl}); the distribution is wrong")
    return max(kl, 0.0)
