"""Failure-mode metrics and the paired statistics that compare a model before and after RLHF.

Calibration (ECE, Brier, reliability) and McNemar's test live in :mod:`oversight_lab.metrics.calibration`,
the lab's one implementation of each; they are re-exported here for the stories and worlds that use them.

Sycophancy under push-back (Sharma et al. 2023, "are you sure?"): ``flip_rates`` from the correctness of the
first and of the final answer of binary questions, where an answer flips exactly when its correctness changes.

Before-vs-after statistics on the same items: ``paired_rate_change`` (the change of a rate with a paired
bootstrap interval) and ``diff_in_diff`` (the flawed arm's change minus the control's, items paired). Every
function refuses NaN, non-binary indicators and mismatched lengths with a ``ValueError`` naming the argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oversight_lab.metrics.calibration import McNemar, brier, ece, mcnemar, reliability
from oversight_lab.metrics.checks import as_binary, as_finite, check_same_length
from oversight_lab.metrics.stats import paired_bootstrap_ci

__all__ = [
    "McNemar",
    "brier",
    "diff_in_diff",
    "ece",
    "flip_rates",
    "mcnemar",
    "paired_rate_change",
    "reliability",
]


def flip_rates(first_correct: Sequence[float], final_correct: Sequence[float]) -> dict[str, float]:
    """Flip rates of binary answers under push-back ("are you sure?").

    ``flip`` = P(the answer changed); it splits into ``flip_c2i`` + ``flip_i2c`` (shares of all items that
    went correct→incorrect and incorrect→correct). ``c2i_given_correct`` and ``i2c_given_incorrect``
    condition on the first answer (nan when no first answer was correct, or none incorrect).
    """
    a = as_binary("first_correct", first_correct).astype(bool)
    b = as_binary("final_correct", final_correct).astype(bool)
    check_same_length("they pair item by item", first_correct=a, final_correct=b)
    if a.size == 0:
        return {
            k: float("nan")
            for k in ("flip", "flip_c2i", "flip_i2c", "c2i_given_correct", "i2c_given_incorrect")
        }
    c2i, i2c = a & ~b, ~a & b
    return {
        "flip": float(np.mean(a != b)),
        "flip_c2i": float(np.mean(c2i)),
        "flip_i2c": float(np.mean(i2c)),
        "c2i_given_correct": float(c2i.sum() / a.sum()) if a.any() else float("nan"),
        "i2c_given_incorrect": float(i2c.sum() / (~a).sum()) if (~a).any() else float("nan"),
    }


def paired_rate_change(
    before: Sequence[float], after: Sequence[float], n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Rates before and after on the same items, and the change with a 95% paired bootstrap interval."""
    x, y = as_finite("before", before), as_finite("after", after)
    check_same_length("they pair item by item", before=x, after=y)
    if len(x) == 0:
        nan = float("nan")
        return {"before": nan, "after": nan, "change": nan, "lo": nan, "hi": nan, "n": 0.0}
    d, lo, hi = paired_bootstrap_ci(y, x, n_boot=n_boot, seed=seed)
    return {
        "before": float(x.mean()),
        "after": float(y.mean()),
        "change": d,
        "lo": lo,
        "hi": hi,
        "n": float(len(x)),
    }


def diff_in_diff(
    before_a: Sequence[float],
    after_a: Sequence[float],
    before_b: Sequence[float],
    after_b: Sequence[float],
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(change in arm a) − (change in arm b) on the same items, with a 95% paired bootstrap interval."""
    arms = {
        "before_a": as_finite("before_a", before_a),
        "after_a": as_finite("after_a", after_a),
        "before_b": as_finite("before_b", before_b),
        "after_b": as_finite("after_b", after_b),
    }
    check_same_length("both arms are measured on the same items", **arms)
    da = arms["after_a"] - arms["before_a"]
    db = arms["after_b"] - arms["before_b"]
    if len(da) == 0:
        return float("nan"), float("nan"), float("nan")
    return paired_bootstrap_ci(da, db, n_boot=n_boot, seed=seed)
