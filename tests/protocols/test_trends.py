"""Trends over checkpoints (the sandbagging trend): slopes per replicate against hand-computed values."""

from __future__ import annotations

import json

import pytest

from oversight_lab.analyses.trends import checkpoint_trend, slopes


def _rows():
    rows = []
    for ps in (0, 1):
        for s in (0, 1):
            for arm, rate in (("flawed", 0.1 + 0.05 * ps), ("control", 0.0)):
                rows.append({"arm": arm, "seed": s, "pretrain_seed": ps, "optimizer": "initial", "step": 0,
                             "sandbag/gap": 0.5})  # replaced by rl's own step 0 below: the slopes ignore it
                for step in (10, 20, 30):
                    extra = 0.001 * s if step == 30 else 0.0
                    rows.append({"arm": arm, "seed": s, "pretrain_seed": ps, "optimizer": "rl", "step": step,
                                 "sandbag/gap": 0.02 + rate * step / 100 + extra})
                # the optimiser's own step 0 replaces the initial row (not counted twice)
                rows.append({"arm": arm, "seed": s, "pretrain_seed": ps, "optimizer": "rl", "step": 0,
                             "sandbag/gap": 0.02})
                rows.append({"arm": arm, "seed": s, "pretrain_seed": ps, "optimizer": "bon", "step": 64,
                             "sandbag/gap": 9.0})  # another optimiser: never read
    return rows


def test_slopes_per_replicate_read_initial_and_rl_only():
    by_arm = slopes(_rows(), "sandbag/gap")
    assert by_arm["control"][(0, 0)] == pytest.approx(0.0)
    assert by_arm["flawed"][(0, 0)] == pytest.approx(0.1)
    assert by_arm["flawed"][(1, 0)] == pytest.approx(0.15)
    assert by_arm["flawed"][(1, 1)] > by_arm["flawed"][(1, 0)]  # the extra 0.001 at step 30
    assert slopes(_rows(), "missing/key") == {}


def test_checkpoint_trend_over_pretraining_seeds(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in _rows()))
    (tmp_path / "config.json").write_text(json.dumps({"scenario": "sandbagger"}))
    t = checkpoint_trend(tmp_path, "sandbag/gap")
    d = t["flawed_minus_control"]
    assert d["n_units"] == 2 and d["unit"] == "pretraining seed"
    assert d["value"] == pytest.approx(0.125, abs=0.002)
    assert t["per_100_steps"]["control"]["value"] == pytest.approx(0.0, abs=0.002)  # seed 1's extra 0.001
    assert t["scenario"] == "sandbagger" and set(t["per_replicate"]["flawed"]) == {"0/0", "0/1", "1/0", "1/1"}
    with pytest.raises(ValueError, match="no rl checkpoints with 'nope'"):
        checkpoint_trend(tmp_path, "nope")
    with pytest.raises(FileNotFoundError, match="no metrics.jsonl"):
        checkpoint_trend(tmp_path / "absent", "sandbag/gap")
