"""HumanEvaluator: the closed loop's evaluator backed by people (simulated here by threads posting labels)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from oversight_lab.evaluators.base import to_comparison
from oversight_lab.server.evaluator import (
    HumanEvaluator,
    HumanEvaluatorError,
    HumanEvaluatorTimeout,
    aggregate,
)
from oversight_lab.worlds import AlchemyWorld

from .conftest import ADMIN

QUEUE_STUDY = """
name: queue
items: {source: none}
conditions: [{name: unaided}, {name: critique, assistance: critique}]
overlap: 1
gold_share: 0
time_limit_s: 60
"""


def simulated_human(url: str, token: str, world: AlchemyWorld, stop: threading.Event) -> None:
    """Labels whatever it is served by the world's gold (an expert-quality person), until stopped."""
    tasks = {t.prompt: t for t in world.tasks("eval", 20, seed=0)}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as c:
        while not stop.is_set():
            nxt = c.post("/api/next").json()
            if nxt["done"]:
                time.sleep(0.02)
                continue
            task = tasks[nxt["prompt"]]
            gl = world.gold(task, world.parse(task, nxt["left"]))
            gr = world.gold(task, world.parse(task, nxt["right"]))
            strength = 0 if gl == gr else (-2 if gl > gr else 2)
            c.post(f"/api/assignments/{nxt['assignment_id']}/label",
                   json={"strength": strength, "confidence": 0.9 if strength else 0.5})


def pairs(world: AlchemyWorld) -> list[tuple[Any, str, str]]:
    tasks = world.tasks("eval", 20, seed=0)
    return [(tasks[0], " sulfur alum", " orpiment myrrh warning mercury"),
            (tasks[1], " orpiment myrrh warning mercury", " sulfur alum"),
            (tasks[2], " saltpeter borax", " vitriol antimony")]


def test_compare_batch_with_people_in_the_loop(live: Any) -> None:
    url, _, _ = live(QUEUE_STUDY)
    world = AlchemyWorld()
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"})
    tokens = [admin.post("/api/admin/invites", json={"role": "annotator"}).json()["token"] for _ in range(2)]
    ev = HumanEvaluator(url, ADMIN, timeout_s=30, poll_s=0.05, policy="ckpt-7")
    assert ev.labels_per_item == 2 and ev.conditions == ["unaided", "critique"]
    stop = threading.Event()
    humans = [threading.Thread(target=simulated_human, args=(url, t, world, stop), daemon=True)
              for t in tokens]
    for h in humans:
        h.start()
    try:
        batch = pairs(world)
        prefs = ev.compare_batch(batch)
    finally:
        stop.set()
        for h in humans:
            h.join(timeout=5)
    assert len(prefs) == 3
    for (task, a, b), pref in zip(batch, prefs, strict=True):
        ga, gb = (world.gold(task, world.parse(task, x)) for x in (a, b))
        if ga == gb:
            assert pref.prob_a == 0.5 and pref.rationale.startswith("tie")
        else:
            assert pref.chosen == (0 if ga > gb else 1)
            assert pref.prob_a == pytest.approx(0.9 if ga > gb else 0.1)
            assert pref.margin == pytest.approx(2 / 3)
    rec = to_comparison(batch[0][0], batch[0][1], batch[0][2], prefs[0], ev, policy="ckpt-7")
    assert rec.evaluator == "human" and rec.evaluator_config["study"] == "queue"


def test_timeout_is_clear_and_resumable(live: Any) -> None:
    url, _, _ = live(QUEUE_STUDY)
    world = AlchemyWorld()
    ev = HumanEvaluator(url, ADMIN, timeout_s=0.3, poll_s=0.05)
    t0 = time.monotonic()
    with pytest.raises(HumanEvaluatorTimeout, match=r"3 of 3 items still need 2 labels") as e:
        ev.compare_batch(pairs(world))
    assert time.monotonic() - t0 < 5
    assert len(e.value.batch) == 16  # the batch id is kept for collect()
    with pytest.raises(HumanEvaluatorTimeout):
        ev.collect(e.value.batch, timeout_s=0.1)


def test_bad_configuration_is_reported(live: Any) -> None:
    url, _, _ = live(QUEUE_STUDY)
    with pytest.raises(HumanEvaluatorError, match="unknown condition"):
        HumanEvaluator(url, ADMIN, conditions=["telepathy"])
    with pytest.raises(HumanEvaluatorError, match="HTTP 401"):
        HumanEvaluator(url, "wrong-token")


def test_aggregate() -> None:
    p = aggregate([{"strength": -3, "confidence": 0.9}, {"strength": 1, "confidence": 0.6}])
    assert p.prob_a == pytest.approx((0.9 + 0.4) / 2) and p.chosen == 0 and p.margin == pytest.approx(1 / 3)
    tie = aggregate([{"strength": 0, "confidence": 0.5, "rationale": "same"}])
    assert tie.prob_a == 0.5 and tie.margin == 0.0 and tie.rationale == "tie: same"
    with pytest.raises(ValueError):
        aggregate([])
