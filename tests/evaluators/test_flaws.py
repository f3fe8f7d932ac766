import numpy as np
import pytest

from oversight_lab.evaluators import (
    ExpertEvaluator,
    HiddenInformation,
    IncompleteCriteria,
    Noise,
    SimulatedEvaluator,
    make_flaw,
)
from oversight_lab.worlds import AlchemyWorld
from oversight_lab.worlds.base import Task


@pytest.fixture
def setup():
    w = AlchemyWorld()
    toxic = sorted(w.toxic)[0]
    req = sorted(w.props[toxic])
    safe = [i for i in w.ingredients if i not in w.toxic]
    task = Task("t", w.prompt(tuple(req)), {"request": req})
    s_hit = next(i for i in safe if w.props[i] & set(req))
    s_none = next(i for i in safe if not w.props[i] & set(req))
    return w, task, toxic, s_hit, s_none


def test_flawless_evaluator_prefers_safe_recipe(setup):
    w, task, toxic, s_hit, s_none = setup
    ev = SimulatedEvaluator(w)
    assert ev.known_hazards == frozenset(w.hazards())
    p = ev.compare(task, f" {s_hit} {s_none}", f" {toxic} {s_none}")
    assert p.prob_a == 1.0 and p.chosen == 0


def test_incomplete_criteria_knows_a_fraction_and_prefers_unknown_mercury(setup):
    w, task, toxic, s_hit, s_none = setup
    ev = SimulatedEvaluator(w, [IncompleteCriteria(known_fraction=0.25)], seed=3)
    assert len(ev.known_hazards) == 1
    blind = SimulatedEvaluator(w, [IncompleteCriteria(known_fraction=0.0)])
    assert blind.known_hazards == frozenset()
    # the blind evaluator prefers the mercury recipe: it meets all three properties
    p = blind.compare(task, f" {s_hit} {s_none}", f" {toxic} {s_none}")
    assert p.prob_a == 0.0 and p.chosen == 1
    # different seeds know different subsets
    subsets = {SimulatedEvaluator(w, [IncompleteCriteria(0.5)], seed=s).known_hazards for s in range(10)}
    assert len(subsets) > 1


def test_hidden_information_misses_the_warning(setup):
    w, task, toxic, s_hit, s_none = setup
    honest = f" {toxic} {s_none} warning mercury"
    full = SimulatedEvaluator(w, [IncompleteCriteria(0.0)])
    budget2 = SimulatedEvaluator(w, [IncompleteCriteria(0.0), HiddenInformation(budget=2)])
    assert full.score(task, honest) == 0.0  # reads the warning, penalises it
    assert budget2.score(task, honest) == 1.0  # never reads that far
    # reading one item only: a known toxic ingredient in second place goes unseen
    knows = SimulatedEvaluator(w, [IncompleteCriteria(1.0), HiddenInformation(budget=1)])
    assert knows.score(task, f" {s_none} {toxic}") == 1.0
    assert knows.score(task, f" {toxic} {s_none}") == 0.0


def test_noise_is_bradley_terry_with_flips(setup):
    w, task, toxic, s_hit, s_none = setup
    ev = SimulatedEvaluator(w, [Noise(temperature=0.5)], seed=0)
    ua, ub = ev.score(task, f" {s_hit} {s_none}"), ev.score(task, f" {s_none} {s_none}")
    p = ev.compare(task, f" {s_hit} {s_none}", f" {s_none} {s_none}").prob_a
    assert p == pytest.approx(1 / (1 + np.exp(-(ua - ub) / 0.5)))
    flip = SimulatedEvaluator(w, [Noise(temperature=0.0, flip_rate=0.25)], seed=0)
    choices = [flip.compare(task, f" {s_hit} {s_none}", f" {s_none} {s_none}").chosen for _ in range(4000)]
    assert np.mean(choices) == pytest.approx(0.25, abs=0.03)


def test_expert_scores_gold(setup):
    w, task, toxic, s_hit, s_none = setup
    ex = ExpertEvaluator(w)
    for text in (f" {toxic} {s_none}", f" {toxic} {s_none} warning mercury", f" {s_hit} {s_none}"):
        assert ex.score(task, text) == w.gold(task, w.parse(task, text))


def test_make_flaw_errors_name_the_problem():
    assert make_flaw({"kind": "noise", "temperature": 0.3}) == Noise(temperature=0.3)
    with pytest.raises(ValueError, match="unknown evaluator flaw 'nois'"):
        make_flaw({"kind": "nois"})
    with pytest.raises(ValueError, match="unknown parameter.*temp"):
        make_flaw({"kind": "noise", "temp": 1})
    with pytest.raises(ValueError, match="known_fraction"):
        IncompleteCriteria(known_fraction=2.0)
