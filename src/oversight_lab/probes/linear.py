"""Supervised probes on contrast pairs: logistic regression and the mass-mean direction.

Both read one completed statement at a time (``prompt + answer``) and say whether it is true. An item's
reading combines its two statements as Burns et al. (2022) do: ``P(answer 1 is true) = ½·(p(x₁) + 1 −
p(x₀))``. Features are first normalised per answer (:func:`normalize_pairs`), which removes the direction
that merely says which answer was appended, so every probe must find truth rather than "ends in yes".

* Logistic regression (L2, scikit-learn), the supervised baseline of Burns et al. 2022.
* Mass-mean probe (Marks & Tegmark 2023, "The Geometry of Truth"): the direction from the mean false statement
  to the mean true one; the threshold halfway between the two means' projections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

__all__ = ["LogisticProbe", "MassMeanProbe", "PairNorm", "normalize_pairs", "pair_reading", "statements"]


@dataclass
class PairNorm:
    """Per-answer mean and standard deviation, fit on training pairs and applied to any pairs."""

    mean: np.ndarray  # [2, hidden]
    std: np.ndarray  # [2, hidden]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.std


def normalize_pairs(x_train: np.ndarray) -> PairNorm:
    """Normalisation of Burns et al. (2022): each answer's activations centred and scaled on their own."""
    return PairNorm(x_train.mean(axis=0), x_train.std(axis=0) + 1e-6)


def statements(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``[n, 2, d]`` → statements ``[2n, d]`` with truth ``[2n]`` (statement k is true iff label ==
    k)."""
    n = len(x)
    truth = np.stack([labels == 0, labels == 1], axis=1).astype(int)
    return x.reshape(2 * n, -1), truth.reshape(2 * n)


def pair_reading(p: np.ndarray) -> np.ndarray:
    """``p[n, 2]`` = P(statement k is true) → P(answer 1 is the true one) per item."""
    return 0.5 * (p[:, 1] + 1.0 - p[:, 0])


class LogisticProbe:
    name = "logreg"

    def __init__(self, c: float = 1.0) -> None:
        self.model = LogisticRegression(C=c, max_iter=2000)

    def fit(self, x: np.ndarray, labels: np.ndarray) -> LogisticProbe:
        xs, ys = statements(x, labels)
        self.model.fit(xs, ys)
        return self

    @property
    def direction(self) -> np.ndarray:
        return self.model.coef_[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(answer 1 is true) for pairs ``x[n, 2, d]``."""
        p = self.model.predict_proba(x.reshape(-1, x.shape[-1]))[:, 1].reshape(len(x), 2)
        return pair_reading(p)


class MassMeanProbe:
    name = "mass_mean"

    def fit(self, x: np.ndarray, labels: np.ndarray) -> MassMeanProbe:
        xs, ys = statements(x, labels)
        mu_true, mu_false = xs[ys == 1].mean(axis=0), xs[ys == 0].mean(axis=0)
        self.direction = mu_true - mu_false
        proj_true, proj_false = mu_true @ self.direction, mu_false @ self.direction
        self.threshold = 0.5 * (proj_true + proj_false)
        self.scale = max(1e-6, float(np.std(xs @ self.direction)))
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (x.reshape(-1, x.shape[-1]) @ self.direction - self.threshold) / self.scale
        return pair_reading((1.0 / (1.0 + np.exp(-z))).reshape(len(x), 2))
