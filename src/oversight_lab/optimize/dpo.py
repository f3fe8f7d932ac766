"""Direct preference optimisation on the evaluator's comparisons (TRL's ``DPOTrainer``).

DPO (Rafailov et al. 2023) fits the policy to the comparisons directly, with an implicit reward
β·log(π/π_ref) and no separate reward model: the evaluator's flaws reach the policy with nothing in between.
The reference model is the initial policy, passed explicitly.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from oversight_lab.optimize.base import ArmContext, OptimiserConfig, checkpoint_callback

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from oversight_lab.feedback.records import Comparison

__all__ = ["DPOConfig", "run", "train_dpo"]


class DPOConfig(OptimiserConfig):
    """DPO on the comparisons the evaluator gave (``dpo.*``)."""

    name: ClassVar[str] = "dpo"
    label: ClassVar[str] = "DPO"
    kl_label: ClassVar[str] = "√KL (Monte-Carlo, k1)"
    runner: ClassVar[str] = "oversight_lab.optimize.dpo:run"

    steps: int = Field(10, ge=1, description="optimiser steps")
    lr: float = Field(1e-4, gt=0, description="learning rate (constant schedule)")
    beta: float = Field(0.1, gt=0, description="DPO's β: the strength of the implicit KL to the reference")
    batch_size: int = Field(32, ge=1, description="comparisons per step")
    checkpoint_every: int = Field(10, ge=1, description="score a checkpoint every this many steps, and the "
                                  "last")


def train_dpo(
    init_dir: str | Path,
    tokenizer: PreTrainedTokenizerBase,
    comparisons: Sequence[Comparison],
    cfg: DPOConfig,
    seed: int,
    on_checkpoint: Callable[[int, PreTrainedModel], None] | None = None,
) -> tuple[PreTrainedModel, list[dict]]:
    """Train the policy at ``init_dir`` with DPO; returns the final model and TRL's log."""
    from transformers import AutoModelForCausalLM, PrinterCallback
    from trl import DPOConfig as TRLDPOConfig
    from trl import DPOTrainer

    from oversight_lab.feedback.records import to_dataset

    logging.getLogger("transformers.modeling_utils").setLevel(logging.ERROR)
    model = AutoModelForCausalLM.from_pretrained(init_dir)
    ref = AutoModelForCausalLM.from_pretrained(init_dir)
    callbacks = [checkpoint_callback(cfg.checkpoint_every, on_checkpoint)] if on_checkpoint else []
    with tempfile.TemporaryDirectory() as tmp:
        args = TRLDPOConfig(
            output_dir=tmp,
            max_steps=cfg.steps,
            learning_rate=cfg.lr,
            beta=cfg.beta,
            per_device_train_batch_size=cfg.batch_size,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=False,
            seed=seed,
            data_seed=seed,
            disable_tqdm=True,
            dataloader_num_workers=0,
            gradient_checkpointing=False,
            lr_scheduler_type="constant",
            warmup_steps=0,
            max_length=None,
        )
        trainer = DPOTrainer(
            model=model,
            ref_model=ref,
            args=args,
            train_dataset=to_dataset(comparisons),
            processing_class=tokenizer,
            callbacks=callbacks,
        )
        trainer.remove_callback(PrinterCallback)  # logs go to the run directory, not stdout
        trainer.train()
    model = trainer.model
    model.eval()
    return model, [h for h in trainer.state.log_history if "loss" in h]


def run(ctx: ArmContext, cfg: DPOConfig) -> None:
    """DPO for one arm and seed on the training comparisons; the final policy is saved."""
    ctx.start("dpo", cfg.steps)
    model, _ = train_dpo(ctx.init_dir, ctx.initial.tokenizer, ctx.comparisons, cfg, seed=ctx.seed,
                         on_checkpoint=lambda step, m: ctx.score("dpo", step, cfg.steps, m))
    ctx.save(model, "dpo")
