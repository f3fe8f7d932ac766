"""Bradley–Terry reward models (and ensembles) trained on comparisons with TRL's ``RewardTrainer``.

Each member is a sequence-classification head (one scalar) on the pretrained evaluatee's backbone, trained
with the Bradley–Terry loss −log σ(r(chosen) − r(rejected)) (Bradley & Terry 1952; Christiano et al. 2017;
Ouyang et al. 2022). Members of an ensemble differ in their seed (head initialisation and data order) and
train on a bootstrap resample of the comparisons, as in Coste et al. (2023), "Reward Model Ensembles Help
Mitigate Overoptimization". The ensemble's proxy reward is one of

* ``mean`` — the average member score;
* ``min`` — worst-case optimisation (WCO), the lowest member score;
* ``uwo`` — uncertainty-weighted optimisation, mean − λ · variance across members.

Text is scored exactly as ``RewardTrainer`` saw it in training: ``prompt + completion + eos_token``.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PrinterCallback,
)

from oversight_lab.feedback.records import Comparison, to_trl
from oversight_lab.reward.config import RewardModelConfig

if TYPE_CHECKING:
    from oversight_lab.models.tiny import TinyConfig
    from oversight_lab.worlds.base import World

__all__ = ["RewardModelConfig", "RewardModel", "train_reward_model", "preference_accuracy", "backbone_config",
           "load_backbone", "hf_backbone", "pretrain_lock"]


@dataclass
class RewardModel:
    """An ensemble of Bradley–Terry members; ``score`` returns the aggregated proxy reward."""

    members: list[PreTrainedModel]
    tokenizer: PreTrainedTokenizerBase
    aggregate: str = "mean"
    uwo_lambda: float = 1.0
    train_log: list[dict] = field(default_factory=list)

    @torch.no_grad()
    def member_scores(self, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 1024) -> np.ndarray:
        """Scores of every member, shape (members, n)."""
        texts = [p + c + self.tokenizer.eos_token for p, c in zip(prompts, completions, strict=True)]
        out = np.zeros((len(self.members), len(texts)))
        side = self.tokenizer.padding_side
        self.tokenizer.padding_side = "right"  # the classifier reads the last non-pad token
        try:
            for i in range(0, len(texts), batch_size):
                enc = self.tokenizer(texts[i : i + batch_size], return_tensors="pt", padding=True,
                                     add_special_tokens=False)
                for m, member in enumerate(self.members):
                    member.eval()
                    out[m, i : i + batch_size] = member(**enc).logits[:, 0].float().numpy()
        finally:
            self.tokenizer.padding_side = side
        return out

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> np.ndarray:
        s = self.member_scores(prompts, completions)
        if self.aggregate == "mean" or len(self.members) == 1:
            return s.mean(0)
        if self.aggregate == "min":
            return s.min(0)
        if self.aggregate == "uwo":
            return s.mean(0) - self.uwo_lambda * s.var(0)
        raise ValueError(f"unknown reward aggregate {self.aggregate!r}; use mean, min or uwo")

    def save(self, path: str | Path) -> None:
        path = Path(path)
        for m, member in enumerate(self.members):
            member.save_pretrained(path / f"member-{m}")
        self.tokenizer.save_pretrained(path)


def train_reward_model(
    backbone: str | Path,
    tokenizer: PreTrainedTokenizerBase,
    comparisons: Sequence[Comparison],
    cfg: RewardModelConfig,
    seed: int,
    bootstrap: bool = True,
) -> RewardModel:
    """Train ``cfg.ensemble_size`` Bradley–Terry members from the pretrained LM at ``backbone`` (an ensemble's
    members each on a bootstrap resample of the comparisons unless ``bootstrap`` is off)."""
    import datasets
    from trl import RewardConfig as TRLRewardConfig
    from trl import RewardTrainer

    logging.getLogger("transformers.modeling_utils").setLevel(logging.ERROR)
    rows = to_trl(comparisons)
    members, logs = [], []
    for m in range(cfg.ensemble_size):
        rng = np.random.default_rng([seed, m])
        idx = rng.integers(0, len(rows), len(rows)) if (bootstrap and cfg.ensemble_size > 1) else np.arange(len(rows))
        data = datasets.Dataset.from_list([rows[i] for i in idx])
        torch.manual_seed(seed * 1000 + m)
        model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=1)
        model.config.pad_token_id = tokenizer.pad_token_id
        with tempfile.TemporaryDirectory() as tmp:
            args = TRLRewardConfig(
                output_dir=tmp, max_steps=cfg.steps, per_device_train_batch_size=cfg.batch_size,
                learning_rate=cfg.lr, lr_scheduler_type="linear", warmup_steps=0, logging_steps=max(1, cfg.steps // 10),
                save_strategy="no", report_to="none", use_cpu=True, bf16=False, seed=seed * 1000 + m,
                data_seed=seed * 1000 + m, disable_tqdm=True, dataloader_num_workers=0, max_length=None,
                gradient_checkpointing=False,
            )
            trainer = RewardTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
            trainer.remove_callback(PrinterCallback)  # logs go to the run directory, not stdout
            trainer.train()
            logs.append([h for h in trainer.state.log_history if "loss" in h])
        model.eval()
        members.append(model)
    return RewardModel(members, tokenizer, cfg.aggregate, cfg.uwo_lambda, train_log=logs)


def preference_accuracy(rm: RewardModel, prompts: Sequence[str], chosen: Sequence[str], rejected: Sequence[str]) -> float:
    """Fraction of pairs where the reward model scores ``chosen`` above ``rejected`` (ties count half)."""
    if not prompts:
        return float("nan")
    a = rm.score(prompts, chosen)
    b = rm.score(prompts, rejected)
    return float(np.mean((a > b) + 0.5 * (a == b)))


def backbone_config(spec: str, base: TinyConfig) -> TinyConfig:
    """The ``TinyConfig`` of a reward-model backbone: a size of the model-size family (``xs`` … ``l``) or
    ``"tiny:<layers>x<width>"``; corpus and budget from ``base``.

    Heads are 16 wide where the width allows (the evaluatee's 2 × 64 has 4), so ``tiny:2x64`` (size ``m``)
    with the evaluatee's budget is the evaluatee itself, and shares its cache entry.
    """
    from dataclasses import replace

    from oversight_lab.models.sizes import shape_of

    try:
        layers, width, heads = shape_of(spec)
    except ValueError as e:
        raise ValueError(f"reward backbone {spec!r}: {e}; or 'policy'") from None
    return replace(base, n_layer=layers, n_embd=width, n_head=heads)


def load_backbone(spec: str, world: World, base: TinyConfig) -> tuple[Path, PreTrainedTokenizerBase]:
    """Pretrain (or load from the cache) the tiny backbone ``spec`` on ``world``; returns its directory and tokenizer.
    An ``hf:<name or path>`` backbone is a Hugging Face causal LM read with its own tokenizer
    (:func:`hf_backbone`).

    A file lock makes concurrent jobs that need the same backbone wait for one pretraining instead of each
    doing it; the cache entry itself is written atomically by ``load_or_pretrain``.
    """
    from oversight_lab.models.tiny import load_or_pretrain

    if spec.startswith("hf:"):
        return hf_backbone(spec[3:])
    cfg = backbone_config(spec, base)
    with pretrain_lock(world, cfg):
        _, tok, path, _ = load_or_pretrain(world, cfg)
    return path, tok


def hf_backbone(name_or_path: str) -> tuple[Path, PreTrainedTokenizerBase]:
    """A Hugging Face causal LM as a reward model's backbone: its local directory (a model added to the lab
    cache is resolved by name) and its tokenizer, padded with its end-of-text token when it has no pad token.

    TRL tokenizes training texts with the tokenizer's special tokens and ``RewardModel.score`` without them;
    a tokenizer that adds any (a BOS, say) would score other token sequences than it trained on, so it is
    refused with a ValueError naming the backbone."""
    from transformers import AutoTokenizer

    from oversight_lab.models.hub import resolve_model

    path = Path(resolve_model(name_or_path))
    if not path.exists() and not name_or_path.startswith(("/", ".", "~")):  # a hub id: the local HF cache
        from huggingface_hub import snapshot_download

        with contextlib.suppress(Exception):
            path = Path(snapshot_download(name_or_path, local_files_only=True))
    if not (path / "config.json").exists():
        raise ValueError(f"config key 'reward.backbone': hf:{name_or_path} is not a model directory ({path} has "
                         "no config.json); give a local directory or add the model with `oversight-lab models add`")
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    probe = "a recipe"
    if tok(probe)["input_ids"] != tok(probe, add_special_tokens=False)["input_ids"]:
        raise ValueError(f"config key 'reward.backbone': hf:{name_or_path}'s tokenizer adds special tokens; the "
                         "reward model would score other sequences than it trained on")
    return path, tok


@contextlib.contextmanager
def pretrain_lock(world: World, cfg: TinyConfig) -> Iterator[None]:
    """Hold an exclusive file lock for pretraining ``cfg`` on ``world``: whoever comes second waits, then finds
    the model in the cache. Used for reward backbones and, by sweeps, for the evaluatee."""
    import hashlib
    import json
    from dataclasses import asdict

    from oversight_lab.cache import cache_dir, locked

    tag = hashlib.sha256(json.dumps([world.describe(), asdict(cfg)], sort_keys=True).encode()).hexdigest()[:16]
    with locked(cache_dir() / "pretrained" / f"{world.name}-{tag}"):
        yield
