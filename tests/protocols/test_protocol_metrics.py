"""Sandwich gap and performance gap recovered against hand-computed values."""

from __future__ import annotations

import math

import pytest

from oversight_lab.feedback.records import Comparison
from oversight_lab.protocols.metrics import evaluator_accuracy, gap_recovered, gap_recovered_ci, sandwich_gap


def test_gap_recovered_hand_example():
    # unaided 0.60, assisted 0.70, expert 0.80: half the gap recovered
    assert sandwich_gap(0.60, 0.70, 0.80) == pytest.approx(0.5)
    assert gap_recovered(0.2, 0.2, 0.9) == 0.0 and gap_recovered(0.2, 0.9, 0.9) == 1.0
    assert gap_recovered(0.5, 0.4, 0.7) == pytest.approx(-0.5)  # assistance can hurt
    assert math.isnan(gap_recovered(0.5, 0.6, 0.5))  # no gap to recover


def test_gap_recovered_ci_over_seeds():
    u, a, e = [0.6, 0.5, 0.7], [0.7, 0.6, 0.75], [0.8, 0.9, 0.8]
    r = gap_recovered_ci(u, a, e)
    assert r["per_seed"] == pytest.approx([0.5, 0.25, 0.5])
    assert r["mean"] == pytest.approx(1.25 / 3)
    # t-interval: mean ± t(0.975, 2) · sd / √3, sd of (0.5, 0.25, 0.5) = 0.1443
    assert r["hi"] - r["mean"] == pytest.approx(4.3027 * 0.144338 / math.sqrt(3), rel=1e-3)
    assert r["ratio_of_means"] == pytest.approx((0.68333 - 0.6) / (0.83333 - 0.6), rel=1e-3)
    assert "t interval" in r["method"].lower() or "Student-t" in r["method"]
    # three replicates from one pretraining seed and … from two: the interval is then over pretraining seeds
    r2 = gap_recovered_ci(u + u, a + a, e + e, units=[(0, 0), (0, 1), (0, 2), (1, 3), (1, 4), (1, 5)])
    assert "2 pretraining seeds" in r2["method"]


def test_evaluator_accuracy_against_gold(world):
    toxic = sorted(world.toxic)[0]
    safe = [i for i in world.ingredients if i not in world.toxic][:2]
    spec = {"request": list(world.requests[0])}
    good, bad = f" {safe[0]} {safe[1]}", f" {toxic} {safe[0]}"  # gold: met ≥ 0 against -1

    def cmp(a: str, b: str, chosen: int, prob_a: float) -> Comparison:
        return Comparison("t", "p", a, b, chosen, prob_a, "e", "initial", task_spec=spec)

    r = evaluator_accuracy(world, [cmp(good, bad, 0, 0.9), cmp(bad, good, 0, 0.8), cmp(good, good, 0, 0.5)])
    assert r["acc/n"] == 2  # the tie is left out
    assert r["acc/expected"] == pytest.approx((0.9 + 0.2) / 2)
    assert r["acc/choice"] == pytest.approx(0.5)
