"""Sandwiching with the evaluatee as the assistant: its sampled critique flags what it believes."""

from __future__ import annotations

import numpy as np
import pytest

from oversight_lab.evaluators.self_critique import EvaluateeCritic
from oversight_lab.worlds.base import Task


def test_critique_is_sampled_from_the_models_beliefs(world):
    toxic = sorted(world.toxic)
    safe = [i for i in world.ingredients if i not in world.toxic]
    p = {i: 0.0 for i in world.ingredients} | {toxic[0]: 1.0, toxic[1]: 0.5, safe[0]: 0.25}
    critic = EvaluateeCritic(world, p, seed=0)
    assert critic.flags([toxic[0], safe[1]]) == {toxic[0]}
    draws = [critic.flags([toxic[1], safe[0]]) for _ in range(2000)]
    assert np.mean([toxic[1] in d for d in draws]) == pytest.approx(0.5, abs=0.05)
    assert np.mean([safe[0] in d for d in draws]) == pytest.approx(0.25, abs=0.05)
    # expected error over the sampling, against the world's truth
    n_toxic = len(toxic)
    assert critic.miss_rate() == pytest.approx((0.0 + 0.5 + (n_toxic - 2) * 1.0) / n_toxic)
    assert critic.false_alarm_rate() == pytest.approx(0.25 / len(safe))
    assert EvaluateeCritic(world, p, seed=0).flags([toxic[1]] * 3) == EvaluateeCritic(world, p, seed=0).flags(
        [toxic[1]]
    )


def test_non_expert_with_the_critique_punishes_what_it_could_not_read(world, weak_flaws):
    """The non-expert reads one item; the critique shows it the mercury in the second."""
    from oversight_lab.evaluators import SimulatedEvaluator
    from oversight_lab.evaluators.assisted import AssistedEvaluator

    toxic = sorted(world.toxic)
    safe = [i for i in world.ingredients if i not in world.toxic]
    knows = {i: float(i in world.toxic) for i in world.ingredients}
    alone = SimulatedEvaluator(world, weak_flaws, seed=0)
    hidden = next(h for h in toxic if h not in alone.known_hazards)
    req = ["red", "heavy", "cold"]
    t = Task(id="t", prompt=world.prompt(tuple(req)), spec={"request": req})
    answer = f" {safe[0]} {hidden}"
    helped = AssistedEvaluator(world, weak_flaws, EvaluateeCritic(world, knows, seed=0), seed=0)
    assert helped.score(t, answer) == pytest.approx(alone.score(t, answer) - 1.0)
    assert helped.config()["assistant"]["error_rate"] == 0.0


def test_loop_hands_the_replicates_pretrained_evaluatee_to_the_critic(monkeypatch):
    import oversight_lab.evaluators.self_critique as sc
    from oversight_lab.config import EvaluatorSpec
    from oversight_lab.loop import build_evaluator
    from oversight_lab.worlds import AlchemyWorld

    seen = []

    def fake(world, flaws, pretrained, seed, name):
        seen.append(pretrained)
        raise RuntimeError("stop here")

    monkeypatch.setattr(sc, "evaluatee_assisted", fake)
    with pytest.raises(RuntimeError, match="stop here"):
        spec = EvaluatorSpec(kind="evaluatee_assisted")
        build_evaluator(AlchemyWorld(), spec, 0, "a", pretrained={"seed": 2})
    assert seen == [{"seed": 2}]
