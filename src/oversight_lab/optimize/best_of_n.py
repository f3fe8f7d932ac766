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
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field
from scipy.special import gammaln

from oversight_lab.optimize.base import OptimiserConfig

__all__ = ["BestOfNConfig", "bon_kl", "bon_weights", "bon_curve", "exact_bon_kl", "bon_distribution"]


class BestOfNConfig(OptimiserConfig):
    """Best-of-n against the proxy, every n ≤ ``pool_size`` from one pool (``bon.*``; the loop's driver is
    :mod:`oversight_lab.optimize.bon_driver`)."""

    name: ClassVar[str] = "bon"
    label: ClassVar[str] = "Best-of-n"
    kl_label: ClassVar[str] = "√KL (analytic, log n − (n−1)/n)"
    runner: ClassVar[str] = "oversight_lab.optimize.bon_driver:run"

    pool_size: int = Field(64, ge=2, description="samples per eval task; the estimator covers every n ≤ pool")
    n_tasks: int = Field(32, ge=1, description="held-out eval tasks the pool is drawn for")
    cache_pool: bool = Field(False, description="keep the sampled pool in the cache (it depends on the "
                                               "initial policy, tasks and seed only, so cells of a sweep share "
                                               "it)")


def bon_kl(n: int | np.ndarray) -> np.ndarray:
    """Analytic KL(best-of-n ‖ base) = log n − (n − 1)/n, in nats."""
    n = np.asarray(n, dtype=float)
    return np.log(n) - (n - 1) / n


def bon_weights(n_pool: int, ns: np.ndarray) -> np.ndarray:
    """w[j, i] = P(the (i+1)-th smallest of the pool is the best of ns[j]); shape (len(ns), n_pool)."""
    ns = np.asarray(ns, dtype=float)[:, None]
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


def bon_curve(proxy: np.ndarray, values: np.ndarray, ns: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Unbiased E[value of the proxy-best of n] for each n in ``ns``, averaged over prompts.

    ``proxy`` and ``values`` have shape (prompts, N) (or (N,) for one prompt); ``values`` may carry a trailing
    axis of several quantities, shape (prompts, N, q), giving a result of shape (len(ns), q).
    """
    proxy = np.atleast_2d(np.asarray(proxy, dtype=float))
    values = np.asarray(values, dtype=float)
    if values.ndim == 1 or (values.ndim == 2 and proxy.shape[0] == 1 and values.shape[0] != 1):
        values = values.reshape(1, *values.shape)
    squeeze = values.ndim == proxy.ndim
    if squeeze:
        values = values[..., None]
    n_pool = proxy.shape[1]
    ns = np.asarray(ns, dtype=int)
    if ns.min() < 1 or ns.max() > n_pool:
        raise ValueError(f"best-of-n: every n must be in [1, {n_pool}], got {ns.min()}..{ns.max()}")
    order = np.argsort(proxy, axis=1, kind="stable")
    sorted_vals = np.take_along_axis(values, order[..., None], axis=1).mean(
        axis=0
    )  # (N, q): weights are shared
    out = np.empty((len(ns), values.shape[-1]))
    for j in range(0, len(ns), chunk):
        out[j : j + chunk] = bon_weights(n_pool, ns[j : j + chunk]) @ sorted_vals
    return out[:, 0] if squeeze else out


def bon_distribution(probs: np.ndarray, rewards: np.ndarray, n: int) -> np.ndarray:
    """The exact best-of-n distribution of a discrete policy over outcomes ranked by ``rewards``.

    Outcomes with equal reward are tied; a tie is broken uniformly at random (the best-of-n policy then gives
    tied outcomes probability in proportion to the base policy).
    """
    probs = np.asarray(probs, dtype=float)
    rewards = np.asarray(rewards, dtype=float)
    out = np.zeros_like(probs)
    for r in np.unique(rewards):
        tie = rewards == r
        below = probs[rewards < r].sum()
        at = probs[tie].sum()
        # P(max reward equals r) = F(r)^n - F(r-)^n; split among the tie in proportion to base probabilities.
        mass = (below + at) ** n - below**n
        out[tie] = mass * probs[tie] / at
    return out


def exact_bon_kl(probs: np.ndarray, rewards: np.ndarray, n: int) -> float:
    """Exact KL(best-of-n ‖ base) for a discrete policy; ≤ log n − (n−1)/n (Beirami et al. 2024)."""
    probs = np.asarray(probs, dtype=float)
    q = bon_distribution(probs, rewards, n)
    mask = q > 0
    return float(np.sum(q[mask] * np.log(q[mask] / probs[mask])))
