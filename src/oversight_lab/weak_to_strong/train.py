"""Fine-tune a pretrained LM into a yes/no classifier, on gold, on a weak supervisor's labels, or with the
auxiliary confidence loss of Burns et al. (2023); predict P(yes).

The classifier is the LM's transformer with a two-way linear head on the last token (``answer :``), as Burns
et al. put a linear head on the final token's embedding. The head starts as the LM's own readout of ``no`` and
``yes`` (their rows of the output embedding), so before any fine-tuning the classifier is the pretrained model
answering the question zero-shot, and training elicits what the model already knows about mercury rather than
learning it from a random head. Training is full fine-tuning with soft-label cross-entropy (targets are
P(yes)), AdamW and a linear decay, in a plain loop.

The auxiliary confidence loss (Burns et al. 2023, eq. 1, as their released code computes it): the target is
``(1 − α)·weak + α·hardened``, where ``hardened`` is the student's own prediction made hard with a threshold
chosen so the batch has as many positives as the weak labels say, and α ramps from 0 to ``aux_conf`` over the
first ``aux_warmup`` of training. It lets the student disagree with its supervisor where it is confident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["Classifier", "aux_conf_targets", "fine_tune", "load_classifier", "predict"]


@dataclass
class Classifier:
    model: Any  # a *ForSequenceClassification with two labels: 0 = no, 1 = yes
    tokenizer: Any
    name: str


def load_classifier(path: str | Path, name: str) -> Classifier:
    """The pretrained LM at ``path`` with a two-way head initialised from its ``no``/``yes`` output rows."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    causal = AutoModelForCausalLM.from_pretrained(str(path))
    ids = []
    for word in ("no", "yes"):
        enc = tok(f" {word}", add_special_tokens=False)["input_ids"]
        if not enc or enc[0] == tok.unk_token_id:
            raise ValueError(f"classifier {name}: its tokenizer has no token for {word!r}")
        ids.append(enc[-1])
    readout = causal.get_output_embeddings().weight.detach()[ids].clone()
    model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=2)
    model.config.pad_token_id = tok.pad_token_id
    with torch.no_grad():
        model.score.weight.copy_(readout)
    del causal
    return Classifier(model, tok, name)


def _encode(clf: Classifier, texts: list[str]) -> dict[str, torch.Tensor]:
    enc = clf.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False,
                        return_token_type_ids=False)
    enc = dict(enc)
    # left padding: positions count real tokens only (as the tiny judge reads them)
    enc["position_ids"] = (enc["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    return enc


def predict(clf: Classifier, texts: list[str], batch_size: int = 256) -> np.ndarray:
    """P(yes) for every text."""
    clf.model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            logits = clf.model(**_encode(clf, texts[i : i + batch_size])).logits
            out.append(torch.softmax(logits.float(), -1)[:, 1].numpy())
    return np.concatenate(out) if out else np.zeros(0)


def aux_conf_targets(logits: torch.Tensor, weak: torch.Tensor, coef: float) -> torch.Tensor:
    """The auxiliary-confidence target (two-way distributions) for a batch: ``(1 − coef)·weak + coef·hard``,
    ``hard`` the student's predictions thresholded at the quantile that gives the batch the weak labels' share
    of positives (Burns et al.'s ``logconf`` loss). ``weak`` holds P(yes) per question."""
    probs = torch.softmax(logits.detach().float(), -1)
    weak2 = torch.stack([1.0 - weak, weak], -1)
    threshold = torch.quantile(probs[:, 0], weak2.mean(0)[1])
    hard = torch.stack([(probs[:, 0] >= threshold), (probs[:, 0] < threshold)], -1).float()
    return (1.0 - coef) * weak2 + coef * hard


def fine_tune(
    clf: Classifier, texts: list[str], targets: np.ndarray, *, epochs: int, batch_size: int, lr: float,
    seed: int, aux_conf: float = 0.0, aux_warmup: float = 0.2,
) -> dict[str, float]:
    """Train ``clf`` in place on ``texts`` with soft targets P(yes); returns its training log."""
    if len(texts) != len(targets) or not texts:
        raise ValueError(f"fine_tune: {len(texts)} texts for {len(targets)} targets")
    if not np.all(np.isfinite(targets)) or targets.min() < 0 or targets.max() > 1:
        raise ValueError("fine_tune: targets must be probabilities in [0, 1]")
    torch.manual_seed(seed)
    enc = _encode(clf, texts)
    y = torch.tensor(targets, dtype=torch.float32)
    steps = epochs * math.ceil(len(texts) / batch_size)
    model = clf.model
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    losses: list[float] = []
    step = 0
    for _ in range(epochs):
        order = torch.randperm(len(texts), generator=gen)
        for i in range(0, len(texts), batch_size):
            idx = order[i : i + batch_size]
            logits = model(**{k: v[idx] for k, v in enc.items()}).logits.float()
            if aux_conf > 0:
                ramp = min(1.0, step / max(1.0, aux_warmup * steps)) if aux_warmup > 0 else 1.0
                target = aux_conf_targets(logits, y[idx], aux_conf * ramp)
            else:
                target = torch.stack([1.0 - y[idx], y[idx]], -1)
            loss = torch.nn.functional.cross_entropy(logits, target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
    model.eval()
    return {"steps": step, "first_loss": losses[0], "final_loss": float(np.mean(losses[-5:]))}
