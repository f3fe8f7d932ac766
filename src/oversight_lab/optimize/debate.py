"""Debaters made stronger by RL in self-play against the judge (TRL's GRPO, as in :mod:`.rl`), and the config
of the ``debate`` scenario (``debate.*``).

One policy plays both sides: its prompts are debate states (a claim, the evidence so far, the cue, see
:mod:`oversight_lab.evaluators.debate`) arguing "holds mercury" and "holds no mercury" alike, and a completed
turn is rewarded by the judge's probability for the side it argues once the turn is added (the judge verifies
the quoted fact against the hidden record; a caught lie is ignored). The reward reads the judge, never the
question's answer: a debater is rewarded for convincing, as in Khan et al. 2024 (best-of-n and RL against a
judge's preference).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from oversight_lab.evaluators.debate import (
    Question,
    Turn,
    VerifyingJudge,
    format_turn,
    parse_prompt,
    parse_turn,
    speaker_prompt,
    verify,
)
from oversight_lab.settings import Settings

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from oversight_lab.worlds.base import World

__all__ = ["DebateConfig", "JudgeReward", "rl_prompts", "train_debater"]


class DebateConfig(Settings):
    """The debate experiment (``oversight-lab run debate``): judge accuracy under debate, consultancy and the
    judge alone, against debater strength (best-of-n and RL steps)."""

    enabled: bool = Field(False, description="run the debate experiment instead of the RLHF loop (each arm's "
                          "evaluator is the judge: its known hazards are what it knows of the hidden record)")
    question_size: int = Field(3, ge=1, le=12, description="ingredients per question's recipe")
    turns: int = Field(1, ge=1, le=2, description="turns per debater (the consultant speaks 2 × turns); at "
                       "most 2, so a prompt fits the tiny model's 64 positions")
    n_values: list[int] = Field([1, 4, 16], description="best-of-n strengths measured at every RL checkpoint")
    n_questions: int = Field(64, ge=2, description="held-out questions per measurement (half hold mercury)")
    rl_steps: int = Field(120, ge=0, description="GRPO self-play steps (0: no RL, best-of-n only)")
    checkpoint_every: int = Field(40, ge=1, description="measure the protocols every this many RL steps")
    train_questions: int = Field(128, ge=2, description="questions whose debate states are the RL prompts")
    lr: float = Field(1e-3, gt=0, description="RL learning rate (constant)")
    beta: float = Field(0.1, ge=0, description="KL penalty to the initial debater")
    num_generations: int = Field(8, ge=2, description="completions per prompt (the GRPO group)")
    prompts_per_step: int = Field(8, ge=1, description="prompts per RL step")
    transcripts: int = Field(8, ge=0, description="transcripts per protocol kept in transcripts.jsonl at the "
                             "strongest setting")

    @field_validator("n_values")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if not v or any(n < 1 for n in v):
            raise ValueError(f"n_values must be a non-empty list of integers ≥ 1, got {v}")
        return sorted(set(v))


class JudgeReward:
    """The debater's reward as a ``score(prompts, completions)`` model (:func:`.rl.reward_function` wraps it):
    the judge's probability for the prompt's side after the completed turn."""

    def __init__(self, world: World, judge: VerifyingJudge) -> None:
        self.world, self.judge = world, judge
        self.ingredients = tuple(world.ingredients)  # type: ignore[attr-defined]

    def score(self, prompts: Sequence[str], completions: Sequence[str]) -> list[float]:
        out = []
        for p, c in zip(prompts, completions, strict=True):
            recipe, side, turns = parse_prompt(p, self.world)
            parsed = parse_turn(c, self.ingredients)
            if parsed is not None:
                turns = [*turns, Turn("?", side, format_turn(*parsed), verify(self.world, *parsed))]
            out.append(self.judge.p_side(recipe, side, turns))
        return out


def rl_prompts(world: World, qs: Sequence[Question], seed: int) -> list[str]:
    """Debate states to train on: each question from both sides, with no evidence yet and after one true fact
    about one of its ingredients (as an opponent's first turn would give)."""
    rng = random.Random(f"debate-rl/{seed}")
    out = []
    for q in qs:
        for side in (True, False):
            out.append(speaker_prompt(q, side, []))
            ing = rng.choice(q.recipe)
            fact = Turn("?", not side, format_turn(ing, ing in world.hazards()), verify(world, ing,
                                                                                     ing in world.hazards()))
            out.append(speaker_prompt(q, side, [fact]))
    rng.shuffle(out)
    return out


def train_debater(
    init_dir: str | Path,
    tokenizer: PreTrainedTokenizerBase,
    world: World,
    judge: VerifyingJudge,
    prompts: Sequence[str],
    cfg: DebateConfig,
    seed: int,
    on_checkpoint: Callable[[int, PreTrainedModel], None] | None = None,
    max_new_tokens: int = 8,
) -> tuple[PreTrainedModel, list[dict[str, Any]]]:
    """GRPO self-play for ``cfg.rl_steps`` steps from the policy saved at ``init_dir``; the model, the log."""
    from oversight_lab.optimize.rl import RLConfig, train_rl

    rl = RLConfig(steps=cfg.rl_steps, lr=cfg.lr, beta=cfg.beta, num_generations=cfg.num_generations,
                  prompts_per_step=cfg.prompts_per_step, checkpoint_every=cfg.checkpoint_every)
    return train_rl(init_dir, tokenizer, JudgeReward(world, judge), prompts, rl, seed=seed,  # type: ignore[arg-type]
                    on_checkpoint=on_checkpoint, word_level=True, max_new_tokens=max_new_tokens)
