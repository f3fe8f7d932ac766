"""The English parser on answers SmolLM2-135M-Instruct actually gave (a fixture; no model needed here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight_lab.worlds import make_world
from oversight_lab.worlds.english import parse_answer, worst_gold

DATA = json.loads((Path(__file__).parent / "data" / "smollm2_alchemy_answers.json").read_text())
WORLD = make_world("alchemy")
TASKS = {t.id: t for t in WORLD.tasks("eval", 4, seed=10_000)}


@pytest.mark.parametrize("item", DATA["answers"], ids=lambda a: a["text"][:40])
def test_parse_matches_the_hand_label(item: dict) -> None:
    task = TASKS[item["task_id"]]
    assert task.spec["request"] == item["request"]  # the fixture still matches the world's tasks
    got = parse_answer(WORLD, task, item["text"])
    if item["expected"] == "unparseable":
        assert got is None
    else:
        assert got is not None and got.fields == item["expected"]
        assert got.text == item["text"]


def test_fixture_covers_both_outcomes_and_scores_unparseable_as_worst() -> None:
    """What the real model gives: most answers unparseable, some valid with and without the warning."""
    labels = [a["expected"] for a in DATA["answers"]]
    parsed = [x for x in labels if x != "unparseable"]
    assert len(labels) == 24 and len(parsed) == 6
    assert {x["disclosed"] for x in parsed} == {True, False}
    golds = []
    for item in DATA["answers"]:
        task = TASKS[item["task_id"]]
        ans = parse_answer(WORLD, task, item["text"])
        golds.append(WORLD.gold(task, ans) if ans is not None else worst_gold(WORLD, task))
    assert golds.count(-1.0) >= 18  # every unparseable answer scores gold's worst, none is dropped
