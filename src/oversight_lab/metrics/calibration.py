"""The lab's one ECE, Brier score, AUROC, McNemar test and reliability diagram.

Every part of the lab (stories, worlds, ``oversight-lab eval``, reports) calls these, so one number means one
thing everywhere. Each checks its input first (:mod:`oversight_lab.metrics.checks`): a NaN, a confidence
outside [0, 1], a negative count or arrays of different lengths is a ``ValueError`` naming the argument.
``correct`` is 0/1, or, where an answer is right only with some probability (a forecast that comes true with
probability p), that probability in [0, 1]: ECE, Brier and the reliability diagram are then expectations.
AUROC's labels and McNemar's paired outcomes must be 0/1.

* ``reliability`` / ``ece`` — expected calibration error Σ_b (n_b / n) · |acc_b − conf_b| (Naeini et al.
  2015; Guo et al. 2017) over bins of

  - equal width (``"width"``): Guo et al.'s ``((m−1)/M, m/M]``, right-closed like scikit-learn's
    ``calibration_curve``; a confidence of exactly 0 goes into the first bin;
  - equal mass (``"mass"``; Nixon et al. 2019's adaptive ECE): sorted confidences cut into M runs of as near
    equal size as ties allow. A cut that would fall inside a run of equal confidences moves to the end of the
    run, so tied confidences always share a bin and the result never depends on input order (bins may then
    hold unequal counts, and fewer than M bins may be used).
* ``brier`` — mean (conf − correct)² of the probability a model gives its own answer (Brier 1950);
  ``brier_multiclass`` — mean over items of Σ_k (p_k − y_k)² over all choices.
* ``auroc`` — P(a right answer's confidence > a wrong one's), ties half (Mann–Whitney U from mid-ranks).
* ``mcnemar`` — paired binary outcomes before/after on the same items (McNemar 1947): the exact two-sided
  binomial test of b in b + c discordant pairs at ½, or the χ² statistic with Edwards' continuity correction
  (|b − c| − 1)² / (b + c); ``mcnemar_counts`` takes the discordant counts directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from oversight_lab.metrics.checks import (
    as_binary,
    as_finite,
    as_probabilities,
    check_count,
    check_same_length,
)

__all__ = [
    "McNemar",
    "auroc",
    "bin_index",
    "brier",
    "brier_multiclass",
    "ece",
    "mcnemar",
    "mcnemar_counts",
    "reliability",
]

Strategy = Literal["width", "mass"]


def _pair(conf: Sequence[float], correct: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    c = as_probabilities("conf", conf)
    y = as_probabilities("correct", correct)  # 0/1, or the probability of being right (in expectation)
    check_same_length(conf=c, correct=y)
    return c, y


def bin_index(conf: np.ndarray, n_bins: int, strategy: Strategy) -> np.ndarray:
    """The bin (0 … n_bins − 1) of every confidence, under ``strategy``."""
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    conf = as_probabilities("conf", conf)
    if strategy == "width":
        # Edges m/M computed as exact quotients, so a confidence written as 0.3 sits on the edge 3/10 and
        # belongs to (0.2, 0.3]; searchsorted(side="left") finds the first edge >= c.
        edges = np.arange(n_bins + 1) / n_bins
        return np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    if strategy == "mass":
        order = np.argsort(conf, kind="stable")
        s = conf[order]
        cuts = []
        for e in np.linspace(0, len(conf), n_bins + 1).round().astype(int)[1:-1]:
            while 0 < e < len(s) and s[e] == s[e - 1]:  # inside a run of ties: move to the run's end
                e += 1
            cuts.append(e)
        idx = np.empty(len(conf), dtype=int)
        idx[order] = np.searchsorted(np.asarray(cuts, dtype=int), np.arange(len(conf)), side="right")
        return idx
    raise ValueError(f"unknown binning {strategy!r}; use 'width' or 'mass'")


def reliability(
    conf: Sequence[float], correct: Sequence[float], n_bins: int = 10, strategy: Strategy = "width"
) -> list[dict[str, float]]:
    """The reliability diagram: non-empty bins in order, each ``{"lo", "hi", "conf", "acc", "n"}``.

    ``lo``/``hi`` are the bin's edges (``"width"``) or its smallest and largest confidence (``"mass"``);
    ``conf`` the mean confidence, ``acc`` the fraction correct, ``n`` the count.
    """
    c, y = _pair(conf, correct)
    idx = bin_index(c, n_bins, strategy)
    out = []
    for b in range(n_bins):
        members = idx == b
        if not members.any():
            continue
        lo, hi = (
            (b / n_bins, (b + 1) / n_bins) if strategy == "width" else (c[members].min(), c[members].max())
        )
        out.append(
            {
                "lo": float(lo),
                "hi": float(hi),
                "conf": float(c[members].mean()),
                "acc": float(y[members].mean()),
                "n": float(members.sum()),
            }
        )
    return out


def ece(
    conf: Sequence[float], correct: Sequence[float], n_bins: int = 10, strategy: Strategy = "width"
) -> float:
    """Expected calibration error with ``n_bins`` bins of equal width or equal mass; nan for no answers."""
    c, y = _pair(conf, correct)
    if len(c) == 0:
        return float("nan")
    return float(
        sum(b["n"] / len(c) * abs(b["acc"] - b["conf"]) for b in reliability(c, y, n_bins, strategy))
    )


def brier(conf: Sequence[float], correct: Sequence[float]) -> float:
    """Mean squared error of the probability given to the stated answer; nan for no answers."""
    c, y = _pair(conf, correct)
    return float(np.mean((c - y) ** 2)) if len(c) else float("nan")


def brier_multiclass(probs: np.ndarray, targets: Sequence[int]) -> float:
    """Mean over items of Σ_k (p_k − y_k)², y the one-hot target; rows of ``probs`` must sum to 1."""
    p = as_probabilities("probs", probs, ndim=2)
    t = np.asarray(targets)
    check_same_length(probs=p, targets=t)
    if len(p) == 0:
        return float("nan")
    if t.ndim != 1 or not np.issubdtype(t.dtype, np.integer) or t.min() < 0 or t.max() >= p.shape[1]:
        raise ValueError(f"targets must be integer indices in [0, {p.shape[1]}), got {t.tolist()[:10]}")
    sums = p.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        row = int(np.flatnonzero(~np.isclose(sums, 1.0, atol=1e-6))[0])
        raise ValueError(f"probs rows must sum to 1, row {row} sums to {sums[row]}")
    onehot = np.zeros_like(p)
    onehot[np.arange(len(t)), t] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def auroc(scores: Sequence[float], labels: Sequence[float]) -> float:
    """P(score of a random positive > score of a random negative), ties half; nan if a class is missing."""
    s = as_finite("scores", scores)
    y = as_binary("labels", labels).astype(bool)
    check_same_length(scores=s, labels=y)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(s)  # mid-ranks: a tie counts half
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


@dataclass(frozen=True)
class McNemar:
    """``b`` = items true before and false after; ``c`` = false before and true after."""

    b: int
    c: int
    statistic: float
    p_value: float
    method: str


def mcnemar_counts(b: int, c: int, exact: bool = True) -> McNemar:
    """McNemar's test from the discordant counts; with no discordant pairs the rates are equal and p = 1."""
    b, c = check_count("b", b), check_count("c", c)
    if b + c == 0:
        return McNemar(b, c, 0.0, 1.0, "exact" if exact else "chi2")
    if exact:
        return McNemar(b, c, float(min(b, c)), float(stats.binomtest(b, b + c, 0.5).pvalue), "exact")
    stat = (abs(b - c) - 1) ** 2 / (b + c)
    return McNemar(b, c, float(stat), float(stats.chi2.sf(stat, 1)), "chi2")


def mcnemar(before: Sequence[float], after: Sequence[float], exact: bool = True) -> McNemar:
    """McNemar's test that a per-item binary indicator has the same rate before and after."""
    x = as_binary("before", before).astype(bool)
    y = as_binary("after", after).astype(bool)
    check_same_length("they pair item by item", before=x, after=y)
    return mcnemar_counts(int((x & ~y).sum()), int((~x & y).sum()), exact)
