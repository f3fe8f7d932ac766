"""RL against the reward model with a KL penalty to the initial policy (TRL's GRPO or RLOO).

PPO has been removed from TRL; GRPO (Shao et al. 2024) and RLOO (Ahmadian et al. 2024) are the on-policy
algorithms it keeps. Both optimise the proxy reward with a penalty β·KL(π ‖ π_init) (Ziegler et al. 2019;
Stiennon et al. 2020): GRPO adds the k3 estimate of the KL to the loss, RLOO subtracts it from the reward.

The policy only ever sees the reward model's score: the reward function below closes over a ``RewardModel``,
never over the world's gold. Checkpoints are evaluated by a callback every ``checkpoint_every`` steps.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from oversight_lab.optimize.base import ArmContext, OptimiserConfig, checkpoint_callback

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from oversight_lab.reward.bradley_terry import RewardModel

__all__ = ["RLConfig", "positions_from_mask", "reward_function", "run", "train_rl"]


class RLConfig(OptimiserConfig):
    """On-policy RL against the proxy reward model with a KL penalty to the initial policy (``rl.*``)."""

    name: ClassVar[str] = "rl"
    label: ClassVar[str] = "RL against the reward model"
    kl_label: ClassVar[str] = "√KL (Monte-Carlo, k1)"
    runner: ClassVar[str] = "oversight_lab.optimize.rl:run"

    algorithm: Literal["grpo", "rloo"] = Field("grpo", description="TRL's GRPO (Shao et al. 2024) or RLOO "
                                               "(Ahmadian et al. 2024)")
    steps: int = Field(40, ge=1, description="optimiser steps")
    lr: float = Field(2e-4, gt=0, description="learning rate (constant schedule)")
    beta: float = Field(0.05, ge=0, description="KL penalty coefficient to the initial policy")
    num_generations: int = Field(8, ge=2, description="completions per prompt (the group)")
    prompts_per_step: int = Field(8, ge=1, description="prompts per step; a step's batch is prompts × group")
    temperature: float = Field(1.0, gt=0, description="sampling temperature of the completions")
    checkpoint_every: int = Field(10, ge=1, description="score a checkpoint every this many steps, and the "
                                  "last")


def reward_function(rm: RewardModel, word_level: bool) -> Callable[..., list[float]]:
    """A TRL reward function that scores text exactly as the reward model was trained on it.

    TRL decodes completions without the leading space a word-level tokenizer needs between prompt and
    completion, and passes a reward-model module ``prompt + completion`` with no ``<eos>``; wrapping the model
    here keeps train-time and RL-time formatting identical.
    """

    def proxy_reward(prompts: list[str], completions: list[str], **_: object) -> list[float]:
        if word_level:
            completions = [c if c.startswith(" ") or not c else " " + c for c in completions]
        return [float(x) for x in rm.score(prompts, completions)]

    proxy_reward.__name__ = "proxy_reward"
    return proxy_reward


def positions_from_mask(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Give a full-sequence forward the position ids of its attention mask (left padding: positions count real
    tokens only).

    TRL scores completions for the loss with ``input_ids`` and ``attention_mask`` alone, on left-padded
    prompts (TRL 1.16 ``GRPOTrainer._get_per_token_logps_and_entropies``). A model with absolute position
    embeddings, such as GPT-2, then reads a padded row at positions shifted by its pad count, while
    generation, which sampled the completions, derives positions from the mask: the policy gradient and the
    KL would be taken at other positions than the samples came from (the same omission in TRL's online DPO:
    huggingface/trl#6800). Prompts of equal length carry no padding and are unaffected. Generation passes
    its own position ids, and a cached decoding step is left alone.
    """
    mask = kwargs.get("attention_mask")
    ids = kwargs.get("input_ids", args[0] if args else None)
    if (
        mask is not None
        and ids is not None
        and kwargs.get("position_ids") is None
        and kwargs.get("past_key_values") is None
        and mask.shape == ids.shape
    ):
        kwargs = {**kwargs, "position_ids": (mask.long().cumsum(-1) - 1).clamp(min=0)}
    return args, kwargs


def train_rl(
    init_dir: str | Path,
    tokenizer: PreTrainedTokenizerBase,
    rm: RewardModel,
    prompts: Sequence[str],
    cfg: RLConfig,
    seed: int,
    on_checkpoint: Callable[[int, PreTrainedModel], None] | None = None,
    word_level: bool = True,
    max_new_tokens: int = 8,
    peft_config: Any = None,
    use_cpu: bool = True,
) -> tuple[PreTrainedModel, list[dict]]:
    """Optimise the policy saved at ``init_dir`` against ``rm``; returns the final model and TRL's log.

    ``init_dir`` must be a saved checkpoint: with β > 0 TRL rebuilds the reference model from the policy's
    ``_name_or_path``. With a ``peft_config`` (e.g. LoRA) only the adapters train, and the reference model is
    the same network with its adapters off. ``use_cpu=False`` lets TRL place the model on an accelerator.
    """
    import datasets
    from transformers import PrinterCallback
    from trl import GRPOConfig, GRPOTrainer, RLOOConfig, RLOOTrainer

    logging.getLogger("transformers.modeling_utils").setLevel(logging.ERROR)
    batch = cfg.prompts_per_step * cfg.num_generations
    common = dict(
        max_steps=cfg.steps,
        learning_rate=cfg.lr,
        beta=cfg.beta,
        num_generations=cfg.num_generations,
        per_device_train_batch_size=batch,
        steps_per_generation=1,
        num_iterations=1,
        max_completion_length=max_new_tokens,
        temperature=cfg.temperature,
        top_k=0,
        top_p=1.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=use_cpu,
        bf16=False,
        seed=seed,
        data_seed=seed,
        disable_tqdm=True,
        dataloader_num_workers=0,
        gradient_checkpointing=False,
        lr_scheduler_type="constant",
        warmup_steps=0,
    )
    trainer_cls, config_cls = (
        (GRPOTrainer, GRPOConfig) if cfg.algorithm == "grpo" else (RLOOTrainer, RLOOConfig)
    )
    repeats = max(1, (cfg.steps * cfg.prompts_per_step) // max(1, len(prompts)) + 1)
    data = datasets.Dataset.from_dict({"prompt": list(prompts) * repeats})
    callbacks = [checkpoint_callback(cfg.checkpoint_every, on_checkpoint)] if on_checkpoint else []
    with tempfile.TemporaryDirectory() as tmp:
        args = config_cls(output_dir=tmp, **common)
        trainer = trainer_cls(
            model=str(init_dir),
            reward_funcs=reward_function(rm, word_level),
            args=args,
            train_dataset=data,
            processing_class=tokenizer,
            callbacks=callbacks,
            peft_config=peft_config,
        )
        trainer.remove_callback(PrinterCallback)  # logs go to the run directory, not stdout
        hooks = [
            m.register_forward_pre_hook(positions_from_mask, with_kwargs=True)
            for m in (trainer.model, getattr(trainer, "ref_model", None))
            if m is not None
        ]
        try:
            trainer.train()
        finally:
            for h in hooks:
                h.remove()
    model = trainer.model
    model.eval()
    return model, [h for h in trainer.state.log_history if "reward" in h or "loss" in h]


def run(ctx: ArmContext, cfg: RLConfig) -> None:
    """RL for one arm and seed: a checkpoint every ``checkpoint_every`` steps; the final policy is saved."""
    ctx.start("rl", cfg.steps)
    prompts = [t.prompt for t in ctx.world.tasks("train", 512, ctx.seed)]
    model, _ = train_rl(ctx.init_dir, ctx.initial.tokenizer, ctx.rm, prompts, cfg, seed=ctx.seed,
                        on_checkpoint=lambda step, m: ctx.score("rl", step, cfg.steps, m),
                        word_level=ctx.initial.word_level, max_new_tokens=ctx.cfg.max_new_tokens)
    ctx.save(model, "rl")
