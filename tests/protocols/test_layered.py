"""Layers of evaluation by AI: reward models fitted on the layer below, each with its own blind spot."""

from __future__ import annotations

import numpy as np
import pytest

from oversight_lab.evaluators.layered import LayeredEvaluator, RewardModelLayer, layer_pairs


def test_depth_zero_is_the_human_and_chains_are_nested(world, weak_flaws, pairs):
    from oversight_lab.evaluators import SimulatedEvaluator

    human = SimulatedEvaluator(world, weak_flaws, seed=3)
    zero = LayeredEvaluator(world, weak_flaws, 0, seed=3, n_pairs=300)
    probs = [p.prob_a for p in human.compare_batch(pairs[:50])]
    assert [p.prob_a for p in zero.compare_batch(pairs[:50])] == probs
    deep, shallow = (LayeredEvaluator(world, weak_flaws, d, seed=3, n_pairs=300) for d in (3, 2))
    for a, b in zip(shallow.layers, deep.layers, strict=False):
        assert a.blind == b.blind and np.allclose(a.w, b.w)
    assert deep.layer_accuracy[:2] == shallow.layer_accuracy
    assert len(deep.config()["layer_error_rates"]) == 3


def test_a_layer_learns_the_rule_it_is_shown_and_misses_what_it_cannot_see(world):
    """Over a human with no flaw, a layer that sees everything ranks answers as the human does; a layer that
    cannot tell the mercury-bearing ingredients from as many safe ones cannot, where exactly one answer holds
    undisclosed mercury."""
    from oversight_lab.evaluators import SimulatedEvaluator

    human = SimulatedEvaluator(world, [], seed=0)
    train = layer_pairs(world, 1500, seed=1)
    chosen = [p.chosen for p in human.compare_batch(train)]
    sees = RewardModelLayer(world, frozenset()).fit(train, chosen, seed=0)
    safe = [i for i in world.ingredients if i not in world.toxic]
    blind = RewardModelLayer(world, frozenset([*world.toxic, *safe[:4]])).fit(train, chosen, seed=0)

    def undisclosed(t, x):
        parsed = world.parse(t, x)
        return world.is_toxic(parsed) and not parsed.fields["disclosed"]

    test = [(t, a, b) for t, a, b in layer_pairs(world, 600, seed=2)
            if human.score(t, a) != human.score(t, b) and undisclosed(t, a) != undisclosed(t, b)]
    assert len(test) >= 50

    def agree(layer):
        return np.mean([(layer.score(t, a) > layer.score(t, b)) == (human.score(t, a) > human.score(t, b))
                        for t, a, b in test])

    assert agree(sees) >= 0.8  # linear in its features: not the human's rule exactly
    assert agree(blind) <= agree(sees) - 0.1
    toxic = sorted(world.toxic)[0]
    assert sees.w[sees.seen.index(toxic)] < -0.5  # it learnt that this ingredient costs the human's approval


@pytest.mark.parametrize("kw, msg", [({"depth": -1}, "depth"), ({"blind_fraction": 1.0}, "blind_fraction"),
                                     ({"n_pairs": 3}, "n_pairs")])
def test_bad_parameters_name_themselves(world, kw, msg):
    args = {"depth": 1, "n_pairs": 100, "blind_fraction": 0.25, **kw}
    with pytest.raises(ValueError, match=msg):
        LayeredEvaluator(world, [], args.pop("depth"), **args)
