"""PGR as Burns et al. define it, (student − weak) / (ceiling − weak), on hand-computed synthetic values; the
guard where the ceiling does not beat the weak supervisor; per replicate and from pretraining-seed means."""

from __future__ import annotations

import math

import pytest

from oversight_lab.metrics.pgr import pgr, pgr_estimates


def test_pgr_is_the_share_of_the_gap_the_student_recovers():
    assert pgr(0.6, 0.8, 1.0) == pytest.approx(0.5)
    assert pgr(0.6, 0.6, 1.0) == 0.0 and pgr(0.6, 1.0, 1.0) == 1.0
    assert pgr(0.6, 0.5, 1.0) == pytest.approx(-0.25)  # worse than its supervisor
    assert pgr(0.6, 1.1, 1.0) == pytest.approx(1.25)  # better than the ceiling
    # no gap, a negative gap, a gap under min_gap, a NaN: undefined
    for args in ((0.9, 0.95, 0.9), (0.9, 0.95, 0.8), (0.9, 0.95, 0.91), (float("nan"), 0.5, 1.0)):
        assert math.isnan(pgr(*args, min_gap=0.02))


def test_both_estimates_on_a_hand_computed_design():
    # 2 pretraining seeds × 2 seeds. Seed (0, 1) has a tiny gap (0.01): undefined per replicate.
    units = [(0, 0), (0, 1), (1, 2), (1, 3)]
    weak = [0.6, 0.79, 0.5, 0.7]
    student = [0.8, 0.795, 0.6, 0.8]
    ceiling = [1.0, 0.8, 0.9, 0.9]
    r = pgr_estimates(weak, student, ceiling, units, min_gap=0.02)
    per = r["per_replicate"]
    assert per["values"][0] == pytest.approx(0.5) and math.isnan(per["values"][1])
    assert per["values"][2] == pytest.approx(0.25) and per["values"][3] == pytest.approx(0.5)
    assert per["undefined"] == 1
    # the cluster estimate averages within pretraining seed first: seed 0 → 0.5, seed 1 → 0.375
    assert per["mean"] == pytest.approx((0.5 + 0.375) / 2)
    # from pretraining-seed means: seed 0 has weak 0.695, student 0.7975, ceiling 0.9; seed 1 0.6, 0.7, 0.9
    seeds = r["from_seed_means"]
    assert seeds["per_pretrain_seed"]["0"] == pytest.approx((0.7975 - 0.695) / (0.9 - 0.695))
    assert seeds["per_pretrain_seed"]["1"] == pytest.approx((0.7 - 0.6) / (0.9 - 0.6))
    assert seeds["mean"] == pytest.approx((0.1025 / 0.205 + 0.1 / 0.3) / 2)
    assert seeds["lo"] < seeds["mean"] < seeds["hi"] and "2 pretraining seeds" in seeds["method"]
    assert r["ratio_of_means"] == pytest.approx((0.74875 - 0.6475) / (0.9 - 0.6475))


def test_no_gap_anywhere_gives_no_estimate_and_says_so():
    r = pgr_estimates([0.9, 0.9], [0.95, 0.9], [0.9, 0.905], [(0, 0), (1, 1)], min_gap=0.02)
    assert math.isnan(r["from_seed_means"]["mean"]) and r["from_seed_means"]["undefined"] == 2
    assert r["per_replicate"]["undefined"] == 2 and "min_gap" in r["per_replicate"]["method"]
    with pytest.raises(ValueError, match="replicates"):
        pgr_estimates([0.5], [0.6, 0.7], [0.9], [(0, 0)])
