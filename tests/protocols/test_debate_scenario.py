"""The debate scenario: registered with its pre-registration, its analysis computed as defined from a run
directory, and (slow) ``oversight-lab run debate`` end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from oversight_lab.config import replicates, resolve_config
from oversight_lab.scenarios import SCENARIOS


def test_debate_is_registered_with_a_preregistration():
    sc = SCENARIOS["debate"]
    assert sc.prereg is not None and sc.prereg.direction == "up" and sc.prereg.min_effect > 0
    assert "debate" in sc.prereg.primary and "consultancy" in sc.prereg.primary
    cfg = resolve_config({**sc.overrides, "scenario": "debate"}, {})
    assert cfg.debate.enabled and cfg.protocol["analysis"] == "debate" and list(cfg.arms) == ["judge"]
    with pytest.raises(Exception, match="n_values"):
        resolve_config({**sc.overrides, "scenario": "debate"}, {"debate.n_values": [0, 4]})
    with pytest.raises(Exception, match="debate.turns"):
        resolve_config({**sc.overrides, "scenario": "debate"}, {"debate.turns": 3})


def test_check_inputs_refuses_what_the_debate_experiment_cannot_run():
    from oversight_lab.config import ConfigError, check_inputs

    sc = SCENARIOS["debate"]
    for sets, key in (({"world": "opinions"}, "'world'"), ({"policy": "hf:some-model"}, "'policy'"),
                      ({"world_params": {"n_ingredients": 8}, "debate.question_size": 5},
                       "'debate.question_size'")):
        cfg = resolve_config({**sc.overrides, "scenario": "debate"}, sets)
        with pytest.raises(ConfigError, match=key):
            check_inputs(cfg)
    check_inputs(resolve_config({**sc.overrides, "scenario": "debate"}, {}))


def _run_dir(tmp_path: Path, values) -> tuple[Path, list[tuple[int, int]]]:
    """A run directory of 3 pretraining seeds × 2 RLHF seeds of debate rows from ``values(unit, step, n)``."""
    sc = SCENARIOS["debate"]
    cfg = resolve_config({**sc.overrides, "scenario": "debate"}, {"pretrain_seeds": 3, "seeds": 2})
    units = replicates(cfg)
    (tmp_path / "config.json").write_text(json.dumps(cfg.model_dump()))
    rows = []
    for p, s in units:
        for step in (0, 40):
            for n in (1, 16):
                judge, cons, deb = values((p, s), step, n)
                rows.append({"arm": "judge", "seed": s, "pretrain_seed": p, "optimizer": "debate",
                             "step": step, "n": n, "debate/acc_judge": judge, "debate/acc_consultancy": cons,
                             "debate/acc_debate": deb, "debate/debate_minus_consultancy": deb - cons})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path, units


def test_the_analysis_takes_the_contrast_at_the_strongest_debaters_over_pretraining_seeds(tmp_path):
    def values(unit, step, n):
        p, s = unit
        strong = step == 40 and n == 16
        return 0.6, 0.7 + 0.01 * s, (0.9 + 0.03 * p if strong else 0.7)

    from oversight_lab.analyses.debate import analyse_debate

    run_dir, units = _run_dir(tmp_path, values)
    r = analyse_debate(run_dir)
    # per replicate: 0.2 + 0.03 p − 0.01 s; RLHF seeds averaged within each pretraining seed, then the mean
    pres = sorted({p for p, _ in units})
    per_pre = [np.mean([0.2 + 0.03 * p - 0.01 * s for q, s in units if q == p]) for p in pres]
    assert r["primary"]["mean"] == pytest.approx(np.mean(per_pre))
    assert r["primary"]["lo"] < r["primary"]["mean"] < r["primary"]["hi"]
    assert "3 pretraining seed" in r["primary"]["method"]
    assert r["steps"] == [0, 40] and r["n_values"] == [1, 16]
    assert [c["mean"] for c in r["by_n"]["judge"]] == pytest.approx([0.6, 0.6])
    assert r["by_step"]["debate"][0]["mean"] == pytest.approx(0.7)
    assert r["weakest"]["mean"] == pytest.approx(np.mean([-0.01 * s for _, s in units]))  # balanced design
    assert r["holds"] and "holds" in r["verdict"] and "exploratory" in r["verdict"]


def test_the_analysis_says_when_the_contrast_does_not_hold(tmp_path):
    from oversight_lab.analyses.debate import analyse_debate

    run_dir, _ = _run_dir(tmp_path, lambda unit, step, n: (0.6, 0.8, 0.8 + 0.01 * unit[0]))
    r = analyse_debate(run_dir)
    assert not r["holds"] and "does not hold" in r["verdict"]
    assert r["primary"]["mean"] == pytest.approx(0.01)


def test_report_renders_the_debate_analysis(tmp_path):
    from oversight_lab.analyses.debate import analyse_debate
    from oversight_lab.report.protocols import headline_lines, render_protocol_report

    run_dir, _ = _run_dir(tmp_path, lambda unit, step, n: (0.6, 0.7, 0.9))
    r = analyse_debate(run_dir)
    lines = headline_lines(r)
    assert lines[0] == r["verdict"] and any(line.startswith("debate: accuracy 0.900") for line in lines)
    page = render_protocol_report(r)
    assert "<img" in page and "verifies every quoted fact" in page


@pytest.mark.slow
def test_run_debate_end_to_end(tmp_path):
    args = ["run", "debate", "--pretrain-seeds", "1", "--seeds", "2", "--quiet", "--out", "r",
            "--set", "debate.rl_steps=4", "--set", "debate.checkpoint_every=2",
            "--set", "debate.n_values=[1,4]",
            "--set", "debate.n_questions=16", "--set", "debate.prompts_per_step=4"]
    res = subprocess.run([sys.executable, "-m", "oversight_lab.cli", *args], cwd=tmp_path,
                         capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    run = tmp_path / "r"
    analysis = json.loads((run / "analysis.json").read_text())
    assert analysis["analysis"] == "debate" and analysis["steps"] == [0, 2, 4]
    assert analysis["n_values"] == [1, 4]
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 3 * 2  # replicates × checkpoints × n
    assert all(0.0 <= r[f"debate/acc_{p}"] <= 1.0 for r in rows for p in ("judge", "consultancy", "debate"))
    transcripts = (run / "arms" / "judge" / "seed-0" / "transcripts.jsonl").read_text().splitlines()
    assert transcripts and all("sides" in json.loads(t) for t in transcripts)
    assert (run / "protocol.html").exists() and "debate [exploratory]" in res.stdout
