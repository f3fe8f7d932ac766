"""The optimiser interface: its config, what the loop hands it for one (arm, seed), and the registry.

An optimiser is one file holding a config class and a run function:

* the config subclasses :class:`OptimiserConfig` and names the optimiser (``name``: the ``optimizer`` value of
  its metric rows and its ``RunConfig`` key), how reports title it (``label``) and measure its KL axis
  (``kl_label``), and its run function (``runner``, ``"module:function"``); every field is documented;
* the run function ``run(ctx: ArmContext, cfg) -> None`` pushes the initial policy against the arm's proxy or
  comparisons and logs a checkpoint row through ``ctx`` whenever it wants one scored.

Defining the config class registers it in :data:`OPTIMISERS` (names and labels for summaries and reports);
one line in ``RunConfig`` (``name: TheConfig = Field(default_factory=TheConfig)``) makes runs use it: the loop
runs every optimiser field of the run config, in field order. This module imports no torch, so the CLI's
process can read configs and labels without it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from oversight_lab.settings import Settings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, TrainerCallback

    from oversight_lab.evaluators.base import Evaluator
    from oversight_lab.feedback.records import Comparison
    from oversight_lab.models.policy import Policy
    from oversight_lab.reward.bradley_terry import RewardModel
    from oversight_lab.worlds.base import World

__all__ = [
    "OPTIMISERS", "ArmContext", "OptimiserConfig", "checkpoint_callback", "optimiser_labels", "runner_of",
]

OPTIMISERS: dict[str, type[OptimiserConfig]] = {}  # name → config class, filled as the classes are defined


class OptimiserConfig(Settings):
    """Base of every optimiser's config."""

    name: ClassVar[str]
    label: ClassVar[str]
    kl_label: ClassVar[str]
    runner: ClassVar[str]

    enabled: bool = Field(True, description="run this optimiser")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            OPTIMISERS[cls.name] = cls


def runner_of(cfg: OptimiserConfig) -> Callable[[ArmContext, OptimiserConfig], None]:
    """The run function an optimiser's config names (imported on use: it may import torch and TRL)."""
    module, _, attr = type(cfg).runner.partition(":")
    return getattr(importlib.import_module(module), attr)


def optimiser_labels() -> dict[str, dict[str, str]]:
    """``{name: {"label": ..., "kl_label": ...}}`` of every optimiser defined so far (summaries, reports)."""
    return {name: {"label": c.label, "kl_label": c.kl_label} for name, c in OPTIMISERS.items()}


@dataclass
class ArmContext:
    """What the loop hands an optimiser for one (arm, seed): the initial policy, the proxy, the comparisons,
    and the hooks that score and log a checkpoint. Gold is reachable only through ``checkpoint``, which scores
    answers already produced."""

    cfg: Any  # the RunConfig
    arm: str
    seed: int
    world: World
    initial: Policy
    init_dir: Path
    rm: RewardModel
    evaluator: Evaluator
    comparisons: list[Comparison]  # the training split of the evaluator's comparisons
    out_dir: Path
    rows: list[dict[str, Any]]
    # scores a checkpoint: (policy, sampling seed, optimiser, step) -> metrics
    checkpoint: Callable[[Policy, int, str, int], dict[str, float]]
    progress: Callable[[str, int, int], None]

    def log(self, optimizer: str, step: int, metrics: dict[str, float], **extra: Any) -> None:
        self.rows.append({"arm": self.arm, "seed": self.seed, "optimizer": optimizer, "step": step, **extra,
                          **metrics})

    def start(self, optimizer: str, total: int) -> None:
        """An optimiser that trains the policy starts its curve at the initial policy's row (step 0)."""
        self.progress(optimizer, 0, total)
        self.rows.append({**self.rows[0], "optimizer": optimizer})

    def policy(self, model: PreTrainedModel, name: str) -> Policy:
        from oversight_lab.models.policy import Policy

        return Policy(model, self.initial.tokenizer, name, self.initial.word_level, self.cfg.max_new_tokens)

    def score(self, optimizer: str, step: int, total: int, model: PreTrainedModel) -> None:
        """Score ``model`` as ``optimizer``'s checkpoint at ``step`` and log its row."""
        self.progress(optimizer, step, total)
        policy = self.policy(model, optimizer)
        self.log(optimizer, step, self.checkpoint(policy, self.seed * 7919 + 1 + step, optimizer, step))

    def save(self, model: PreTrainedModel, name: str) -> None:
        model.save_pretrained(self.out_dir / "checkpoints" / name)
        self.initial.tokenizer.save_pretrained(self.out_dir / "checkpoints" / name)


def checkpoint_callback(every: int, fn: Callable[[int, PreTrainedModel], None]) -> TrainerCallback:
    """A Trainer callback calling ``fn(step, model)`` (in eval mode) every ``every`` steps and at the last."""
    from transformers import TrainerCallback

    class Checkpoints(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
            if state.global_step % every == 0 or state.global_step == state.max_steps:
                was_training = model.training
                model.eval()
                fn(state.global_step, model)
                model.train(was_training)

    return Checkpoints()
