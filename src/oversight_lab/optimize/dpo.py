"""Direct preference optimisation on the evaluator's comparisons (TRL's ``DPOTrainer``).

DPO (Rafailov et al. 2023) fits the policy to the comparisons directly, with an implicit reward
β·log(π/π_ref) and no separate reward model: the evaluator's flaws reach the policy with nothing in between.
The reference model is the initial policy, passed explicitly.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase, PrinterCallback

from oversight_lab.feedback.records import Comparison, to_dataset
from oversight_lab.optimize.rl import _Checkpoints

__all__ = ["DPOConfig", "train_dpo"]


@dataclass(frozen=True)
class DPOConfig:
    """DPO on the comparisons the evaluator gave."""

    steps: int = 40
    lr: float = 2e-3
    beta: float = 0.1
    batch_size: int = 32
    checkpoint_every: int = 10


def train_dpo(
    init_dir: str | Path,
    tokenizer: PreTrainedTokenizerBase,
    comparisons: Sequence[Comparison],
    cfg: DPOConfig,
    seed: int,
    on_checkpoint: Callable[[int, PreTrainedModel], None] | None = None,
) -> tuple[PreTrainedModel, list[dict]]:
    """Train the policy at ``init_dir`` with DPO; returns the final model and TRL's log."""
    from trl import DPOConfig as TRLDPOConfig
    from trl import DPOTrainer

    logging.getLogger("transformers.modeling_utils").setLevel(logging.ERROR)
    model = AutoModelForCausalLM.from_pretrained(init_dir)
    ref = AutoModelForCausalLM.from_pretrained(init_dir)
    callbacks = [_Checkpoints(cfg.checkpoint_every, on_checkpoint)] if on_checkpoint else []
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
