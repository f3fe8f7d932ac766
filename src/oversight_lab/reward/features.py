"""A Bradley–Terry reward model on a frozen language model's features: a trained linear head, nothing else.

For a real model on a CPU, fine-tuning a 135M-parameter backbone per reward model is out of reach, and a
frozen backbone with a trained head is the standard cheap probe of what its representation already encodes.
The feature of (prompt, answer) is the final layer's hidden state at the last token of ``prompt + answer +
eos`` (the answer read in the context of the request, as a sequence-classification head would see it).
Features are computed once per distinct text and cached, so best-of-n pools and RL batches that repeat
answers cost nothing more. The head is fit with the Bradley–Terry loss −log σ(r(chosen) − r(rejected)) by
full-batch Adam, with weight decay, on standardised features.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["FeatureRewardModel", "train_feature_reward_model"]


class FeatureRewardModel:
    """r(prompt, answer) = w · standardise(h(prompt, answer)) + b over a frozen causal LM's hidden state."""

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 8) -> None:
        self.model, self.tok, self.batch_size = model.eval(), tokenizer, batch_size
        self.cache: dict[tuple[str, str], np.ndarray] = {}
        width = int(model.config.hidden_size)
        self.head = torch.nn.Linear(width, 1)
        self.mu = np.zeros(width, dtype=np.float32)
        self.sd = np.ones(width, dtype=np.float32)
        self.train_log: list[dict[str, float]] = []

    @torch.no_grad()
    def features(self, prompts: Sequence[str], answers: Sequence[str]) -> np.ndarray:
        """Hidden states (n, width), computed for texts not yet in the cache (left-padded batches)."""
        keys = list(zip(prompts, answers, strict=True))
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        eos = self.tok.eos_token or ""
        side, self.tok.padding_side = self.tok.padding_side, "left"
        try:
            for i in range(0, len(todo), self.batch_size):
                chunk = todo[i : i + self.batch_size]
                enc = self.tok(
                    [p + a + eos for p, a in chunk],
                    return_tensors="pt",
                    padding=True,
                    add_special_tokens=False,
                )
                out = self.model(**enc.to(self.model.device), output_hidden_states=True)
                last = out.hidden_states[-1][:, -1].float().cpu().numpy()
                for k, h in zip(chunk, last, strict=True):
                    self.cache[k] = h
        finally:
            self.tok.padding_side = side
        return np.stack([self.cache[k] for k in keys]) if keys else np.zeros((0, len(self.mu)), np.float32)

    def score(self, prompts: Sequence[str], answers: Sequence[str]) -> np.ndarray:
        x = (self.features(prompts, answers) - self.mu) / self.sd
        with torch.no_grad():
            return self.head(torch.from_numpy(x.astype(np.float32)))[:, 0].numpy().astype(float)


def train_feature_reward_model(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    chosen: Sequence[str],
    rejected: Sequence[str],
    steps: int = 200,
    lr: float = 1e-2,
    weight_decay: float = 1e-2,
    seed: int = 0,
) -> FeatureRewardModel:
    """Fit the head on (prompt, chosen, rejected) triples; the backbone never changes."""
    if not prompts:
        raise ValueError("feature reward model: no comparisons to train on")
    rm = FeatureRewardModel(model, tokenizer)
    fc = rm.features(prompts, chosen)
    fr = rm.features(prompts, rejected)
    both = np.concatenate([fc, fr])
    rm.mu = both.mean(0)
    rm.sd = both.std(0) + 1e-6
    xc = torch.from_numpy(((fc - rm.mu) / rm.sd).astype(np.float32))
    xr = torch.from_numpy(((fr - rm.mu) / rm.sd).astype(np.float32))
    torch.manual_seed(seed)
    torch.nn.init.zeros_(rm.head.weight)
    torch.nn.init.zeros_(rm.head.bias)
    opt = torch.optim.Adam(rm.head.parameters(), lr=lr, weight_decay=weight_decay)
    for step in range(steps):
        margin = rm.head(xc)[:, 0] - rm.head(xr)[:, 0]
        loss = torch.nn.functional.softplus(-margin).mean()  # −log σ(margin)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % max(1, steps // 10) == 0 or step == steps - 1:
            acc = float((margin > 0).float().mean())
            rm.train_log.append({"step": float(step), "loss": float(loss.detach()), "accuracy": acc})
    return rm
