"""The imperfect human's flaws (partial knowledge, unknown hazards, fatigue) and the checked warning, on
hand-made answers (no training)."""

import numpy as np
import pytest

from oversight_lab.evaluators import ExpertEvaluator, SimulatedEvaluator, make_flaw
from oversight_lab.evaluators.biases import (
    DisclosureCredit,
    EducationLimited,
    Fatigue,
    PartialKnowledge,
    UnknownHazards,
)
from oversight_lab.worlds import AlchemyWorld, BankingWorld, OpinionsWorld, PersonasWorld
from oversight_lab.worlds.banking import HEDGE, TAIL
from oversight_lab.worlds.base import Observation, Task


def test_partial_knowledge_cannot_tell_right_from_wrong_on_unknown_facts():
    w = PersonasWorld()
    flaw = PartialKnowledge(known_fraction=0.5)
    known = [f for f in w.facts if flaw.knows({"entity": f[0], "property": f[1]})]
    assert 0.3 < len(known) / len(w.facts) < 0.7  # about the fraction asked, stable per fact
    unknown = next(f for f in w.facts if f not in known)
    ev = SimulatedEvaluator(w, [flaw])
    for f, tells in ((known[0], True), (unknown, False)):
        task = w.make_task(f, "phd")
        right, wrong = w.truth[f], "no" if w.truth[f] == "yes" else "yes"
        s_right = ev.score(task, f" after checking , {right} .")
        s_wrong = ev.score(task, f" after checking , {wrong} .")
        assert (s_right > s_wrong) if tells else (s_right == s_wrong == 0.5)
    assert all(PartialKnowledge(known_fraction=1.0).knows({"entity": e, "property": p}) for e, p in w.facts)
    nobody = PartialKnowledge(known_fraction=0.0)
    assert not any(nobody.knows({"entity": e, "property": p}) for e, p in w.facts)
    o = Observation(Task("t", "p", {"request": ["red"]}), ("a",), {"met": 1.0}, True)
    assert flaw.perceive(o) is o  # a world without facts: unaffected
    with pytest.raises(ValueError, match="partial_knowledge.known_fraction"):
        PartialKnowledge(known_fraction=1.5)


def test_partial_knowledge_in_the_opinions_world():
    w = OpinionsWorld()
    flaw = PartialKnowledge(known_fraction=0.0)
    task = w.tasks("train", 1, seed=0)[0]
    obs = w.observe(task, w.parse(task, " yes ."))
    assert flaw.perceive(obs).features["correct"] == 0.5


def test_unknown_hazards_drop_only_the_named_ones():
    w = BankingWorld()
    ev = SimulatedEvaluator(w, [make_flaw({"kind": "unknown_hazards", "names": list(HEDGE)})])
    assert ev.known_hazards == frozenset(TAIL)
    task = Task("t", w.prompt("pension", "growth"), {"client": "pension", "goal": "growth"})
    # knows the tail risk, so it is not gold: it undervalues the hedge, whose crisis gain it never learned
    assert ev.score(task, " cdo shortcdo") < w.gold(task, w.parse(task, " cdo shortcdo"))
    assert ev.score(task, " index tech") == pytest.approx(w.gold(task, w.parse(task, " index tech")))
    assert UnknownHazards(names=["a"]).names == ("a",)


def test_fatigue_flips_more_as_a_session_goes_on_and_resets():
    f = Fatigue(flip_rate=0.2, session=5)
    rates = [f.rate(n) for n in range(11)]
    assert rates[0] == 0.0 and rates[4] == pytest.approx(0.2)
    assert rates[5] == 0.0 and rates[9] == pytest.approx(0.2)
    assert all(a < b for a, b in zip(rates[:4], rates[1:5], strict=True))
    probs = [f.choose(1.0, 1.0) for _ in range(5)]  # the counter advances with each choice
    assert probs == pytest.approx([1 - r for r in rates[:5]])
    assert f.config() == {"kind": "fatigue", "flip_rate": 0.2, "session": 5}
    assert make_flaw({"kind": "fatigue", "flip_rate": 0.1}) == Fatigue(flip_rate=0.1)
    with pytest.raises(ValueError, match="unknown parameter"):
        make_flaw({"kind": "fatigue", "_done": [3]})
    with pytest.raises(ValueError, match="fatigue.flip_rate"):
        Fatigue(flip_rate=0.7)


def test_a_tired_evaluator_agrees_with_itself_less_late_in_a_session():
    w = AlchemyWorld()
    task = w.tasks("train", 1, seed=0)[0]
    safe = [i for i in w.ingredients if i not in w.toxic]
    better, worse = max(((a, b) for a in safe for b in safe),
                        key=lambda r: w.gold(task, w.parse(task, " ".join(r)))), (safe[0], safe[0])
    a, b = " " + " ".join(better), " " + " ".join(worse)
    assert w.gold(task, w.parse(task, a)) > w.gold(task, w.parse(task, b))
    ev = ExpertEvaluator(w, [make_flaw({"kind": "fatigue", "flip_rate": 0.5, "session": 1000})], seed=3)
    chosen = np.array([ev.compare(task, a, b).chosen for _ in range(1000)])
    assert chosen[:200].mean() < 0.1 and chosen[-200:].mean() > 0.3  # late: nearly a coin toss


def test_a_checked_warning_is_credited_only_where_it_is_true():
    w = AlchemyWorld()
    toxic = sorted(w.toxic)[0]
    req = sorted(w.props[toxic])
    task = Task("t", w.prompt(tuple(req)), {"request": req})
    safe = [i for i in w.ingredients if i not in w.toxic]
    blind = [make_flaw({"kind": "incomplete_criteria", "known_fraction": 0.0})]
    checks = SimulatedEvaluator(w, [*blind, DisclosureCredit(credit=1.0, verified=True)])
    pays_any = SimulatedEvaluator(w, [*blind, DisclosureCredit(credit=1.5)])
    honest, silent = f" {toxic} {safe[0]} warning mercury", f" {toxic} {safe[0]}"
    false_alarm, plain = f" {safe[0]} {safe[1]} warning mercury", f" {safe[0]} {safe[1]}"
    assert checks.score(task, honest) == checks.score(task, silent)  # a true warning costs and pays nothing
    assert checks.score(task, false_alarm) < checks.score(task, plain)  # a false alarm earns nothing
    assert pays_any.score(task, false_alarm) > pays_any.score(task, plain)  # the old control's own incentive
    assert checks.known_hazards == frozenset()  # checking a warning teaches it nothing about other recipes
    unset = DisclosureCredit(credit=1.0, verified=True)  # never built into an evaluator: no test, no credit
    assert unset.bias(w.observe(task, w.parse(task, honest)), 0.0) == 0.0
    assert unset.config() == {"kind": "disclosure_credit", "credit": 1.0, "item": "warning mercury",
                              "verified": True}


def test_education_limited_share_is_a_dose():
    w = PersonasWorld()
    lows = [w.make_task(f, "dropout") for f in w.facts]
    def limited(share):
        flaw = EducationLimited(share=share)
        return np.mean([flaw._limited(w.observe(t, w.parse(t, " surely yes ."))) for t in lows])
    assert limited(0.0) == 0.0 and limited(1.0) == 1.0 and 0.2 < limited(0.5) < 0.8
    with pytest.raises(ValueError, match="education_limited.share"):
        EducationLimited(share=2.0)
