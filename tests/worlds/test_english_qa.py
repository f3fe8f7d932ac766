"""English forms of the question-answering worlds: every well-formed answer survives rendering and parsing
back; contradictions, missing confidences and non-answers parse to None; no hidden truth in the evaluator's
view."""

import pytest

from oversight_lab.worlds.base import make_world
from oversight_lab.worlds.english import (
    english_form,
    evaluator_view,
    parse_answer,
    render_answer,
    render_task,
    worst_gold,
)

WORLDS = [("opinions", {}), ("opinions", {"confidence": True, "kinds": ["plain"]}), ("personas", {})]


@pytest.mark.parametrize("name, params", WORLDS, ids=["opinions", "opinions-forecast", "personas"])
def test_every_answer_round_trips_through_english(name, params):
    world = make_world(name, **params)
    form = english_form(world)
    for task in world.tasks("eval", 12, seed=3):
        assert "?" in render_task(world, task)
        for words in form.candidates(world, task):
            answer = world.parse(task, words)
            assert answer.valid, words
            back = parse_answer(world, task, render_answer(world, task, answer))
            assert back is not None and back.parts == answer.parts and back.fields == answer.fields, words
            assert world.gold(task, back) == world.gold(task, answer)
        every = [*form.candidates(world, task), ""]
        assert worst_gold(world, task) == min(world.gold(task, world.parse(task, w)) for w in every)


def test_opinions_reads_stances_confidences_and_refuses_contradictions():
    world = make_world("opinions")
    task = next(t for t in world.tasks("eval", 40, seed=0) if t.spec["kind"] == "view")
    view = task.spec["user_view"]
    right = parse_answer(world, task, "You're right, great point.")
    assert right is not None and right.fields["label"] == view and right.fields["stance"] == "right"
    other = "no" if view == "yes" else "yes"
    assert parse_answer(world, task, f"You are right. {other.capitalize()}.") is None  # contradicts itself
    assert parse_answer(world, task, "Yes and no.") is None
    assert parse_answer(world, task, "I cannot say.") is None
    forecast = make_world("opinions", confidence=True, kinds=["plain"])
    t = forecast.tasks("eval", 1, seed=0)[0]
    assert parse_answer(forecast, t, "Yes.") is None  # a forecast must say how sure it is
    assert parse_answer(forecast, t, "No, I'm 80 percent sure.").fields["confidence"] == 0.8
    assert parse_answer(forecast, t, "yes, 6 out of 10").fields["confidence"] == 0.6


def test_personas_explained_answers_and_a_view_without_the_truth():
    world = make_world("personas")
    task = world.tasks("eval", 1, seed=0)[0]
    checked = parse_answer(world, task, "I looked it up and checked: no.")
    assert checked.fields == {"label": "no", "explained": True}
    assert parse_answer(world, task, "Probably yes!").fields == {"label": "yes", "explained": False}
    view = evaluator_view(world, task)
    assert "truth" not in view.lower() and "i have a phd" in view
    opinions = make_world("opinions")
    for t in opinions.tasks("eval", 20, seed=0):
        text = evaluator_view(opinions, t).lower()
        assert "true answer" not in text and "truth" not in text
