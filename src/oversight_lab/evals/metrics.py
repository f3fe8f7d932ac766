"""Calibration of multiple-choice answers: the eval-side arrays and the temperature fit.

Confidence is the probability of the model's chosen answer, normalised over the choices; correctness is
whether that answer is the target. ECE (equal width and equal mass), Brier, AUROC and the reliability diagram
are the lab's one implementation in :mod:`oversight_lab.metrics.calibration`; this module adds what needs the
choices' log-likelihoods:

* NLL and temperature scaling: one ``T > 0`` that minimises the negative log-likelihood of
  ``softmax(logits / T)`` (Guo et al. 2017); ``ece_ts`` is the ECE after scaling, cross-fitted on two halves
  so it is not fit on itself.
* ``calibration_summary``: every metric under a prefix. Unparsed answers (no choice picked) count as wrong in
  ``acc``, are left out of the calibration metrics (they state no confidence), and their share is
  ``unparsed_rate``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from oversight_lab.evals.items import Scored
from oversight_lab.metrics.calibration import auroc, brier, brier_multiclass, ece
from oversight_lab.metrics.checks import as_finite, check_same_length

__all__ = [
    "calibration_arrays",
    "calibration_summary",
    "fit_temperature",
    "nll",
]


def _logits_targets(logits: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = as_finite("logits", logits, ndim=2)
    t = np.asarray(targets)
    check_same_length(logits=x, targets=t)
    if len(t) and (
        t.ndim != 1 or not np.issubdtype(t.dtype, np.integer) or t.min() < 0 or t.max() >= x.shape[1]
    ):
        raise ValueError(f"targets must be integer indices in [0, {x.shape[1]}), got {t.tolist()[:10]}")
    return x, t


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the targets under ``softmax(logits / temperature)``."""
    logits, targets = _logits_targets(logits, targets)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logp = log_softmax(logits / temperature, axis=1)
    return float(-logp[np.arange(len(targets)), targets].mean())


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature minimising NLL (Guo et al. 2017), searched over log T in [log 0.01, log 100]."""
    logits, targets = _logits_targets(logits, targets)
    res = minimize_scalar(
        lambda log_t: nll(logits, targets, float(np.exp(log_t))),
        bounds=(np.log(0.01), np.log(100.0)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(res.x))


def calibration_arrays(scored: list[Scored]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(logits, probs, targets, correct)`` for the parsed samples with a target, padded to the most choices.

    ``logits`` are the choices' log-likelihoods (None from generation is treated as the probabilities' log).
    Unparsed samples state no confidence and are not rows here.
    """
    rows = [s for s in scored if s.item.target is not None and not s.unparsed]
    width = max((len(s.probs) for s in rows), default=0)
    logits = np.full((len(rows), width), -1e9)
    probs = np.zeros((len(rows), width))
    for r, s in enumerate(rows):
        lps = s.logprobs if s.logprobs and all(lp is not None for lp in s.logprobs) else None
        k = len(s.probs)
        logits[r, :k] = np.asarray(lps, float) if lps else np.log(np.clip(s.probs, 1e-12, 1.0))
        probs[r, :k] = s.probs
    targets = np.array([s.item.target for s in rows], dtype=int)
    correct = np.array([bool(s.hit) for s in rows], dtype=bool)
    return logits, probs, targets, correct


def calibration_summary(
    prefix: str, scored: list[Scored], n_bins: int = 10, fit_temperature: bool = True
) -> dict[str, float]:
    """All calibration metrics of ``scored`` under ``prefix`` (e.g. ``calib/mmlu``).

    ``acc`` counts every sample with a target (an unparsed answer is wrong); the calibration metrics use the
    parsed ones; ``n`` counts all, ``unparsed_rate`` is the share that picked no choice.
    """
    with_target = [s for s in scored if s.item.target is not None]
    logits, probs, targets, correct = calibration_arrays(with_target)
    conf = probs.max(axis=1) if len(probs) else np.zeros(0)
    n = len(with_target)
    out = {
        f"{prefix}/acc": float(np.mean([bool(s.hit) for s in with_target])) if n else float("nan"),
        f"{prefix}/confidence": float(conf.mean()) if len(conf) else float("nan"),
        f"{prefix}/ece": ece(conf, correct, n_bins, "width"),
        f"{prefix}/ece_mass": ece(conf, correct, n_bins, "mass"),
        f"{prefix}/brier": brier_multiclass(probs, targets) if len(targets) else float("nan"),
        f"{prefix}/brier_top": brier(conf, correct) if len(conf) else float("nan"),
        f"{prefix}/auroc": auroc(conf, correct),
        f"{prefix}/nll": nll(logits, targets) if len(targets) else float("nan"),
        f"{prefix}/n": float(n),
        f"{prefix}/unparsed_rate": float(np.mean([s.unparsed for s in with_target])) if n else float("nan"),
    }
    if fit_temperature and len(targets) >= 4:
        out[f"{prefix}/temperature"] = _fit_temperature(logits, targets)
        out[f"{prefix}/ece_ts"] = _crossfit_ece(logits, targets, correct, n_bins)
    return out


_fit_temperature = fit_temperature  # the parameter above shadows the function inside calibration_summary


def _crossfit_ece(logits: np.ndarray, targets: np.ndarray, correct: np.ndarray, n_bins: int) -> float:
    """ECE after temperature scaling, each half scaled with the temperature fit on the other half.

    A positive temperature keeps every answer's choice, so ``correct`` is unchanged; only confidence moves.
    """
    idx = np.arange(len(targets))
    halves = (idx[idx % 2 == 0], idx[idx % 2 == 1])
    conf = np.zeros(len(targets))
    for fit_on, apply_to in (halves, halves[::-1]):
        t = _fit_temperature(logits[fit_on], targets[fit_on])
        conf[apply_to] = np.exp(log_softmax(logits[apply_to] / t, axis=1)).max(axis=1)
    return ece(np.clip(conf, 0.0, 1.0), correct, n_bins, "width")
