"""A protocol's pre-registered primary estimate, over pretraining seeds, against its registered direction and
minimum effect (hand-made run directories; no training)."""

import json
import math

import pytest

from oversight_lab.analyses.protocols import primary_result

UNITS = [(p, s) for p in range(3) for s in (2 * p, 2 * p + 1)]


def _run(tmp_path, direction="up", min_effect=0.1, block="confirm", overrides=()):
    (tmp_path / "prereg.json").write_text(json.dumps({
        "seed_block": block, "overrides": list(overrides),
        "prereg": {"primary": "the gap", "direction": direction, "min_effect": min_effect,
                   "contrast": "a − b", "optimizer": "rl"}}))
    return tmp_path


def test_a_registered_rise_shows_on_a_confirmation_block(tmp_path):
    r = primary_result([0.3, 0.32, 0.25, 0.27, 0.4, 0.38], UNITS, _run(tmp_path))
    est = r["estimate"]
    assert est["value"] == pytest.approx((0.31 + 0.26 + 0.39) / 3) and est["n_units"] == 3
    assert est["unit"] == "pretraining seed" and est["lo"] > 0 and est["p"] < 0.05
    assert r["status"] == "emerged" and r["confirmatory"] and "[confirmatory]" in r["verdict"]
    assert "as registered" in r["verdict"] and "not as registered" not in r["verdict"]


def test_below_the_minimum_effect_wrong_direction_or_one_seed_is_a_null(tmp_path):
    small = primary_result([0.05, 0.05, 0.06, 0.06, 0.04, 0.04], UNITS, _run(tmp_path))
    assert small["estimate"]["lo"] > 0 and small["status"] == "none"  # significant but below 0.1
    assert "not as registered" in small["verdict"]
    down = primary_result([0.3, 0.32, 0.25, 0.27, 0.4, 0.38], UNITS, _run(tmp_path, direction="down"))
    assert down["status"] == "none"
    # one pretrained model carries it: the interval over pretraining seeds includes 0
    one = primary_result([1.0, 1.0, 0.0, 0.0, 0.0, 0.0], UNITS, _run(tmp_path))
    assert one["estimate"]["lo"] < 0 and one["status"] == "none"


def test_development_seeds_or_changed_settings_are_exploratory(tmp_path):
    r = primary_result([0.3, 0.32, 0.25, 0.27, 0.4, 0.38], UNITS, _run(tmp_path, block="dev"))
    assert r["status"] == "emerged" and not r["confirmatory"] and "[exploratory]" in r["verdict"]
    r = primary_result([0.3] * 6, UNITS, _run(tmp_path, overrides=["rl.steps"]))
    assert not r["confirmatory"] and "rl.steps" in r["status_reason"]
    (tmp_path / "prereg.json").unlink()
    r = primary_result([0.3] * 6, UNITS, tmp_path)
    assert r["status"] == "n/a" and math.isfinite(r["estimate"]["value"])
