"""Smoke: the alchemist story on SmolLM2-135M-Instruct runs to the end through the CLI at a tiny budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SMOKE = {
    "feedback.n_comparisons": 10,
    "reward.steps": 100,
    "bon.pool_size": 4,
    "bon.n_tasks": 2,
    "rl.steps": 2,
    "rl.num_generations": 2,
    "rl.prompts_per_step": 2,
    "rl.checkpoint_every": 2,
    "eval.n_tasks": 2,
    "eval.samples_per_task": 2,
    "max_new_tokens": 16,
}


def test_alchemist_smollm2_runs_to_the_end(smollm2_path: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    sets = [f"--set={k}={v}" for k, v in SMOKE.items()]
    cmd = [
        sys.executable,
        "-m",
        "oversight_lab.cli",
        "run",
        "alchemist_smollm2",
        "--quiet",
        "--out",
        str(out),
        *sets,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ}, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for arm in ("flawed", "control"):
        arm_dir = next((out / "arms" / arm).iterdir())
        rows = [json.loads(line) for line in (arm_dir / "metrics.jsonl").read_text().splitlines()]
        optimisers = {r["optimizer"] for r in rows}
        assert {"initial", "bon", "rl"} <= optimisers
        for r in rows:  # gold, proxy and mercury use at every checkpoint
            for key in ("gold/mean", "proxy/mean", "fail/toxic", "fail/unparseable"):
                assert key in r and r[key] == r[key], (arm, r["optimizer"], key)
            assert -1.0 <= r["gold/mean"] <= 1.0
        assert [r["step"] for r in rows if r["optimizer"] == "rl"] == [0, 2]
        summary = json.loads((arm_dir / "summary.json").read_text())
        assert summary["language"] == "english" and summary["model"] == smollm2_path
        assert (arm_dir / "checkpoints" / "rl-lora" / "adapter_config.json").exists()
        cmps = (arm_dir / "comparisons.jsonl").read_text().splitlines()
        assert len(cmps) == 10
