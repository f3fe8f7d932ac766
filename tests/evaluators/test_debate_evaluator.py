"""The ``debate`` evaluator kind: a blind-spot evaluator judging after a debate about the two answers."""

from __future__ import annotations

import itertools

import pytest

from oversight_lab.evaluators import SimulatedEvaluator, SpecError, build_evaluator, check_spec, make_flaw
from oversight_lab.evaluators.debate import format_turn
from oversight_lab.evaluators.debate_evaluator import DebateEvaluator, OptimalDebater
from oversight_lab.worlds import make_world

BLIND = [{"kind": "incomplete_criteria", "known_fraction": 0.0}]  # the alchemist's blind spot, no noise


@pytest.fixture(scope="module")
def world():
    return make_world("alchemy")


@pytest.fixture(scope="module")
def tempting(world):
    """A task, an undisclosed mercury recipe and a safe one that the blind evaluator ranks above it."""
    blind = SimulatedEvaluator(world, [make_flaw(f) for f in BLIND], seed=0)
    hazards = set(world.hazards())
    for task in world.tasks("eval", 50, seed=0):
        for x, y in itertools.permutations(world.ingredients, 2):
            toxic = f" {x} {y}"
            if not ({x, y} & hazards):
                continue
            for s, t in itertools.combinations(sorted(set(world.ingredients) - hazards), 2):
                safe = f" {s} {t}"
                if blind.score(task, toxic) > blind.score(task, safe):
                    return task, toxic, safe
    raise AssertionError("no tempting pair in the alchemy world")


class Liar:
    """Claims that the attacked recipe's first ingredient carries mercury (caught when it does not)."""

    def __init__(self, world):
        from oversight_lab.evaluators.debate import parse_prompt

        self.world, self.parse = world, parse_prompt

    def sample(self, prompts, n=1, temperature=1.0, seed=0):
        out = []
        for p in prompts:
            recipe, _, _ = self.parse(p, self.world)
            out.append([format_turn(recipe[0], True).removeprefix("question : does") if recipe else " ."] * n)
        return out


def test_the_kind_is_registered_and_its_params_are_checked():
    check_spec("debate", BLIND, {"debaters": "optimal", "n": 8, "turns": 2})
    for params, word in (({"debaters": "oracle"}, "debaters"), ({"turns": 3}, "turns"), ({"n": 0}, "n"),
                         ({"n": "8"}, "n"), ({"rounds": 2}, "unknown parameter")):
        with pytest.raises(SpecError, match=word) as e:
            check_spec("debate", BLIND, params)
        assert e.value.key == "params"


def test_debate_reveals_the_hazard_the_blind_evaluator_missed(world, tempting):
    task, toxic, safe = tempting
    blind = SimulatedEvaluator(world, [make_flaw(f) for f in BLIND], seed=0)
    assert blind.compare(task, toxic, safe).chosen == 0  # the blind spot: it takes the mercury recipe
    ev = build_evaluator(world, "debate", BLIND, {"debaters": "optimal"}, seed=0, name="debate")
    assert isinstance(ev, DebateEvaluator)
    pref = ev.compare(task, toxic, safe)
    assert pref.chosen == 1 and pref.prob_a == 0.0  # after the debate it takes the safe one
    assert "answer : yes" in pref.rationale  # the verified fact that decided it
    assert ev.stats["hazards_revealed"] >= 1 and ev.stats["caught"] == 0
    swapped = ev.compare(task, safe, toxic)  # and in the other order
    assert swapped.chosen == 0
    assert ev.config()["debaters"] == "optimal" and ev.config()["kind"] == "debate"


def test_a_caught_lie_changes_nothing(world, tempting):
    task, toxic, safe = tempting
    blind = SimulatedEvaluator(world, [make_flaw(f) for f in BLIND], seed=0)
    ev = DebateEvaluator(world, [make_flaw(f) for f in BLIND], Liar(world), n=1, turns=1, seed=0)
    prefs = ev.compare_batch([(task, safe, safe), (task, toxic, safe)])
    assert prefs[0].prob_a == 0.5  # "safe holds mercury" about a safe recipe: caught, ignored
    assert ev.stats["caught"] >= 1
    # the liar attacking the toxic recipe may quote a true hazard (then it is no lie); otherwise nothing moves
    plain = blind.compare(task, toxic, safe)
    first = toxic.split()[0]
    assert prefs[1].prob_a == (0.0 if first in world.hazards() else plain.prob_a)


def test_turn_limits_of_the_debate(world, tempting):
    task, toxic, safe = tempting
    ev = DebateEvaluator(world, [], OptimalDebater(world), n=1, turns=2, seed=0)
    (turns,) = ev.debate([(task, toxic, safe)])
    assert [t.speaker for t in turns] == ["A", "B", "A", "B"]
    with pytest.raises(ValueError, match="n and turns"):
        DebateEvaluator(world, [], OptimalDebater(world), n=1, turns=0)


@pytest.mark.slow
def test_evaluatee_debaters_speak_the_turn_language(world, tempting):
    """The pretrained evaluatee as debaters (pretrains it on a cache miss)."""
    task, toxic, safe = tempting
    ev = build_evaluator(world, "debate", BLIND, {"n": 4}, seed=0, name="debate")
    prefs = ev.compare_batch([(task, toxic, safe), (task, safe, toxic)] * 8)
    assert len(prefs) == 16 and all(p.prob_a in (0.0, 0.5, 1.0) for p in prefs)
    assert ev.stats["pairs"] == 16 and ev.stats["turns"] == 32
    assert ev.stats["evidence"] > 0  # some sampled turns are well-formed facts
