"""Hugging Face causal LMs as an eval backend: items scored by log-likelihood, the way lm-eval does it.

Loading, tokenisation and scoring are the lab's one model adapter's
(:class:`oversight_lab.models.adapter.CausalLM`: :meth:`~oversight_lab.models.adapter.CausalLM.loglikelihood`
documents lm-eval's conventions, which make the numbers match ``lm_eval``'s ``acc``/``acc_norm`` to float
precision); this backend adds the eval side: prompt formats, items to choices, the backend's ``info``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from oversight_lab.evals.formats import PromptFormat, chat_format, hh_format
from oversight_lab.evals.items import Item, Scored
from oversight_lab.models.adapter import CausalLM, encode_pair

__all__ = ["HFBackend", "encode_pair", "tokenizer_digest"]


def tokenizer_digest(tok: PreTrainedTokenizerBase) -> str:
    """The tokenizer's content hash (the same function the tiny evaluatee's cache uses)."""
    from oversight_lab.models.tokenizer import tokenizer_hash

    return tokenizer_hash(tok)  # type: ignore[arg-type]


@dataclass
class HFBackend:
    """A causal LM scored by log-likelihood; also gives per-layer activations for probes and logs."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str = "hf"
    batch_size: int = 32
    max_length: int | None = None
    info: dict[str, Any] = field(default_factory=dict)
    lm: CausalLM = field(init=False, repr=False)  # the model adapter that loads, tokenises and scores

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path, batch_size: int = 32, dtype: str = "float32", device: str | None = None
    ) -> HFBackend:
        """Load by hub id or local directory (a closed-loop checkpoint is a local directory)."""
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        lm = CausalLM.load(name_or_path, generation=False, dtype=dtype, device=device)
        return cls(lm.model, lm.tokenizer, name=f"hf:{name_or_path}", batch_size=batch_size)

    def __post_init__(self) -> None:
        self.lm = CausalLM(self.model, self.tokenizer, name=self.name)
        if self.max_length is None:
            self.max_length = self.lm.max_length
        self.info = {
            "backend": "hf",
            "model": self.name,
            "tokenizer_hash": tokenizer_digest(self.tokenizer),
            "max_length": self.max_length,
            "dtype": str(self.model.dtype),
            **self.info,
        }

    @property
    def device(self) -> torch.device:
        return self.lm.device

    def prompt_format(self, kind: str) -> PromptFormat:
        return chat_format(self.tokenizer) if kind == "chat" else hh_format()

    def loglikelihood(self, requests: list[tuple[str, str]]) -> list[tuple[float, bool]]:
        """``(log P(continuation | context), continuation is the greedy decoding)`` for each request."""
        return self.lm.loglikelihood(requests, self.batch_size, self.max_length)

    def score(self, items: list[Item]) -> list[Scored]:
        requests = [(it.prompt, c) for it in items for c in it.choices]
        results = iter(self.loglikelihood(requests))
        scored = []
        for it in items:
            pairs = [next(results) for _ in it.choices]
            scored.append(
                Scored.from_logprobs(
                    it, [ll for ll, _ in pairs], "loglikelihood", greedy=[g for _, g in pairs]
                )
            )
        return scored

    def last_token_states(self, texts: list[str], batch_size: int | None = None) -> torch.Tensor:
        """Hidden states at each text's last token for every layer: ``[n_texts, n_layers + 1, hidden]``."""
        return self.lm.last_token_states(texts, batch_size or self.batch_size, self.max_length)
