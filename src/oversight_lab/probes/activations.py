"""Collect a model's hidden states on contrast pairs, per layer, and what the model says.

For each item and each of its two answers, the hidden state at the last token of ``prompt + answer``, at every
layer (0 = embeddings): ``acts[n, 2, n_layers + 1, hidden]``. The model's *stated* answer is the arg-max of
the two answers' log-likelihoods (lm-eval's scoring). Both come from the lab's model adapter
(:class:`oversight_lab.models.adapter.CausalLM`), directly or through the evals backend that wraps it
(``evals/backends/hf.py``, what ``oversight-lab probe`` loads).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from oversight_lab.probes.datasets import ProbeItem

__all__ = ["ActivationSet", "ActivationSource", "collect_activations"]


class ActivationSource(Protocol):
    """A local model as the adapter (or the evals HF backend) exposes it."""

    def last_token_states(self, texts: list[str]) -> torch.Tensor: ...

    def loglikelihood(self, requests: list[tuple[str, str]]) -> list[tuple[float, bool]]: ...


@dataclass
class ActivationSet:
    ids: list[str]
    acts: np.ndarray  # [n, 2, layers + 1, hidden], float32
    labels: np.ndarray  # [n] index of the true answer
    stated: np.ndarray  # [n] index of the answer the model gives (higher log-likelihood)
    answer_logprobs: np.ndarray  # [n, 2]
    groups: list[str] | None = None  # cross-fitting holds each group out together (default: each item alone)
    templates: list[str] | None = None  # normalisation is per template (default: one template)

    @property
    def n_layers(self) -> int:
        return self.acts.shape[2]

    def save(self, out_dir: str | Path) -> Path:
        from safetensors.numpy import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_file(
            {
                "acts": self.acts,
                "labels": self.labels.astype(np.int64),
                "stated": self.stated.astype(np.int64),
                "answer_logprobs": self.answer_logprobs,
            },
            str(out / "activations.safetensors"),
        )
        (out / "activation_ids.json").write_text(
            json.dumps({"ids": self.ids, "groups": self.groups, "templates": self.templates})
        )
        return out / "activations.safetensors"

    @classmethod
    def load(cls, out_dir: str | Path) -> ActivationSet:
        from safetensors.numpy import load_file

        d = Path(out_dir)
        t = load_file(str(d / "activations.safetensors"))
        meta = json.loads((d / "activation_ids.json").read_text())
        return cls(
            meta["ids"],
            t["acts"],
            t["labels"],
            t["stated"],
            t["answer_logprobs"],
            meta["groups"],
            meta.get("templates"),
        )


@torch.no_grad()
def collect_activations(backend: ActivationSource, items: list[ProbeItem]) -> ActivationSet:
    """Hidden states of both completions of every item, and the model's stated answers."""
    texts = [it.prompt + a for it in items for a in it.answers]
    acts = backend.last_token_states(texts).numpy().astype(np.float32)
    acts = acts.reshape(len(items), 2, *acts.shape[1:])
    lls = backend.loglikelihood([(it.prompt, a) for it in items for a in it.answers])
    answer_lp = np.array([ll for ll, _ in lls], dtype=np.float64).reshape(len(items), 2)
    return ActivationSet(
        [it.id for it in items],
        acts,
        np.array([it.label for it in items]),
        answer_lp.argmax(axis=1),
        answer_lp,
        [it.group or it.id for it in items],
        [it.template for it in items],
    )
