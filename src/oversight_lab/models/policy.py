"""A policy (the evaluatee): a causal LM and its tokenizer, with batched sampling and log-probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["Policy"]


@dataclass
class Policy:
    """A causal LM with its tokenizer. ``word_level`` tokenizers need a space put back before completions."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str = "policy"
    word_level: bool = True
    max_new_tokens: int = 8

    @torch.no_grad()
    def sample(
        self, prompts: list[str], n: int = 1, temperature: float = 1.0, seed: int = 0, batch_size: int = 2048
    ) -> list[list[str]]:
        """``n`` completions per prompt, sampled at ``temperature`` (pure ancestral sampling, no top-k/p)."""
        self.model.eval()
        flat = [p for p in prompts for _ in range(n)]
        out: list[str] = []
        torch.manual_seed(seed)
        for i in range(0, len(flat), batch_size):
            chunk = flat[i : i + batch_size]
            enc = self.tokenizer(chunk, return_tensors="pt", padding=True).to(self.model.device)
            gen = self.model.generate(
                **enc,
                do_sample=True,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
            )
            new = gen[:, enc["input_ids"].shape[1] :]
            for row in new.tolist():
                out.append(self._decode(row))
        return [out[j * n : (j + 1) * n] for j in range(len(prompts))]

    def _decode(self, ids: list[int]) -> str:
        eos = self.tokenizer.eos_token_id
        if eos in ids:
            ids = ids[: ids.index(eos)]
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return (" " + text) if self.word_level and text else text

    @torch.no_grad()
    def logprob(self, prompts: list[str], completions: list[str], batch_size: int = 1024) -> np.ndarray:
        """Sum of token log-probabilities of each completion (with its ``<eos>``) given its prompt."""
        self.model.eval()
        tok = self.tokenizer
        seqs, starts = [], []
        for p, c in zip(prompts, completions, strict=True):
            p_ids = tok(p, add_special_tokens=False)["input_ids"]
            full = tok(p + c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            seqs.append(full)
            starts.append(len(p_ids))
        result = np.zeros(len(seqs))
        for i in range(0, len(seqs), batch_size):
            chunk = seqs[i : i + batch_size]
            width = max(len(s) for s in chunk)
            ids = torch.full((len(chunk), width), tok.pad_token_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, s in enumerate(chunk):  # right padding keeps positions aligned with the prompt
                ids[r, : len(s)] = torch.tensor(s)
                mask[r, : len(s)] = 1
            ids, mask = ids.to(self.model.device), mask.to(self.model.device)
            logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
            for r, s in enumerate(chunk):
                start = starts[i + r]
                result[i + r] = logp[r, start - 1 : len(s) - 1].sum().item()
        return result

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        return path
