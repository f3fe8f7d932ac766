"""Statistics of a study, as pure functions: CIs, agreement, calibration and the sandwich gap.

* Wilson score intervals for accuracies (a proportion with few trials; never outside [0, 1]).
* Cohen's kappa for two raters and Krippendorff's alpha (nominal, ordinal, interval) for many raters with
  missing values, computed from the coincidence matrix as in Krippendorff (2011), "Computing Krippendorff's
  Alpha-Reliability".
* Calibration of stated confidence: expected calibration error over equal-width bins and the Brier score.
* Rates (labels per hour) with an exact Poisson (Garwood) interval, and no rate at all below a minimum count:
  one label over a few seconds is not a rate of thousands per hour.
* The sandwich gap of Bowman et al. (2022): (assisted - unaided) / (expert - unaided), the share of the
  distance from unaided non-experts to experts that assistance closes, with a bootstrap CI over items.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np

__all__ = [
    "bootstrap_gap",
    "calibration",
    "cohen_kappa",
    "credit",
    "krippendorff_alpha",
    "poisson_rate",
    "sandwich_gap",
    "wilson",
]


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``n`` (fractional successes allowed: tie credit)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters' nominal labels on the same units; NaN when chance agreement is 1."""
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa: {len(a)} labels against {len(b)}")
    n = len(a)
    if n == 0:
        return math.nan
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[c] * cb[c] for c in ca) / (n * n)
    if expected == 1.0:
        return math.nan
    return (observed - expected) / (1 - expected)


def krippendorff_alpha(units: Sequence[Sequence[float | None]],
                       level: Literal["nominal", "ordinal", "interval"] = "nominal") -> float:
    """Krippendorff's alpha. ``units`` holds, per unit, the values its raters gave (None: missing).

    Units with fewer than two values are not pairable and are ignored. NaN when nothing is pairable or all
    values agree on one category (expected disagreement 0).
    """
    values = [[v for v in u if v is not None] for u in units]
    values = [u for u in values if len(u) >= 2]
    if not values:
        return math.nan
    cats = sorted({v for u in values for v in u})
    index = {c: i for i, c in enumerate(cats)}
    o = np.zeros((len(cats), len(cats)))
    for u in values:
        m = len(u)
        counts = Counter(index[v] for v in u)
        for c, nc in counts.items():
            for k, nk in counts.items():
                o[c, k] += (nc * (nk - (c == k))) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if level == "nominal":
        d2 = 1.0 - np.eye(len(cats))
    elif level == "interval":
        arr = np.asarray(cats, dtype=float)
        d2 = (arr[:, None] - arr[None, :]) ** 2
    elif level == "ordinal":
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        d2 = np.zeros((len(cats), len(cats)))
        for c in range(len(cats)):
            for k in range(len(cats)):
                lo, hi = min(c, k), max(c, k)
                d2[c, k] = (cum[hi + 1] - cum[lo] - (n_c[c] + n_c[k]) / 2) ** 2
    else:
        raise ValueError(f"krippendorff_alpha: unknown level {level!r}")
    d_o = (o * d2).sum()
    d_e = (np.outer(n_c, n_c) * d2).sum() / (n - 1)
    if d_e == 0:
        return math.nan
    return float(1.0 - d_o / d_e)


def poisson_rate(n: int, exposure: float, min_n: int = 10, per: float = 1.0) -> dict[str, Any]:
    """Events per ``per`` units of ``exposure``: the estimate and an exact 95% Poisson (Garwood) interval, or
    ``rate=None`` with ``too_few=True`` when fewer than ``min_n`` events were seen (or no time has passed)."""
    from scipy.stats import chi2

    if n < min_n or exposure <= 0:
        return {"n": n, "rate": None, "ci": None, "too_few": True, "min_n": min_n}
    lo = chi2.ppf(0.025, 2 * n) / 2 if n > 0 else 0.0
    hi = chi2.ppf(0.975, 2 * n + 2) / 2
    scale = per / exposure
    return {"n": n, "rate": n * scale, "ci": [float(lo * scale), float(hi * scale)], "too_few": False,
            "min_n": min_n}


def credit(strength: int, gold: int) -> float:
    """Accuracy credit of a label against a gold choice (0: A, 1: B): 1 right, 0 wrong, 0.5 for a tie."""
    if strength == 0:
        return 0.5
    return float((strength > 0) == (gold == 1))


def calibration(confidence: Sequence[float], correct: Sequence[float], bins: int = 5) -> dict[str, Any]:
    """ECE over ``bins`` equal-width bins of [0.5, 1] (people state 50–100%) and the Brier score of stated
    confidence: the lab's one ECE and Brier (:mod:`oversight_lab.metrics.calibration`), on 2·``bins``
    equal-width bins of [0, 1], whose upper half are these bins."""
    from oversight_lab.metrics.calibration import brier, ece, reliability

    if len(confidence) == 0:
        return {"n": 0, "ece": None, "brier": None, "bins": []}
    rows = [{"lo": r["lo"], "hi": r["hi"], "n": int(r["n"]), "confidence": r["conf"], "accuracy": r["acc"]}
            for r in reliability(confidence, correct, 2 * bins)]
    return {"n": len(confidence), "ece": ece(confidence, correct, 2 * bins), "brier": brier(confidence, correct),
            "bins": rows}


def sandwich_gap(assisted: float | None, unaided: float | None, expert: float | None) -> float | None:
    """(assisted - unaided) / (expert - unaided); None when undefined (missing, or experts no better)."""
    if assisted is None or unaided is None or expert is None:
        return None
    if any(isinstance(x, float) and math.isnan(x) for x in (assisted, unaided, expert)):
        return None
    if expert - unaided <= 0:
        return None
    return (assisted - unaided) / (expert - unaided)


def bootstrap_gap(sums: np.ndarray, counts: np.ndarray, expert_sums: np.ndarray, expert_counts: np.ndarray,
                  assisted: int, unaided: int, reps: int = 1000, seed: int = 0,
                  expert_fixed: float | None = None) -> tuple[float, float] | None:
    """A 95% percentile bootstrap CI of the sandwich gap, resampling gold items.

    ``sums[i, c]``/``counts[i, c]``: credit and labels of item ``i`` under condition ``c``; the expert
    arrays are per item (leave-one-out expert agreement) unless ``expert_fixed`` gives expert accuracy.
    """
    n_items = sums.shape[0]
    if n_items < 2:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_items, size=(reps, n_items))
    s, c = sums[idx].sum(axis=1), counts[idx].sum(axis=1)  # reps x conditions
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = s / c
        if expert_fixed is not None:
            exp = np.full(reps, expert_fixed)
        else:
            exp = expert_sums[idx].sum(axis=1) / expert_counts[idx].sum(axis=1)
        denom = exp - acc[:, unaided]
        gaps = (acc[:, assisted] - acc[:, unaided]) / denom
    ok = np.isfinite(gaps) & (denom > 0)
    if ok.sum() < reps * 0.5:
        return None  # most resamples leave it undefined: no honest interval
    lo, hi = np.percentile(gaps[ok], [2.5, 97.5])
    return (float(lo), float(hi))
