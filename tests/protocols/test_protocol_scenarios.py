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
    assert set(adv["arms"]) == {"unaided", "assisted", "expert"}
    for v in adv["arms"].values():
        assert v["gap"]["mean"] == pytest.approx(v["gold_train"]["mean"] - v["gold_deploy"]["mean"])
