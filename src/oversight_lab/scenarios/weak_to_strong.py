"""Weak-to-strong generalisation (Burns et al. 2023) as a named scenario:
``oversight-lab run weak_to_strong``.

Sizes xs, s, m of the model-size family (``w2s.sizes``; add ``l`` or an ``hf:`` model with ``--set``), three
pretraining seeds × two seeds, the three tasks of :mod:`oversight_lab.weak_to_strong.tasks`. No arms, no RLHF:
the run executes :mod:`oversight_lab.weak_to_strong` (``experiment: weak_to_strong``).
"""

from __future__ import annotations

from oversight_lab.scenarios import Preregistration, Scenario, register_scenario

__all__: list[str] = []

register_scenario(Scenario(
    name="weak_to_strong",
    description=("Weak-to-strong generalisation: a weak tiny model trained on gold labels a held-out set, "
                 "a stronger one is trained on its labels; weak, student and ceiling accuracy and PGR per "
                 "(weak, strong) pair over sizes xs, s, m, for the weak model's own, systematic (blind spot) "
                 "and random errors."),
    sources=(
        "Burns et al. 2023, Weak-to-Strong Generalization: Eliciting Strong Capabilities With Weak "
        "Supervision",
        "the essay, 'What is scalable-oversight?' (an evaluatee that outgrows its evaluator)",
    ),
    overrides={"experiment": "weak_to_strong", "pretrain_seeds": 3, "seeds": 2},
    prereg=Preregistration(
        primary=("PGR on mercury_noisy (random supervisor errors), the weakest size supervising the "
                 "strongest, from pretraining-seed means: the student recovers part of the gap (Burns et "
                 "al.)"),
        optimizer="weak_to_strong",
        direction="up",
        min_effect=0.2,
        contrast="(student − weak) / (ceiling − weak), test accuracy against gold",
        registered="2026-12-02",
        history=(
            "2026-12-02, before any run of the scenario: prototypes on pretraining seed 0 showed every size "
            "answering 'does this recipe contain mercury' at ~100% (ceiling = weak, PGR undefined), so the "
            "question became a dose (at least 2 of 5 ingredients carry mercury) with balanced labels, "
            "and the student trains on hard weak labels (the smallest model's probabilities are "
            "under-confident). The primary is on the random-error task because the natural task's gap was "
            "0.01–0.05 in prototypes.",
            "2026-12-02, after the first development run (seeds 0-2 x 2): mercury_blind's supervisor was trained "
            "only on questions without the blind ingredients, and erred on them no more than elsewhere (0.83 vs "
            "0.76): the pretrained models know from the corpus which ingredients carry mercury. Its training "
            "labels now come from a labeller who does not know the blind ones carry mercury. The primary "
            "measure (mercury_noisy) was not changed.",
        ),
    ),
))
