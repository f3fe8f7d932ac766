"""The reward model's config (``reward.*``): how the Bradley–Terry proxy is trained and how an ensemble's
members are combined. :mod:`oversight_lab.reward.bradley_terry` trains it; this module imports no torch, so a
run config can be read without it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from oversight_lab.settings import Settings

__all__ = ["RewardModelConfig"]


class RewardModelConfig(Settings):
    """The proxy: a Bradley–Terry reward model, or an ensemble of them (Coste et al. 2023)."""

    steps: int = Field(60, ge=1, description="RewardTrainer steps per member")
    batch_size: int = Field(32, ge=1, description="comparisons per step")
    lr: float = Field(2e-3, gt=0, description="learning rate (linear decay to zero)")
    ensemble_size: int = Field(1, ge=1, description="members, each on a bootstrap resample (Coste et al. "
                               "2023)")
    aggregate: Literal["mean", "min", "uwo"] = Field("mean", description="mean, worst-case, or mean − λ·var")
    uwo_lambda: float = Field(1.0, ge=0, description="λ of uncertainty-weighted optimisation (aggregate uwo)")
    holdout_fraction: float = Field(0.2, gt=0, lt=1, description="comparisons held out to measure the RM")
    backbone: str = Field(
        "policy",
        description='"policy" (the evaluatee\'s pretrained LM), a size of the model-size family (xs, s, m, '
                    'l; oversight_lab.models.sizes) or "tiny:<layers>x<width>": a tiny GPT-2 of that size '
                    "pretrained (and cached) on the world's corpus with the tiny.* budget: reward models of "
                    "different sizes (Gao et al. 2022); or \"hf:<name or path>\": a Hugging Face causal LM (a "
                    "directory, or a model added with `oversight-lab models add`) with its own tokenizer",
    )

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, backbone: str) -> str:
        from oversight_lab.models.sizes import shape_of

        if backbone.startswith("hf:"):
            if not backbone[3:].strip():
                raise ValueError("hf: needs a model name or path, e.g. hf:smollm2 or hf:/path/to/model")
        elif backbone != "policy":
            try:
                shape_of(backbone)
            except ValueError as e:
                raise ValueError(f"{e}, or policy") from None
        return backbone
    cache: bool = Field(False, description="keep the trained members in the cache, keyed by their training "
                                          "data, backbone and settings (not by aggregate or uwo_lambda), so "
                                          "sweep cells that combine one ensemble differently train it once")
