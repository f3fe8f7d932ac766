"""The story analysis and verdicts on hand-made run directories (no training).

Replicates are (pretraining seed, RLHF seed); items of one replicate are one measurement. The tests check
that intervals are over pretraining seeds, that an effect carried by one pretrained model out of three is not
called significant however many items it has, and how runs are labelled confirmatory or exploratory."""

import json

import pytest

from oversight_lab.analyses.stories import analyse_story, is_confirmatory, verdict
from oversight_lab.scenarios.stories import STORIES

REPLICATES = [(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (2, 5)]


def write_run(tmp_path, flawed_after, control_after, before, replicates=REPLICATES, block="dev", overrides=()):
    """``*_after(pretrain_seed) -> list of item values`` after RL; ``before`` the same for every replicate."""
    rows = []
    for arm, after_of in (("flawed", flawed_after), ("control", control_after)):
        for p, s in replicates:
            after = after_of(p)
            items = [
                {"arm": arm, "pretrain_seed": p, "seed": s, "optimizer": opt, "step": step, "item": f"f{i}",
                 "agree_wrong_view": v, "agree_wrong_identity": v, "consistent": 1.0 - v, "flipped": 0.0}
                for opt, step, vals in (("initial", 0, before), ("rl", 10, before), ("rl", 40, after))
                for i, v in enumerate(vals)
            ]
            d = tmp_path / "arms" / arm / f"seed-{s}"
            d.mkdir(parents=True)
            (d / "items.jsonl").write_text("\n".join(json.dumps(r) for r in items))
            for opt, step, vals in (("initial", 0, before), ("rl", 40, after)):
                rows.append({"arm": arm, "pretrain_seed": p, "seed": s, "optimizer": opt, "step": step,
                             "syco/agree_when_user_wrong": sum(vals) / len(vals) + 0.01 * s, "gold/mean": 0.5})
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "prereg.json").write_text(json.dumps({"seed_block": block, "overrides": list(overrides)}))
    return tmp_path


def ones(p):
    return [1.0] * 20


def zeros(p):
    return [0.0] * 20


def test_emerged_under_flaw_only(tmp_path):
    def rising(p):  # every pretrained model shows it, to a different degree
        return [1.0] * (14 + 2 * p) + [0.0] * (6 - 2 * p)

    a = analyse_story(STORIES["sycophant"], write_run(tmp_path, rising, zeros, [0.0] * 20))
    m = a["measures"][0]
    f = m["arms"]["flawed"]
    assert m["primary"] and f["before"] == 0.0 and f["after"] == pytest.approx(0.8)
    assert f["change"]["n_units"] == 3 and f["change"]["unit"] == "pretraining seed"
    assert f["change"]["per_unit"] == pytest.approx([0.7, 0.8, 0.9])  # items and RLHF seeds averaged first
    assert m["arms"]["control"]["change"]["value"] == 0.0 and m["did"]["value"] == pytest.approx(0.8)
    assert m["status"] == "emerged" and m["did"]["lo"] > 0
    assert a["verdict"].startswith("sycophant [exploratory]: agreement with a user who is wrong emerged")
    assert "over 3 pretraining seeds" in a["verdict"]
    consistency = next(x for x in a["measures"] if x["key"] == "consistent")
    assert consistency["status"] == "emerged"  # a fall is the failure for consistency
    assert "p_holm" in consistency["did"] and consistency["did"]["p_holm"] >= consistency["did"]["p"]


def test_one_pretrained_model_does_not_make_a_finding(tmp_path):
    """20 items × 2 RLHF seeds of one pretrained model moved; the other two did not: the item-level bootstrap
    called this significant, the analysis over pretraining seeds does not."""
    a = analyse_story(STORIES["sycophant"], write_run(tmp_path, lambda p: ones(p) if p == 0 else zeros(p),
                                                      zeros, [0.0] * 20))
    m = a["measures"][0]
    assert m["arms"]["flawed"]["change"]["value"] == pytest.approx(1 / 3)
    assert m["arms"]["flawed"]["change"]["lo"] <= 0 and m["status"] == "none"
    assert "did not emerge significantly" in a["verdict"]


def test_emerged_under_both_and_rates_stay_in_range(tmp_path):
    a = analyse_story(STORIES["sycophant"], write_run(tmp_path, ones, ones, [0.0] * 20))
    assert a["measures"][0]["status"] == "both" and "emerged under both" in a["verdict"]
    sampled = next(x for x in a["measures"] if x["key"] == "syco/agree_when_user_wrong")
    assert sampled["arms"]["flawed"]["after_hi"] <= 1.0
    assert verdict({"name": "x", "failure": "f", "measures": [{"label": "l", "arms": {}, "status": "n/a"}]}) == (
        "x: no data for l."
    )


def test_confirmatory_only_on_a_reserved_block_with_registered_settings(tmp_path):
    assert is_confirmatory(write_run(tmp_path / "a", ones, zeros, [0.0] * 20))[0] is False
    run = write_run(tmp_path / "b", ones, zeros, [0.0] * 20, block="confirm")
    assert is_confirmatory(run) == (True, "confirmatory: reserved seed block 'confirm', registered settings")
    assert analyse_story(STORIES["sycophant"], run)["verdict"].startswith("sycophant [confirmatory]")
    changed = write_run(tmp_path / "c", ones, zeros, [0.0] * 20, block="confirm", overrides=["rl.steps"])
    ok, why = is_confirmatory(changed)
    assert not ok and "rl.steps" in why


def test_trends_over_checkpoints_are_per_replicate_slopes_over_pretraining_seeds(tmp_path):
    """The item records sit at the initial policy (step 0), RL step 10 (unchanged) and RL step 40: the slope
    of each replicate's value over those steps, items of one model averaged first, per 100 steps."""
    from oversight_lab.report.stories import story_section

    def rising(p):
        return [1.0] * (14 + 2 * p) + [0.0] * (6 - 2 * p)

    a = analyse_story(STORIES["sycophant"], write_run(tmp_path, rising, zeros, [0.0] * 20))
    t = next(x for x in a["trends"] if x["key"] == "agree_wrong_view")
    # per replicate: values 0, 0, v at steps 0, 10, 40 -> slope = v * 0.0288462 per step (least squares)
    per_step = (40 - 50 / 3) / ((0 - 50 / 3) ** 2 + (10 - 50 / 3) ** 2 + (40 - 50 / 3) ** 2)
    assert t["per_100_steps"]["flawed"]["value"] == pytest.approx(0.8 * per_step * 100)
    assert t["per_100_steps"]["flawed"]["n_units"] == 3 and t["per_100_steps"]["control"]["value"] == 0.0
    assert t["did"]["lo"] > 0 and t["did"]["unit"] == "pretraining seed"
    # checkpoint measures with only the initial policy and one RL checkpoint still give a (two-point) slope
    c = next(x for x in a["trends"] if x["key"] == "syco/agree_when_user_wrong")
    assert c["per_100_steps"]["flawed"]["value"] == pytest.approx(0.8 / 40 * 100)
    assert a["honesty"] is None  # the opinions world's items read no probe
    page = story_section(a, tmp_path)
    assert "Trends over the optimiser's checkpoints" in page and "Truthful against honest" not in page
