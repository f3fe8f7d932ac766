"""The weak-to-strong experiment's config (``w2s.*``). Imports no torch: a run config is read without it."""

from __future__ import annotations

from pydantic import Field, field_validator

from oversight_lab.settings import Settings

__all__ = ["TASKS", "W2SConfig"]

# The tasks (oversight_lab.weak_to_strong.tasks): one question, three kinds of weak supervisor error.
TASKS = ("mercury", "mercury_blind", "mercury_noisy")


class W2SConfig(Settings):
    """Weak-to-strong generalisation (Burns et al. 2023) on binary questions with hidden gold (``w2s.*``)."""

    sizes: list[str] = Field(
        default_factory=lambda: ["xs", "s", "m"],
        description="the size grid (oversight_lab.models.sizes: xs, s, m, l, tiny:<layers>x<width> or "
        "hf:<name or path>), weakest first; every (weak, strong) pair with weak before strong is run")
    tasks: list[str] = Field(
        default_factory=lambda: list(TASKS),
        description="mercury (the weak model's own errors), mercury_blind (systematic: the weak model is "
        "trained on the labels of a labeller who does not know that some ingredients carry mercury), "
        "mercury_noisy (random: its labels flipped at flip_rate, independently of the input)")
    recipe_size: int = Field(5, ge=1, le=8, description="ingredients per recipe in a question")
    dose: int = Field(2, ge=1, description="a recipe is a yes when at least this many of its ingredients "
                      "carry mercury (counting separates the sizes: with dose 1 every size answers ~100%)")
    n_weak_train: int = Field(256, ge=8, description="gold-labelled questions the weak supervisor is "
                              "trained on")
    n_student_train: int = Field(256, ge=8, description="held-out questions the weak supervisor labels, on "
                                 "which the student trains (and the strong ceiling on their gold)")
    n_test: int = Field(512, ge=8, description="test questions every accuracy is measured on (gold)")
    epochs: int = Field(4, ge=1, description="passes over a training set (weak, ceiling and student alike)")
    batch_size: int = Field(32, ge=1, description="questions per step")
    lr: float = Field(1e-3, gt=0, description="peak learning rate (AdamW, linear decay)")
    aux_conf: float = Field(0.0, ge=0, le=1, description="weight α of the auxiliary confidence loss of Burns "
                            "et al.: the student's target mixes the weak label (1 − α) with its own hardened "
                            "prediction (α), ramped up over the first aux_warmup of training; 0 = plain "
                            "cross-entropy on the weak labels")
    aux_warmup: float = Field(0.2, ge=0, le=1, description="share of student training over which α ramps up")
    soft_labels: bool = Field(False, description="train the student on the weak model's probabilities (as "
                              "Burns et al.'s code) instead of its hard 0/1 labels (the default: the "
                              "smallest models' probabilities are under-confident, and a student of "
                              "them predicts one class)")
    blind_fraction: float = Field(0.5, gt=0, lt=1, description="mercury_blind: share of the mercury-bearing "
                                  "ingredients the weak supervisor's training never shows as mercury")
    flip_rate: float = Field(0.2, gt=0, lt=0.5, description="mercury_noisy: probability each weak label is "
                             "flipped, independently of the question")
    min_gap: float = Field(0.02, gt=0, description="PGR is undefined (NaN, counted) where the ceiling beats "
                           "the weak supervisor by less than this accuracy")

    @field_validator("sizes")
    @classmethod
    def _known_sizes(cls, sizes: list[str]) -> list[str]:
        from oversight_lab.models.sizes import check_size

        if len(sizes) < 2:
            raise ValueError("needs at least two sizes (a weak and a strong one)")
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"sizes repeat: {sizes}")
        for s in sizes:
            check_size(s)
        return sizes

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: list[str]) -> list[str]:
        unknown = [t for t in tasks if t not in TASKS]
        if unknown or not tasks:
            raise ValueError(f"unknown task(s) {unknown or tasks}; known: {', '.join(TASKS)}")
        return tasks
