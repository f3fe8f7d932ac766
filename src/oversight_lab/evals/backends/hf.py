"""Hugging Face causal LMs: batched log-likelihood of answer choices, computed the way lm-eval does it.

The lm-evaluation-harness conventions (so numbers match ``lm_eval``'s ``acc``/``acc_norm`` to float
precision): a trailing whitespace of the context moves onto the continuation; context and
context+continuation are encoded separately and the continuation's tokens are ``whole[len(context):]``; no
BOS token; an empty context is replaced by the end-of-text token; inputs longer than the model's window are
cut on the left. Requests are sorted longest first and right-padded: with causal attention, padding after a
sequence changes none of its logits (the attention mask only marks the padding). Requests with identical
inputs share one row, and log-softmax is taken only where continuation tokens are read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from oversight_lab.evals.formats import PromptFormat, chat_format, hh_format
from oversight_lab.evals.items import Item, Scored

__all__ = ["HFBackend", "encode_pair", "tokenizer_digest"]


def tokenizer_digest(tok: PreTrainedTokenizerBase) -> str:
    """The tokenizer's content hash (the same function the tiny evaluatee's cache uses)."""
    from oversight_lab.models.tokenizer import tokenizer_hash

    return tokenizer_hash(tok)  # type: ignore[arg-type]


def encode_pair(tok: PreTrainedTokenizerBase, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's ``_encode_pair``: token ids of the context and of the continuation that follows it."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    if context == "":
        prefix = tok.eos_token_id if tok.bos_token_id is None else tok.bos_token_id
        return [prefix], tok(continuation, add_special_tokens=False)["input_ids"]
    whole = tok(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tok(context, add_special_tokens=False)["input_ids"]
    return ctx, whole[len(ctx) :]


@dataclass
class HFBackend:
    """A causal LM scored by log-likelihood; also gives per-layer activations for probes and logs."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str = "hf"
    batch_size: int = 32
    max_length: int | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path, batch_size: int = 32, dtype: str = "float32", device: str | None = None
    ) -> HFBackend:
        """Load by hub id or local directory (a closed-loop checkpoint is a local directory)."""
        tok = AutoTokenizer.from_pretrained(str(name_or_path))
        model = AutoModelForCausalLM.from_pretrained(str(name_or_path), dtype=getattr(torch, dtype))
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device).eval()
        return cls(model, tok, name=f"hf:{name_or_path}", batch_size=batch_size)

    def __post_init__(self) -> None:
        if self.max_length is None:
            cfg = self.model.config
            self.max_length = int(
                getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", 2048)
            )
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
        return next(self.model.parameters()).device

    def prompt_format(self, kind: str) -> PromptFormat:
        return chat_format(self.tokenizer) if kind == "chat" else hh_format()

    def _encode_requests(self, requests: list[tuple[str, str]]) -> list[tuple[list[int], list[int]]]:
        """:func:`encode_pair` for many requests, with the tokenizer called once per batch of texts."""
        tok = self.tokenizer
        moved = []
        for context, continuation in requests:
            n_spaces = len(context) - len(context.rstrip())
            if n_spaces > 0:
                context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
            moved.append((context, continuation))
        contexts = sorted({c for c, _ in moved if c})
        ctx_ids = (
            dict(zip(contexts, tok(contexts, add_special_tokens=False)["input_ids"], strict=True))
            if contexts
            else {}
        )
        wholes = [c + x for c, x in moved if c]
        whole_ids = iter(tok(wholes, add_special_tokens=False)["input_ids"]) if wholes else iter(())
        out = []
        for context, continuation in moved:
            if not context:
                out.append(encode_pair(tok, context, continuation))
                continue
            ctx = ctx_ids[context]
            out.append((ctx, next(whole_ids)[len(ctx) :]))
        return out

    @torch.no_grad()
    def loglikelihood(self, requests: list[tuple[str, str]]) -> list[tuple[float, bool]]:
        """``(log P(continuation | context), continuation is the greedy decoding)`` for each request.

        Requests whose model inputs are identical share one row of the batch: the choices of a
        multiple-choice item with one-token continuations (" A", " B", …) all read the logits at the end of
        the same context (lm-eval does the same with its one-token-continuation grouping).
        """
        max_len = int(self.max_length)  # type: ignore[arg-type]
        rows: dict[tuple[int, ...], int] = {}
        refs = []  # (row, continuation ids) per request
        for ctx, cont in self._encode_requests(requests):
            inp = tuple((ctx + cont)[-(max_len + 1) :][:-1])  # lm-eval's left truncation to the window
            refs.append((rows.setdefault(inp, len(rows)), cont))
        inputs = list(rows)
        users: list[list[int]] = [[] for _ in inputs]  # the requests reading each row
        for i, (row, _) in enumerate(refs):
            users[row].append(i)
        order = sorted(range(len(inputs)), key=lambda r: -len(inputs[r]))
        out: list[tuple[float, bool]] = [(0.0, False)] * len(refs)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = len(inputs[batch[0]])
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, row in enumerate(batch):
                ids[r, : len(inputs[row])] = torch.tensor(inputs[row])
                mask[r, : len(inputs[row])] = 1
            logits = self.model(ids.to(self.device), attention_mask=mask.to(self.device)).logits
            for r, row in enumerate(batch):
                end = len(inputs[row])
                span = max(len(refs[i][1]) for i in users[row])
                # log-softmax only where a continuation token is read, not over the whole padded batch
                logp = torch.log_softmax(logits[r, end - span : end].float(), dim=-1)
                for i in users[row]:
                    cont = refs[i][1]
                    rows_logp = logp[span - len(cont) :]
                    target = torch.tensor(cont, device=rows_logp.device)
                    ll = float(rows_logp.gather(1, target[:, None]).sum())
                    out[i] = (ll, bool((rows_logp.argmax(-1) == target).all()))
        return out

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

    @torch.no_grad()
    def last_token_states(self, texts: list[str], batch_size: int | None = None) -> torch.Tensor:
        """Hidden states at each text's last token for every layer: ``[n_texts, n_layers + 1, hidden]``.

        Layer 0 is the embedding output; layer ``l`` the output of block ``l``.
        """
        tok = self.tokenizer
        bs = batch_size or self.batch_size
        encoded = [tok(t, add_special_tokens=False)["input_ids"][-int(self.max_length) :] for t in texts]  # type: ignore[arg-type]
        chunks = []
        for start in range(0, len(encoded), bs):
            batch = encoded[start : start + bs]
            width = max(len(e) for e in batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, e in enumerate(batch):
                ids[r, : len(e)] = torch.tensor(e)
                mask[r, : len(e)] = 1
            out = self.model(
                ids.to(self.device), attention_mask=mask.to(self.device), output_hidden_states=True
            )
            hidden = out.hidden_states
            stacked = torch.stack(hidden, dim=1)  # [batch, layers + 1, width, hidden]
            last = torch.tensor([len(e) - 1 for e in batch], device=stacked.device)
            chunks.append(stacked[torch.arange(len(batch)), :, last].float().cpu())
        return torch.cat(chunks) if chunks else torch.zeros(0)
