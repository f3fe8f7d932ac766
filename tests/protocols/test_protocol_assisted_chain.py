"""Assisted and chained evaluators: accuracy against gold moves the way the assistant's quality says."""

from __future__ import annotations

import numpy as np
import pytest

from oversight_lab.config import EvaluatorSpec
from oversight_lab.evaluators import SimulatedEvaluator
from oversight_lab.evaluators.assisted import easy_task_labels, train_assistant
from oversight_lab.evaluators.chain import ChainEvaluator, build_chain
from oversight_lab.evaluators.kinds import build_evaluator as build_kind
from oversight_lab.loop import build_evaluator
from oversight_lab.protocols.metrics import accuracy_on_pairs

SEEDS = range(6)


def test_perfect_assistant_makes_the_weak_evaluator_expert_like(world, weak_flaws, pairs):
    from oversight_lab.evaluators.assisted import Assistant, AssistedEvaluator

    oracle = Assistant(world, frozenset(world.hazards()), {})
    assert oracle.error_rate() == 0.0
    unaided = accuracy_on_pairs(world, SimulatedEvaluator(world, weak_flaws, seed=0), pairs)
    assisted = accuracy_on_pairs(world, AssistedEvaluator(world, weak_flaws, oracle, seed=0), pairs)
    assert assisted > unaided + 0.1
    # it flags mercury past the evaluator's read budget (the second ingredient)
    task = pairs[0][0]
    toxic = sorted(world.toxic)[0]
    safe = next(i for i in world.ingredients if i not in world.toxic)
    ans = f" {safe} {toxic}"
    assert (
        AssistedEvaluator(world, weak_flaws, oracle).score(task, ans)
        < SimulatedEvaluator(world, weak_flaws).score(task, ans)
        or toxic in SimulatedEvaluator(world, weak_flaws).known_hazards
    )


def test_assistant_error_rate_is_measured_against_truth(world):
    rng = np.random.default_rng(0)
    truth = set(world.hazards())
    clean = train_assistant(world, easy_task_labels(world, lambda i: i in truth, 16, 0.0, rng), seed=0)
    assert clean.error_rate() == 0.0  # every ingredient labelled: properties separate mercury perfectly
    flipped = train_assistant(world, easy_task_labels(world, lambda i: i in truth, 16, 1.0, rng), seed=0)
    assert flipped.error_rate() == 1.0
    assert flipped.miss_rate() == 1.0 and flipped.false_alarm_rate() == 1.0


def test_assisted_beats_unaided_and_the_gain_shrinks_as_the_assistant_errs(world, weak_flaws, pairs):
    unaided = np.mean(
        [accuracy_on_pairs(world, SimulatedEvaluator(world, weak_flaws, seed=s), pairs) for s in SEEDS]
    )
    gains, errors = [], []
    for noise in (0.0, 0.2, 0.5):
        evs = [
            build_kind(
                world, "assisted", [f.config() for f in weak_flaws], {"label_noise": noise, "n_labels": 12},
                s, "a",
            )
            for s in SEEDS
        ]
        gains.append(np.mean([accuracy_on_pairs(world, ev, pairs) for ev in evs]) - unaided)
        errors.append(np.mean([ev.assistant.error_rate() for ev in evs]))
    assert gains[0] > 0.04  # a good assistant helps
    assert gains[0] > gains[2] and gains[1] > gains[2]  # less as its error rate rises
    assert errors[2] > errors[0]
    assert gains[2] < 0.03  # an assistant trained on coin flips adds (almost) nothing


def test_chain_layers_are_nested_and_accuracy_does_not_rise_with_depth(world, weak_flaws, pairs):
    deep = build_chain(world, weak_flaws, 3, seed=1, n_labels=12, label_noise=0.1)
    shallow = build_chain(world, weak_flaws, 2, seed=1, n_labels=12, label_noise=0.1)
    assert [a.flagged for a in shallow] == [a.flagged for a in deep[:2]]
    acc = np.array(
        [
            [
                accuracy_on_pairs(
                    world, ChainEvaluator(world, weak_flaws, d, seed=s, n_labels=12, label_noise=0.1), pairs
                )
                for d in range(5)
            ]
            for s in SEEDS
        ]
    )
    err = np.array(
        [
            ChainEvaluator(world, weak_flaws, 4, seed=s, n_labels=12, label_noise=0.1).layer_error_rates()
            for s in SEEDS
        ]
    )
    mean = acc.mean(axis=0)
    assert mean[1] > mean[0]  # one layer of assistance helps the weak evaluator ...
    assert mean[4] < mean[1] and mean[3] < mean[1]  # ... more layers lose it again: errors compound
    assert err[:, -1].mean() >= err[:, 0].mean()  # the top assistant errs at least as often as the first


def test_depth_zero_chain_is_the_unaided_evaluator(world, weak_flaws, pairs):
    a = accuracy_on_pairs(world, ChainEvaluator(world, weak_flaws, 0, seed=3), pairs)
    b = accuracy_on_pairs(world, SimulatedEvaluator(world, weak_flaws, seed=3), pairs)
    assert a == pytest.approx(b)


def test_loop_builds_protocol_evaluators_and_rejects_unknown_params(world):
    spec = EvaluatorSpec(kind="chain", flaws=[{"kind": "noise"}], params={"depth": 2, "label_noise": 0.1})
    ev = build_evaluator(world, spec, seed=0, name="depth_2")
    assert isinstance(ev, ChainEvaluator) and ev.depth == 2 and ev.name == "depth_2"
    assert len(ev.config()["layer_error_rates"]) == 2
    with pytest.raises(ValueError, match="unknown parameter"):
        build_evaluator(world, EvaluatorSpec(kind="assisted", params={"nosie": 0.1}), seed=0, name="x")
    with pytest.raises(ValueError, match="params.path"):
        build_evaluator(world, EvaluatorSpec(kind="judge", params={"backend": "hf"}), seed=0, name="x")
