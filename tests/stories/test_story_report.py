"""The story analysis and verdicts on hand-made run directories (no training)."""

import json

import pytest

from oversight_lab.report.stories import analyse_story, verdict
from oversight_lab.scenarios.stories import STORIES


def write_run(
    tmp_path, flawed_after: list[float], control_after: list[float], before: list[float], seeds=(0, 1, 2)
):
    rows = []
    for arm, after in (("flawed", flawed_after), ("control", control_after)):
        for s in seeds:
            items = [
                {
                    "arm": arm,
                    "seed": s,
                    "optimizer": opt,
                    "step": step,
                    "item": f"f{i}",
                    "agree_wrong_view": v,
                    "agree_wrong_identity": v,
                    "consistent": 1.0 - v,
                    "flipped": 0.0,
                }
                for opt, step, vals in (("initial", 0, before), ("rl", 10, before), ("rl", 40, after))
                for i, v in enumerate(vals)
            ]
            d = tmp_path / "arms" / arm / f"seed-{s}"
            d.mkdir(parents=True)
            (d / "items.jsonl").write_text("\n".join(json.dumps(r) for r in items))
            for opt, step, vals in (("initial", 0, before), ("rl", 40, after)):
                rows.append(
                    {
                        "arm": arm,
                        "seed": s,
                        "optimizer": opt,
                        "step": step,
                        "syco/agree_when_user_wrong": sum(vals) / len(vals) + 0.01 * s,
                        "gold/mean": 0.5,
                    }
                )
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return tmp_path


def test_emerged_under_flaw_only(tmp_path):
    run = write_run(tmp_path, flawed_after=[1.0] * 20, control_after=[0.0] * 20, before=[0.0] * 20)
    a = analyse_story(STORIES["sycophant"], run)
    m = a["measures"][0]
    f = m["arms"]["flawed"]
    assert (f["before"], f["after"], f["change"], f["n"]) == (0.0, 1.0, 1.0, 60)
    assert f["mcnemar"]["b"] == 0 and f["mcnemar"]["c"] == 60
    assert f["mcnemar"]["p"] == pytest.approx(2 * 0.5**60)
    assert m["arms"]["control"]["change"] == 0.0 and m["did"]["value"] == 1.0
    assert m["status"] == "emerged"
    assert a["verdict"].startswith("sycophant: agreement with a user who is wrong emerged under the flawed")
    assert "0.00 → 1.00 flawed" in a["verdict"]
    consistency = next(x for x in a["measures"] if x["key"] == "consistent")
    assert consistency["status"] == "emerged"  # a fall is the failure for consistency
    sampled = next(x for x in a["measures"] if x["source"] == "checkpoint")
    assert sampled["arms"]["flawed"]["change"] == pytest.approx(1.0) and sampled["arms"]["flawed"]["n"] == 3


def test_emerged_under_both_and_not_at_all(tmp_path):
    half = [1.0] * 10 + [0.0] * 10
    a = analyse_story(STORIES["sycophant"], write_run(tmp_path / "a", [1.0] * 20, [1.0] * 20, [0.0] * 20))
    assert a["measures"][0]["status"] == "both" and "emerged under both" in a["verdict"]
    b = analyse_story(STORIES["sycophant"], write_run(tmp_path / "b", half, half, half))
    assert b["measures"][0]["status"] == "none" and "did not emerge significantly at this scale" in b["verdict"]
    assert (
        verdict({"name": "x", "failure": "f", "measures": [{"label": "l", "arms": {}, "status": "n/a"}]})
        == "x: no data for l."
    )
