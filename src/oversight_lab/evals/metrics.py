"""Calibration metrics on multiple-choice answers.

Confidence is the probability of the model's chosen answer, normalised over the choices; correctness is
whether that answer is the target. Definitions (each checked against hand-computed values in the tests):

* ECE (equal width): bins ``((m-1)/M, m/M]`` of confidence; ``Σ_b |B_b|/n · |acc(B_b) − conf(B_b)|``
  (Guo et al. 2017, "On Calibration of Modern Neural Networks").
* ECE (equal mass): the same sum over ``M`` bins holding (as near as possible) equally many samples, sorted
  by confidence (Nixon et al. 2019, "Measuring Calibration in Deep Learning").
* Brier: the multi-class score ``mean_i Σ_k (p_ik − y_ik)²`` (Brier 1950); ``brier_top`` on the top label
only.
* AUROC: how well confidence separates right from wrong answers (Mann–Whitney U, ties counted half).
* Temperature scaling: one ``T > 0`` that minimises the negative log-likelihood of ``softmax(logits / T)``
  (Guo et al. 2017); ``ece_ts`` is the ECE after scaling, cross-fitted on two halves so it is not fit on
  itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from oversight_lab.evals.items import Scored

__all__ = [
    "ReliabilityBin",
    "auroc",
    "brier",
    "brier_top",
    "calibration_arrays",
    "calibration_summary",
    "ece",
    "fit_temperature",
    "nll",
    "reliability",
]


@dataclass(frozen=True)
class ReliabilityBin:
    lo: float
    hi: float
    count: int
    confidence: float  # mean confidence in the bin (nan when empty)
    accuracy: float  # fraction correct in the bin (nan when empty)


def _bins(confidence: np.ndarray, n_bins: int, scheme: str) -> list[np.ndarray]:
    if scheme == "width":
        # (m-1)/M < c <= m/M; confidence 0 goes into the first bin.
        idx = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
        return [np.flatnonzero(idx == m) for m in range(n_bins)]
    if scheme == "mass":
        order = np.argsort(confidence, kind="stable")
        return [chunk for chunk in np.array_split(order, n_bins)]
    raise ValueError(f"unknown binning scheme {scheme!r} (use 'width' or 'mass')")


def reliability(
    confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10, scheme: str = "width"
) -> list[ReliabilityBin]:
    """Per-bin mean confidence and accuracy: the data of a reliability diagram."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    out = []
    for m, idx in enumerate(_bins(confidence, n_bins, scheme)):
        if scheme == "width":
            lo, hi = m / n_bins, (m + 1) / n_bins
        else:
            lo = float(confidence[idx].min()) if len(idx) else float("nan")
            hi = float(confidence[idx].max()) if len(idx) else float("nan")
        conf = float(confidence[idx].mean()) if len(idx) else float("nan")
        acc = float(correct[idx].mean()) if len(idx) else float("nan")
        out.append(ReliabilityBin(lo, hi, len(idx), conf, acc))
    return out


def ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10, scheme: str = "width") -> float:
    """Expected calibration error with equal-width (``scheme="width"``) or equal-mass (``"mass"``) bins."""
    n = len(confidence)
    if n == 0:
        return float("nan")
    bins = reliability(confidence, correct, n_bins, scheme)
    return float(sum(b.count / n * abs(b.accuracy - b.confidence) for b in bins if b.count))


def brier(probs: np.ndarray, targets: np.ndarray) -> float:
    """Multi-class Brier score: mean over items of the squared distance to the one-hot target."""
    probs = np.asarray(probs, float)
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(targets)), targets] = 1.0
    return float(((probs - onehot) ** 2).sum(axis=1).mean())


def brier_top(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Brier score of the top-label confidence against being right."""
    return float(np.mean((np.asarray(confidence, float) - np.asarray(correct, float)) ** 2))


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties half; nan if one class is missing."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    pos, neg = scores[labels], scores[~labels]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the targets under ``softmax(logits / temperature)``."""
    logp = log_softmax(np.asarray(logits, float) / temperature, axis=1)
    return float(-logp[np.arange(len(targets)), targets].mean())


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature minimising NLL (Guo et al. 2017), searched over log T in [log 0.01, log 100]."""
    res = minimize_scalar(
        lambda log_t: nll(logits, targets, float(np.exp(log_t))),
        bounds=(np.log(0.01), np.log(100.0)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(res.x))


def calibration_arrays(scored: list[Scored]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(logits, probs, targets, correct)`` for samples with a target and a fixed number of choices.

    ``logits`` are the choices' log-likelihoods (None from generation is treated as the probabilities' log).
    """
    rows = [s for s in scored if s.item.target is not None]
    width = max((len(s.probs) for s in rows), default=0)
    logits = np.full((len(rows), width), -1e9)
    probs = np.zeros((len(rows), width))
    for r, s in enumerate(rows):
        lps = s.logprobs if s.logprobs and all(lp is not None for lp in s.logprobs) else None
        k = len(s.probs)
        logits[r, :k] = np.asarray(lps, float) if lps else np.log(np.clip(s.probs, 1e-12, 1.0))
        probs[r, :k] = s.probs
    targets = np.array([s.item.target for s in rows], dtype=int)
    correct = (probs.argmax(axis=1) == targets) if len(rows) else np.zeros(0, bool)
    return logits, probs, targets, correct


def calibration_summary(
    prefix: str, scored: list[Scored], n_bins: int = 10, fit_temperature: bool = True
) -> dict[str, float]:
    """All calibration metrics of ``scored`` under ``prefix`` (e.g. ``calib/mmlu``)."""
    logits, probs, targets, correct = calibration_arrays(scored)
    conf = probs.max(axis=1) if len(probs) else np.zeros(0)
    out = {
        f"{prefix}/acc": float(correct.mean()) if len(correct) else float("nan"),
        f"{prefix}/confidence": float(conf.mean()) if len(conf) else float("nan"),
        f"{prefix}/ece": ece(conf, correct, n_bins, "width"),
        f"{prefix}/ece_mass": ece(conf, correct, n_bins, "mass"),
        f"{prefix}/brier": brier(probs, targets) if len(targets) else float("nan"),
        f"{prefix}/brier_top": brier_top(conf, correct) if len(conf) else float("nan"),
        f"{prefix}/auroc": auroc(conf, correct),
        f"{prefix}/nll": nll(logits, targets) if len(targets) else float("nan"),
        f"{prefix}/n": float(len(targets)),
    }
    if fit_temperature and len(targets) >= 4:
        out[f"{prefix}/temperature"] = _fit_temperature(logits, targets)
        out[f"{prefix}/ece_ts"] = _crossfit_ece(logits, targets, n_bins)
    return out


_fit_temperature = fit_temperature  # the parameter above shadows the function inside calibration_summary


def _crossfit_ece(logits: np.ndarray, targets: np.ndarray, n_bins: int) -> float:
    """ECE after temperature scaling, each half scaled with the temperature fit on the other half."""
    idx = np.arange(len(targets))
    halves = (idx[idx % 2 == 0], idx[idx % 2 == 1])
    conf, correct = np.zeros(len(targets)), np.zeros(len(targets), bool)
    for fit_on, apply_to in (halves, halves[::-1]):
        t = _fit_temperature(logits[fit_on], targets[fit_on])
        p = np.exp(log_softmax(logits[apply_to] / t, axis=1))
        conf[apply_to] = p.max(axis=1)
        correct[apply_to] = p.argmax(axis=1) == targets[apply_to]
    return ece(conf, correct, n_bins, "width")
