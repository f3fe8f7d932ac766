"""The five protocol scenarios: listed, runnable through the CLI, analysed into protocol.json and .html."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_lab.scenarios import SCENARIOS

NAMES = ("rlaif", "assisted", "layers", "advantage", "sandwich")
TINY = [
    "feedback.n_comparisons=80",
    "reward.steps=10",
    "bon.pool_size=8",
    "bon.n_tasks=8",
    "rl.enabled=false",
    "eval.n_tasks=8",
    "eval.samples_per_task=2",
]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oversight_lab.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=900,
    )


def test_scenarios_are_registered_with_one_line_descriptions():
    for name in NAMES:
        sc = SCENARIOS[name]
        assert sc.description and "\n" not in sc.description and sc.sources
        assert sc.overrides["protocol"]["analysis"] == name
        assert len(sc.overrides["arms"]) >= 3


def test_list_shows_the_protocols(tmp_path):
    res = cli("list", cwd=tmp_path)
    assert res.returncode == 0
    for name in NAMES:
        assert name in res.stdout


@pytest.mark.slow
def test_sandwich_runs_end_to_end_and_reports_gap_with_cis(tmp_path):
    args = ["run", "sandwich", "--pretrain-seeds", "1", "--seeds", "2", "--workers", "2", "--quiet", "--out", "r"]
    for s in TINY:
        args += ["--set", s]
    res = cli(*args, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "sandwich gap" in res.stdout
    run = tmp_path / "r"
    proto = json.loads((run / "analysis.json").read_text())
    sg = proto["sandwich_gap"]
    assert len(sg["per_seed"]) == 2 and "lo" in sg and "conditional on one pretraining seed" in sg["method"]
    acc = proto["accuracy"]
    assert acc["expert"]["mean"] > acc["unaided"]["mean"]  # the expert is the better judge of its own gold
    assert "pgr_bon_max" in proto
    html = (run / "protocol.html").read_text()
    assert "data:image/png;base64," in html and "sandwich gap" in html
    assert proto["kind"] == "protocol" and proto["analysis"] == "sandwich"

    # the same run directory, read by the advantage analysis: train (n ≤ 2) vs deploy (n = 8) gold
    from oversight_lab.analyses.protocols import ANALYSES, arm_seed_table
    from oversight_lab.runs.rundir import load_run

    config, rows, _ = load_run(run)
    table = arm_seed_table(run, config, rows)
    adv = ANALYSES["advantage"](table, rows, {"n_train": 2, "n_deploy": 8, "units": [(0, 0), (0, 1)]})
    assert set(adv["arms"]) == {"unaided", "assisted", "model", "expert"}
    for v in adv["arms"].values():
        assert v["gap"]["mean"] == pytest.approx(v["gold_train"]["mean"] - v["gold_deploy"]["mean"])


def test_advantage_grid_against_hand_computed_rows():
    """Failure on the (evaluator budget × best-of-n) grid, the n at which it appears, the contrast."""
    from oversight_lab.analyses.protocols import ANALYSES
    from oversight_lab.report.protocols import headline_lines

    def row(arm, seed, n, fail, gold):
        return {"arm": arm, "seed": seed, "optimizer": "bon", "step": n, "gold/mean": gold,
                "fail/undisclosed_toxic": fail}

    rows = []
    for s in (0, 1):
        for n, f1 in ((1, 0.05), (4, 0.2 + 0.1 * s), (16, 0.5)):
            rows += [row("budget_1", s, n, f1, 0.3 - f1), row("budget_2", s, n, 0.0, 0.3)]
    table = {a: {0: {"acc/expected": 0.8}, 1: {"acc/expected": 0.9}} for a in ("budget_1", "budget_2")}
    p = {"n_train": 1, "n_deploy": 16, "failure_threshold": 0.1, "contrast_arms": ["budget_1", "budget_2"],
         "units": [(0, 0), (0, 1)]}
    r = ANALYSES["advantage"](table, rows, p)
    assert r["ns"] == [1, 4, 16] and r["rl_steps"] == []
    b1, b2 = r["arms"]["budget_1"], r["arms"]["budget_2"]
    assert b1["grid"][4]["failure"]["mean"] == pytest.approx(0.25)
    assert b1["onset_n"] == 4 and b2["onset_n"] is None
    assert b1["failure_deploy"]["mean"] == pytest.approx(0.5)
    assert r["contrast"]["mean"] == pytest.approx(0.5) and r["contrast"]["arms"] == ["budget_1", "budget_2"]
    assert b1["gap"]["mean"] == pytest.approx(0.25 - (-0.2))
    lines = headline_lines({"analysis": "advantage", **r})
    assert lines[0].startswith("fail/undisclosed_toxic at best-of-16, budget_1 − budget_2: 0.500")
    assert any("budget_1" in ln and "up by 0.1 over n = 1 at n = 4" in ln for ln in lines)
    assert any("budget_2" in ln and "never up by 0.1" in ln for ln in lines)
