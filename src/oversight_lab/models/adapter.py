"""One adapter for a local causal LM: loading, generation, log-likelihoods and hidden states.

Everything the lab asks of a Hugging Face model goes through :class:`CausalLM`: the closed loop's evaluatee
(:class:`~oversight_lab.models.policy.Policy` is a ``CausalLM``), the evals' scoring backend
(``evals/backends/hf.py``), the probes (``probes/items.py``, ``probes/activations.py``), the tiny judge and
the study server's checkpoints. An OpenAI-compatible endpoint is not a local model and stays an evals backend.

* :meth:`CausalLM.load`: ``tiny`` is built by :mod:`oversight_lab.models.tiny`; any other name is a local
  directory, a hub id or a model the lab converted from GGUF (:func:`oversight_lab.models.hub.resolve_model`).
* :meth:`~CausalLM.sample`, :meth:`~CausalLM.greedy`: batched left-padded generation.
* Two log-likelihoods, two conventions: :meth:`~CausalLM.logprob` scores a policy's completion with its
  ``<eos>`` (what RL's KL and the fixed items read); :meth:`~CausalLM.loglikelihood` scores a continuation the
  way lm-evaluation-harness does (a trailing whitespace of the context moves onto the continuation; context
  and context+continuation encoded separately, the continuation being ``whole[len(context):]``; no BOS; an
  empty context replaced by the end-of-text token; inputs longer than the window cut on the left), so eval
  numbers match ``lm_eval``'s ``acc``/``acc_norm`` to float precision. Requests are sorted longest first and
  right-padded (with causal attention, padding after a sequence changes none of its logits), identical inputs
  share one row, and log-softmax is taken only where continuation tokens are read.
* :meth:`~CausalLM.last_token_states` (every layer, batched) and :meth:`~CausalLM.hidden_states` (one layer,
  one text at a time): the hidden state at a text's last token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["CausalLM", "ModelLoadError", "encode_pair"]


class ModelLoadError(ValueError):
    """A model cannot be loaded; the message names it and the first line of the cause."""


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
class CausalLM:
    """A causal LM with its tokenizer. ``word_level`` tokenizers need a space put back before completions;
    ``max_new_tokens`` bounds generation."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    name: str = "model"
    word_level: bool = False
    max_new_tokens: int = 8

    # -- loading --------------------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        name_or_path: str | Path,
        *,
        generation: bool = True,
        dtype: str | None = None,
        device: str | None = None,
        label: str | None = None,
        **fields: Any,
    ) -> CausalLM:
        """A Hugging Face causal LM and its tokenizer by directory, hub id or converted name.

        ``generation``: make the tokenizer ready for batched generation (left padding, a pad token, the
        model's ``pad_token_id``); the lm-eval scorer pads by hand and leaves the tokenizer as saved.
        ``dtype`` (e.g. ``"float32"``) and ``device``: as given, else the checkpoint's and where it loads.
        ``label`` names the model in the error when it cannot be loaded; ``fields``: the dataclass's others.
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from oversight_lab.models.hub import resolve_model

        path = resolve_model(str(name_or_path))
        options = {} if dtype is None else {"dtype": getattr(torch, dtype)}
        try:
            tok = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path, **options)
        except OSError as e:
            raise ModelLoadError(
                f"{label or f'model {name_or_path}'}: cannot load ({str(e).splitlines()[0]})"
            ) from None
        if generation:
            tok.padding_side = "left"
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token
            if model.config.pad_token_id is None:
                model.config.pad_token_id = tok.pad_token_id
        if device is not None:
            model.to(device)
        model.eval()
        return cls(model, tok, **fields)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        return path

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def max_length(self) -> int:
        """The model's context window (``n_positions``, else ``max_position_embeddings``, else 2048)."""
        cfg = self.model.config
        return int(getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", 2048))

    # -- generation -----------------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(
        self, prompts: list[str], n: int = 1, temperature: float = 1.0, seed: int = 0, batch_size: int = 2048
    ) -> list[list[str]]:
        """``n`` completions per prompt, sampled at ``temperature`` (pure ancestral sampling, no top-k/p)."""
        torch.manual_seed(seed)
        sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        out = self._generate([p for p in prompts for _ in range(n)], batch_size, sampling)
        return [out[j * n : (j + 1) * n] for j in range(len(prompts))]

    @torch.no_grad()
    def greedy(self, prompts: list[str], batch_size: int = 512) -> list[str]:
        """The greedy (most likely token at each step) completion of each prompt."""
        return self._generate(prompts, batch_size, {"do_sample": False})

    def _generate(self, prompts: list[str], batch_size: int, options: dict[str, Any]) -> list[str]:
        self.model.eval()
        out: list[str] = []
        for i in range(0, len(prompts), batch_size):
            enc = self.tokenizer(prompts[i : i + batch_size], return_tensors="pt", padding=True).to(
                self.model.device
            )
            gen = self.model.generate(
                **enc,
                **options,
                max_new_tokens=self.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id,
            )
            out.extend(self.decode(row) for row in gen[:, enc["input_ids"].shape[1] :].tolist())
        return out

    def decode(self, ids: list[int]) -> str:
        """Generated ids as a completion: cut at ``<eos>``, with a word-level tokenizer's leading space."""
        eos = self.tokenizer.eos_token_id
        if eos in ids:
            ids = ids[: ids.index(eos)]
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        return (" " + text) if self.word_level and text else text

    # -- log-likelihoods ------------------------------------------------------------------------------------

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
            ids, mask = _right_padded(chunk, tok.pad_token_id)  # positions stay aligned with the prompt
            ids, mask = ids.to(self.model.device), mask.to(self.model.device)
            logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
            for r, s in enumerate(chunk):
                start = starts[i + r]
                result[i + r] = logp[r, start - 1 : len(s) - 1].sum().item()
        return result

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
    def loglikelihood(
        self, requests: list[tuple[str, str]], batch_size: int = 32, max_length: int | None = None
    ) -> list[tuple[float, bool]]:
        """``(log P(continuation | context), continuation is the greedy decoding)`` for each request, by
        lm-eval's conventions (the module docstring); ``max_length``: the window (default: the model's).

        Requests whose model inputs are identical share one row of the batch: the choices of a
        multiple-choice item with one-token continuations (" A", " B", …) all read the logits at the end of
        the same context (lm-eval does the same with its one-token-continuation grouping).
        """
        max_len = int(max_length or self.max_length)
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
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            ids, mask = _right_padded([list(inputs[row]) for row in batch], 0)
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

    # -- hidden states -------------------------------------------------------------------------------------

    @torch.no_grad()
    def last_token_states(
        self, texts: list[str], batch_size: int = 32, max_length: int | None = None
    ) -> torch.Tensor:
        """Hidden states at each text's last token for every layer: ``[n_texts, n_layers + 1, hidden]``.

        Layer 0 is the embedding output; layer ``l`` the output of block ``l``. Texts are cut on the left to
        ``max_length`` tokens (default: the model's window).
        """
        tok = self.tokenizer
        max_len = int(max_length or self.max_length)
        encoded = [tok(t, add_special_tokens=False)["input_ids"][-max_len:] for t in texts]
        chunks = []
        for start in range(0, len(encoded), batch_size):
            batch = encoded[start : start + batch_size]
            ids, mask = _right_padded(batch, 0)
            out = self.model(
                ids.to(self.device), attention_mask=mask.to(self.device), output_hidden_states=True
            )
            stacked = torch.stack(out.hidden_states, dim=1)  # [batch, layers + 1, width, hidden]
            last = torch.tensor([len(e) - 1 for e in batch], device=stacked.device)
            chunks.append(stacked[torch.arange(len(batch)), :, last].float().cpu())
        return torch.cat(chunks) if chunks else torch.zeros(0)

    @torch.no_grad()
    def hidden_states(self, texts: list[str], layer: int = -1) -> np.ndarray:
        """Hidden state at each text's last token at ``layer`` (0 = embeddings), shape ``[n, hidden]``; one
        text at a time, unpadded."""
        self.model.eval()
        rows = []
        for text in texts:
            ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
            hidden = self.model(input_ids=ids, output_hidden_states=True).hidden_states
            rows.append(hidden[layer][0, -1].float().numpy())
        return np.stack(rows) if rows else np.zeros((0, 0))


def _right_padded(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids right-padded with ``pad_id`` to the longest, and the attention mask."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor(s)
        mask[r, : len(s)] = 1
    return ids, mask
