"""Contrast-consistent search (Burns, Ye, Klein & Steinhardt 2022, "Discovering Latent Knowledge in Language
Models Without Supervision").

A linear probe ``p(x) = σ(wᵀx + b)`` is trained without labels on contrast pairs (the same question completed
with each answer), so that the two readings are *consistent*, ``p(x₁) ≈ 1 − p(x₀)``, and *confident*:

    L = mean[(p(x₁) − (1 − p(x₀)))²] + mean[min(p(x₀), p(x₁))²]

on pairs normalised per answer. As in the paper: Adam, several random restarts, the lowest loss kept; an
item's reading is ``½·(p(x₁) + 1 − p(x₀))``.

Sign resolution: negating ``(w, b)`` maps every reading p to 1 − p, which leaves the consistency term
unchanged and, for a consistent probe, the confidence term too; nothing in the objective says which end is
"true", so CCS finds a truth direction only up to sign. Burns et al. report ``max(acc, 1 − acc)`` on the test
set; we do not look at test labels. The sign is fixed on the *training* split: if the probe's accuracy on the
training items' labels is below ½, ``(w, b)`` is negated (``sign_flipped`` records it). Everything after that
uses held-out items only.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["CCSProbe", "ccs_loss"]


def ccs_loss(p0: torch.Tensor, p1: torch.Tensor) -> torch.Tensor:
    """Consistency + confidence loss of Burns et al. (2022), eq. (1)–(2)."""
    consistency = ((p1 - (1.0 - p0)) ** 2).mean()
    confidence = (torch.minimum(p0, p1) ** 2).mean()
    return consistency + confidence


class CCSProbe:
    name = "ccs"

    def __init__(
        self,
        n_tries: int = 10,
        epochs: int = 1000,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.n_tries, self.epochs, self.lr, self.weight_decay, self.seed = (
            n_tries,
            epochs,
            lr,
            weight_decay,
            seed,
        )
        self.sign_flipped = False

    def fit(self, x: np.ndarray, labels: np.ndarray | None = None) -> CCSProbe:
        """Train on pairs ``x[n, 2, d]`` without labels; ``labels`` (training split only) resolve the sign.

        The restarts train side by side as rows of one parameter matrix: Adam and weight decay act on each
        element alone, so summing the restarts' losses gives each restart exactly its own updates.
        """
        x0 = torch.tensor(x[:, 0], dtype=torch.float32)
        x1 = torch.tensor(x[:, 1], dtype=torch.float32)
        d = x0.shape[1]
        gen = torch.Generator().manual_seed(self.seed)
        w = (torch.randn(self.n_tries, d, generator=gen) / d**0.5).requires_grad_()
        b = torch.zeros(self.n_tries, requires_grad=True)
        opt = torch.optim.AdamW([w, b], lr=self.lr, weight_decay=self.weight_decay)

        def losses() -> torch.Tensor:  # one loss per restart
            p0, p1 = torch.sigmoid(x0 @ w.T + b), torch.sigmoid(x1 @ w.T + b)  # [n, tries]
            return ((p1 - (1.0 - p0)) ** 2).mean(0) + (torch.minimum(p0, p1) ** 2).mean(0)

        for _ in range(self.epochs):
            loss = losses().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = losses()
        best = int(final.argmin())
        self.loss = float(final[best])
        self.w, self.b = w[best].detach().numpy().astype(np.float64), float(b[best].detach())
        if labels is not None and np.mean((self.predict(x) > 0.5) == (labels == 1)) < 0.5:
            self.w, self.b, self.sign_flipped = -self.w, -self.b, True
        return self

    @property
    def direction(self) -> np.ndarray:
        return self.w

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(answer 1 is true) for pairs ``x[n, 2, d]``."""
        p = 1.0 / (1.0 + np.exp(-(x @ self.w + self.b)))  # [n, 2]
        return 0.5 * (p[:, 1] + 1.0 - p[:, 0])
