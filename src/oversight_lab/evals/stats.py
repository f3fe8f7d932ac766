"""Paired statistics for comparing two models on the same items (McNemar's test is the lab's one, in
:mod:`oversight_lab.metrics.calibration`).

* Cluster bootstrap (percentile intervals): items of one cluster (a question asked under several templates or
  personas) are not independent, so whole clusters are resampled with replacement, the same draw for both
  models, which keeps the pairing (Efron & Tibshirani 1993; Field & Welsh 2007 for clustered data).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from oversight_lab.metrics.checks import as_finite, check_same_length

__all__ = ["bootstrap_mean_ci", "cluster_bootstrap", "cluster_indices"]

T = TypeVar("T")


def cluster_indices(keys: Sequence[str]) -> list[np.ndarray]:
    """Item indices grouped by cluster key, in first-seen order."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        groups[k].append(i)
    return [np.array(v) for v in groups.values()]


def cluster_bootstrap(
    clusters: list[np.ndarray],
    statistic: Callable[[np.ndarray], dict[str, float]],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile interval of each value ``statistic(indices)`` returns, resampling whole clusters."""
    if not clusters:
        raise ValueError("clusters must not be empty")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(n_boot):
        pick = rng.integers(0, len(clusters), len(clusters))
        idx = np.concatenate([clusters[j] for j in pick])
        for key, value in statistic(idx).items():
            if value is not None and math.isfinite(value):
                draws[key].append(value)
    alpha = (1.0 - level) / 2.0
    return {
        k: (float(np.quantile(v, alpha)), float(np.quantile(v, 1.0 - alpha)))
        for k, v in draws.items()
        if len(v) >= n_boot // 2
    }


def bootstrap_mean_ci(
    values: np.ndarray, keys: Sequence[str], n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """``(mean, lo, hi)`` of ``values`` with a cluster-bootstrap percentile interval."""
    values = as_finite("values", values)
    check_same_length(values=values, keys=keys)
    if len(values) == 0:
        raise ValueError("values must not be empty")
    ci = cluster_bootstrap(
        cluster_indices(keys), lambda idx: {"mean": float(values[idx].mean())}, n_boot, seed, level
    )
    lo, hi = ci.get("mean", (float("nan"), float("nan")))
    return float(values.mean()), lo, hi
