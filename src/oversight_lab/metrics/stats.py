"""The one statistics layer: intervals and tests at the level of the independent unit.

An experiment of the lab is nested. A *pretraining seed* gives one pretrained evaluatee; under it, each *RLHF
seed* gives one run of the loop (its comparisons, reward model, optimiser); inside a run, *items* (tasks,
questions) are all answered by one trained model. Items of one run are not independent, and runs that start
from one pretrained model are not independent either. Every interval here is computed at the top level that
has replicates:

* measurements are averaged bottom-up (items within a run, runs within a pretraining seed, each child with
  equal weight), and a Student-t interval is taken over the top-level units (``df = K − 1``).

Why this method (and not a bootstrap or a mixed model): in a balanced nested design the variance of a
top-level unit's mean contains every lower variance component, so the t-interval over unit means is exact
under normality; it is the interval a REML mixed model with Kenward–Roger degrees of freedom gives for the
grand mean of a balanced design. A cluster bootstrap is no alternative at the lab's scale: with 3 to 5
pretraining seeds the bootstrap distribution of the mean takes a handful of values and its percentile interval
undercovers (it is close to the min–max range). ``tests/metrics/test_stats_coverage.py`` checks the coverage on
1,000 simulated experiments with strong between-seed variance, and shows the (seed, item) bootstrap failing.

Further rules the layer enforces:

* an interval respects the measure's range (``bounds``): a rate never gets an interval below 0 or above 1 (the
  interval is intersected with the range, which keeps its coverage since the truth lies in the range);
* counts such as the best-of-n peak are reported as a median and a range, not a t-interval (:func:`median_range`);
* a difference between two arms is paired only where the pairing is real: arms share their pretraining seeds
  (one pretrained evaluatee per seed), so flawed − control is taken within each top-level unit;
* :func:`holm` adjusts the p-values of a family of measures (Holm 1979).

Every result carries ``method``: a sentence naming the unit, the number of units and the interval.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from oversight_lab.metrics.checks import as_finite, check_same_length

__all__ = [
    "Estimate", "UNIT_NAMES", "cluster_estimate", "paired_cluster_estimate", "unit_means", "mean_ci",
    "median_range", "holm", "clip_to_bounds", "check_finite", "paired_bootstrap_ci", "cluster_indices",
    "cluster_bootstrap", "bootstrap_mean_ci",
]

# What the levels of a unit path are called, from the top: (pretraining seed, RLHF seed, item).
UNIT_NAMES = ("pretraining seed", "RLHF seed", "item")


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its interval, the test of ``value == null``, and how they were computed."""

    value: float
    lo: float
    hi: float
    n_units: int  # number of top-level units the interval is over
    unit: str  # what a top-level unit is ("pretraining seed", …)
    method: str  # one sentence: the unit, how many, the interval
    p_value: float = float("nan")  # two-sided test of value == null (t over the units); nan with < 2 units
    spread: tuple[float, ...] = ()  # the top-level unit values the interval is over

    def excludes(self, null: float = 0.0) -> bool:
        """True when the interval lies wholly on one side of ``null`` (nan bounds never do)."""
        return bool(self.lo > null or self.hi < null) if not (math.isnan(self.lo) or math.isnan(self.hi)) else False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["spread"] = list(self.spread)
        return d


def check_finite(name: str, values: Sequence[float] | np.ndarray) -> np.ndarray:
    """``values`` as a float array; a ValueError naming ``name`` if any is NaN or infinite."""
    x = np.asarray(values, dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} of {x.size} values are NaN or infinite")
    return x


def clip_to_bounds(lo: float, hi: float, bounds: tuple[float | None, float | None]) -> tuple[float, float]:
    """Intersect an interval with a measure's range (a nan bound stays nan)."""
    low, high = bounds
    if low is not None and not math.isnan(lo):
        lo = max(lo, low)
    if high is not None and not math.isnan(hi):
        hi = min(hi, high)
    return lo, hi


def mean_ci(
    values: Sequence[float], level: float = 0.95, bounds: tuple[float | None, float | None] = (None, None)
) -> tuple[float, float, float]:
    """(mean, low, high): a Student-t interval over independent units, intersected with ``bounds``.

    NaNs are dropped (a unit with no data for the measure); with fewer than two values the interval is
    (nan, nan): one unit says nothing about spread.
    """
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(x.mean())
    if len(x) < 2:
        return m, float("nan"), float("nan")
    from scipy import stats  # imported on use: the workers of a run need none of it (~0.3 s a process)

    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    lo, hi = clip_to_bounds(m - half, m + half, bounds)
    return m, lo, hi


def unit_means(values: Sequence[float], units: Sequence[Sequence[Hashable]], depth: int = 1) -> dict[tuple, float]:
    """Average ``values`` bottom-up over their unit paths and return the means of the units at ``depth``.

    ``units[i]`` is the path of ``values[i]`` from the top, e.g. ``(pretraining seed, RLHF seed, item)``. Each
    level is averaged with equal weight per child, so a run with more items does not count for more.
    NaN values are dropped first (an item the measure does not apply to).
    """
    if len(values) != len(units):
        raise ValueError(f"values and units differ in length ({len(values)} vs {len(units)})")
    paths = [tuple(u) for u in units]
    if paths and len({len(p) for p in paths}) != 1:
        raise ValueError("units: every unit path must have the same depth")
    if paths and not 1 <= depth <= len(paths[0]):
        raise ValueError(f"depth must be in 1..{len(paths[0])}, got {depth}")
    leaves: dict[tuple, list[float]] = defaultdict(list)
    for v, p in zip(values, paths, strict=True):
        if v is not None and not math.isnan(float(v)):
            leaves[p].append(float(v))
    current = {p: float(np.mean(v)) for p, v in leaves.items()}
    width = len(paths[0]) if paths else depth
    while width > depth:
        groups: dict[tuple, list[float]] = defaultdict(list)
        for p, v in current.items():
            groups[p[:-1]].append(v)
        current = {p: float(np.mean(v)) for p, v in groups.items()}
        width -= 1
    return current


def _top_level(units: Sequence[Sequence[Hashable]]) -> int:
    """The highest level with at least two distinct units (1-based depth), else the deepest level."""
    paths = [tuple(u) for u in units]
    if not paths:
        return 1
    for depth in range(1, len(paths[0]) + 1):
        if len({p[:depth] for p in paths}) >= 2:
            return depth
    return len(paths[0])


def _estimate_from(top: dict[tuple, float], depth: int, level: float, bounds: tuple, null: float,
                   what: str, names: Sequence[str], conditional_on: int) -> Estimate:
    vals = np.array(list(top.values()), dtype=float)
    unit = names[depth - 1] if depth - 1 < len(names) else f"level-{depth} unit"
    n = len(vals)
    if n == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, unit, f"{what}: no data")
    m, lo, hi = mean_ci(list(vals), level, bounds)
    p = float("nan")
    if n >= 2:
        sd = float(vals.std(ddof=1))
        if sd > 0:
            t = (m - null) / (sd / math.sqrt(n))
            from scipy import stats

            p = float(2 * stats.t.sf(abs(t), n - 1))
        else:
            p = 0.0 if m != null else 1.0
    cond = ""
    if conditional_on:
        cond = f", conditional on one {names[0]}" if depth == 2 else f", conditional on the first {depth - 1} levels"
    method = (f"{what}: mean over {n} {unit}s{cond} (lower levels averaged first), "
              f"{int(level * 100)}% Student-t interval (df = {n - 1})"
              + (", intersected with the measure's range" if any(b is not None for b in bounds) else ""))
    if n < 2:
        method = f"{what}: one {unit}{cond}; no interval"
    return Estimate(m, lo, hi, n, unit, method, p, tuple(float(v) for v in vals))


def cluster_estimate(
    values: Sequence[float],
    units: Sequence[Sequence[Hashable]],
    *,
    level: float = 0.95,
    bounds: tuple[float | None, float | None] = (None, None),
    null: float = 0.0,
    what: str = "value",
    names: Sequence[str] = UNIT_NAMES,
) -> Estimate:
    """The mean of ``values`` with a t-interval over the top-level units of their paths ``units``.

    The top level is the first level of the paths with at least two distinct units: a run with one pretraining
    seed is analysed over its RLHF seeds, and its method says that it is conditional on that pretrained model.
    """
    depth = _top_level(units)
    top = unit_means(values, units, depth)
    return _estimate_from(top, depth, level, bounds, null, what, names, conditional_on=depth - 1)


def paired_cluster_estimate(
    a: dict[tuple, float],
    b: dict[tuple, float],
    *,
    level: float = 0.95,
    bounds: tuple[float | None, float | None] = (None, None),
    null: float = 0.0,
    what: str = "difference",
    names: Sequence[str] = UNIT_NAMES,
) -> Estimate:
    """Mean of ``a − b`` where both are keyed by the same unit paths (e.g. (pretraining seed, RLHF seed)).

    The difference is taken per shared path (the pairing is real: both arms of a replicate start from one
    pretrained evaluatee and see the same sampled pairs), then averaged and tested like
    :func:`cluster_estimate`. Paths present in only one arm are left out.
    """
    common = sorted(a.keys() & b.keys(), key=repr)
    diffs = [a[k] - b[k] for k in common]
    return cluster_estimate(diffs, common, level=level, bounds=bounds, null=null, what=what, names=names)


def median_range(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of a count-like measure over units (e.g. the n where best-of-n gold peaks)."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if len(x) == 0:
        return {"median": float("nan"), "min": float("nan"), "max": float("nan"), "n": 0}
    return {"median": float(np.median(x)), "min": float(x.min()), "max": float(x.max()), "n": int(len(x))}


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (Holm 1979), in the input's order; NaN stays NaN and is not counted."""
    p = np.asarray(p_values, dtype=float)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("p_values: every p-value must be in [0, 1]")
    ok = np.flatnonzero(~np.isnan(p))
    out = np.full(len(p), np.nan)
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return [float(v) for v in out]


def paired_bootstrap_ci(
    a: Sequence[float], b: Sequence[float], n_boot: int = 10_000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of a − b over paired items with a percentile bootstrap interval (items resampled together).

    Only for two *fixed* models answering the same items (``oversight-lab eval`` comparisons, a probe against
    the answers of one checkpoint), where the items are the sampling unit. Never for conclusions about a
    training procedure: there the unit is the seed (:func:`cluster_estimate`).
    """
    x, y = check_finite("a", a), check_finite("b", b)
    if x.shape != y.shape:
        raise ValueError(f"a and b differ in length ({len(x)} vs {len(y)})")
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    d = x - y
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), (n_boot, len(d)))
    boots = d[idx].mean(axis=1)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return float(d.mean()), float(lo), float(hi)


# -- fixed models on items (oversight-lab eval): the items are the sampling unit, clustered ---------------
# Items of one cluster (a question asked under several templates or personas) are not independent, so whole
# clusters are resampled with replacement, the same draw for both models of a comparison, which keeps the
# pairing (Efron & Tibshirani 1993; Field & Welsh 2007 for clustered data).


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
