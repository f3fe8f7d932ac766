"""Dose–response analysis and report on hand-made run directories (no training); ``run --dose``'s checks."""

import html
import json
import os
import subprocess
import sys

import pytest

from oversight_lab.analyses import analyse_run, analysis_kind
from oversight_lab.analyses.dose import analyse_dose
from oversight_lab.config import resolve_config
from oversight_lab.report.dose import dose_section
from oversight_lab.scenarios import SCENARIOS
from oversight_lab.scenarios.stories import STORIES, Dose, dose_arms

REPLICATES = [(p, s) for p in range(3) for s in (2 * p, 2 * p + 1)]


def write_dose_run(tmp_path, failure_after, story="alchemist"):
    """``failure_after(i, p) -> value`` of the story's (checkpoint) primary measure after RL at dose ``i``."""
    values = STORIES[story].dose.values
    rows = []
    for i in range(len(values)):
        for p, s in REPLICATES:
            for opt, step, fail, gold in (("initial", 0, 0.1, 0.6),
                                          ("rl", 40, failure_after(i, p), 0.6 - failure_after(i, p))):
                rows.append({"arm": f"dose-{i}", "pretrain_seed": p, "seed": s, "optimizer": opt,
                             "step": step, "fail/undisclosed_toxic": fail, "gold/mean": gold})
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "prereg.json").write_text(json.dumps({"seed_block": "dev", "overrides": ["--dose"]}))
    return tmp_path


def test_failure_appears_where_the_dose_passes_the_minimum_effect(tmp_path):
    # no change at doses 0 and 1; +0.3 (± 0.02 by pretrained model) from dose 2 on
    a = analyse_dose(STORIES["alchemist"], write_dose_run(
        tmp_path, lambda i, p: 0.1 if i < 2 else 0.4 + 0.02 * (p - 1)))
    f = a["failure_by_dose"]
    assert [d["n_replicates"] for d in f] == [6] * 5 and "vs_none" not in f[0]
    assert f[1]["vs_none"]["value"] == pytest.approx(0.0) and f[3]["vs_none"]["value"] == pytest.approx(0.3)
    assert f[3]["vs_none"]["lo"] > 0.2 and f[3]["vs_none"]["n_units"] == 3  # over pretraining seeds
    assert f[3]["after"]["unit"] == "pretraining seed"
    assert a["onset"] == 0.5  # known_fraction values (1, 0.75, 0.5, ...): the third
    g = a["gold_by_dose"]
    assert g[4]["after"]["value"] == pytest.approx(0.2) and g[0]["after"]["value"] == pytest.approx(0.5)
    assert "appears at known_fraction = 0.5" in a["verdict"] and "exploratory" in a["verdict"]
    html = dose_section(a)
    assert "data:image/png;base64," in html and a["question"] in html and "onset" in html.lower()


def test_a_change_below_the_minimum_effect_has_no_onset(tmp_path):
    a = analyse_dose(STORIES["alchemist"], write_dose_run(tmp_path, lambda i, p: 0.1 + 0.01 * i + 0.001 * p))
    assert a["onset"] is None and "does not appear significantly" in a["verdict"]


def test_a_dose_run_is_recognised_by_its_arms(tmp_path):
    cfg = resolve_config({**SCENARIOS["banker"].overrides, "scenario": "banker"}, {})
    arms = dose_arms(cfg.arms["flawed"].model_dump(), STORIES["banker"].dose)
    assert list(arms) == [f"dose-{i}" for i in range(5)]
    kf = [next(f for f in a["flaws"] if f["kind"] == "incomplete_criteria")["known_fraction"]
          for a in arms.values()]
    assert kf == [1.0, 0.75, 0.5, 0.25, 0.0]
    # every other flaw of the flawed arm is kept (the imperfect human)
    kinds = {f["kind"] for f in cfg.arms["flawed"].flaws}
    assert all({f["kind"] for f in a["flaws"]} == kinds for a in arms.values())
    assert analysis_kind({"scenario": "banker", "arms": arms}) == "dose"
    assert analysis_kind({"scenario": "banker", "arms": {"flawed": {}, "control": {}}}) == "story"
    with pytest.raises(ValueError, match="no flaw 'agreement_bias'"):
        dose_arms(cfg.arms["flawed"].model_dump(), STORIES["sycophant"].dose)
    with pytest.raises(ValueError, match="at least two values"):
        Dose("noise", "temperature", (0.1,), "x")
    run = write_dose_run(tmp_path, lambda i, p: 0.1 + 0.1 * i)
    dose_config = {"scenario": "alchemist", "arms": {f"dose-{i}": {} for i in range(5)}}
    (run / "config.json").write_text(json.dumps(dose_config))
    assert analyse_run(run)["kind"] == "dose" and (run / "analysis.json").exists()


def test_every_story_declares_a_dose_and_a_question():
    for name, story in STORIES.items():
        assert story.dose is not None and story.question.endswith("?"), name
        cfg = resolve_config({**SCENARIOS[name].overrides, "scenario": name}, {})
        assert story.dose.flaw in {f["kind"] for f in cfg.arms["flawed"].flaws}, name


@pytest.mark.parametrize("args,message", [
    (["gao", "--dose"], "--dose: 'gao' is not a story with a dose"),
    (["banker", "--dose", "--set", "rl.stepz=3"], "unknown config key 'rl.stepz'"),
    (["gao", "--with-dose"], "--dose: 'gao' is not a story with a dose"),
    (["banker", "--with-dose", "--dose"], "--with-dose runs a story and then its dose-response"),
    (["banker", "--with-dose", "--set", "rl.stepz=3"], "unknown config key 'rl.stepz'"),
])
def test_dose_bad_input(tmp_path, args, message):
    res = subprocess.run([sys.executable, "-m", "oversight_lab.cli", "run", *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_run_dose_writes_a_curve(tmp_path):
    """``run omission --with-dose`` on one replicate and a tiny budget: the story, then an arm per dose in
    RUN/dose, the dose analysis and plot, and the story's report plotting it."""
    story = tmp_path / "story"
    out = story / "dose"
    res = subprocess.run(
        [sys.executable, "-m", "oversight_lab.cli", "run", "omission", "--with-dose", "--pretrain-seeds", "1",
         "--seeds", "1", "--set", "rl.steps=10", "--set", "bon.pool_size=8", "--set", "bon.n_tasks=8",
         "--set", "eval.n_tasks=8", "--set", "feedback.n_comparisons=200", "--set", "reward.steps=30",
         "--quiet", "--out", str(story)],
        cwd=tmp_path, capture_output=True, text=True, timeout=1800, env=os.environ.copy())
    assert res.returncode == 0, res.stderr[-2000:]
    story_analysis = json.loads((story / "analysis.json").read_text())
    assert story_analysis["kind"] == "story" and story_analysis["dose"]["kind"] == "dose"
    assert "dose–response of" in (story / "report.html").read_text()
    a = json.loads((out / "analysis.json").read_text())
    assert a["kind"] == "dose" and [d["value"] for d in a["failure_by_dose"]] == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert all(d["n_replicates"] == 1 for d in a["failure_by_dose"])
    assert json.loads((out / "prereg.json").read_text())["overrides"][-1] == "--dose"
    report = (out / "report.html").read_text()
    assert "dose–response" in report and "data:image/png;base64," in report
    assert html.escape(a["verdict"]) in report
    assert "omission dose [exploratory]" in res.stdout


def test_a_story_run_plots_the_dose_run_kept_beside_it(tmp_path):
    """``run NAME --dose --out RUN/dose``: the story's analysis carries the dose analysis and its report plots
    it; without one, the report says how to add it."""
    from oversight_lab.report.stories import story_section

    story_dir = tmp_path / "story"
    rows = [{"arm": arm, "pretrain_seed": p, "seed": s, "optimizer": opt, "step": step,
             "fail/undisclosed_toxic": v, "gold/mean": 0.5}
            for arm, after in (("flawed", 0.6), ("control", 0.1)) for p, s in REPLICATES
            for opt, step, v in (("initial", 0, 0.1), ("rl", 40, after + 0.01 * p))]
    story_dir.mkdir()
    (story_dir / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (story_dir / "config.json").write_text(json.dumps({"scenario": "alchemist",
                                                       "arms": {"flawed": {}, "control": {}}}))
    (story_dir / "prereg.json").write_text(json.dumps({"seed_block": "dev", "overrides": []}))
    a = analyse_run(story_dir)
    assert a["kind"] == "story" and "dose" not in a
    assert "--dose --out RUN/dose" in story_section(a, story_dir)
    (story_dir / "dose").mkdir()
    write_dose_run(story_dir / "dose", lambda i, p: 0.1 if i < 2 else 0.4 + 0.02 * (p - 1))
    a = analyse_run(story_dir)
    assert a["dose"]["onset"] == 0.5 and a["dose"]["kind"] == "dose"
    page = story_section(a, story_dir)
    assert "<h3>alchemist: dose–response of" in page and page.count("data:image/png;base64,") >= 2
