"""Behaviour unchanged: a default run on a tiny budget gives the numbers recorded before the refactor of
issue 16 (``tests/data/tiny_alchemist_before_issue16.json``, from commit e275f0a), row for row.

Four arms cover the evaluator kinds the loop builds (simulated, expert, assisted, chain), the reward-model and
best-of-n caches are on (each filled and then read back inside the one run), and every optimiser keeps the
run config's defaults except its budget. CPU kernels differ across processor models, so the comparison is
exact on the kind of machine the numbers were recorded on and skipped (saying why) elsewhere.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RECORDED = Path(__file__).parents[1] / "data" / "tiny_alchemist_before_issue16.json"


def _cpu() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        return None


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def test_tiny_default_run_gives_the_recorded_numbers(tmp_path: Path) -> None:
    import torch

    recorded = json.loads(RECORDED.read_text())
    if _cpu() != recorded["cpu"] or torch.__version__ != recorded["torch"]:
        pytest.skip(f"numbers recorded on {recorded['cpu']} with torch {recorded['torch']}; "
                    f"this machine: {_cpu()}, torch {torch.__version__}")
    args = [sys.executable, "-m", "oversight_lab.cli", "run", "--quiet", "--out", str(tmp_path / "run")]
    # the recording ran the defaults of e275f0a: one pretrained evaluatee, and the alchemist's arms of then
    # (issue 11 since made the flawed evaluator's blind spot whole and its control an imperfect human)
    then = ["pretrain_seeds=1",
            "arms.flawed={kind: simulated, flaws: [{kind: incomplete_criteria, known_fraction: 0.25}, "
            "{kind: noise, temperature: 0.1}]}",
            "arms.control={kind: expert, flaws: [{kind: noise, temperature: 0.1}]}"]
    for item in [*then, *recorded["sets"]]:
        args += ["--set", item]
    src = str(Path(__file__).parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    want = recorded["rows"]
    assert len(rows) == len(want)
    for got, exp in zip(rows, want, strict=True):
        assert got.pop("pretrain_seed") == 0  # rows now name their pretraining seed
        assert got.keys() == exp.keys(), (got, exp)
        different = {k: (got[k], exp[k]) for k in exp if not _same(got[k], exp[k])}
        assert not different, f"{exp['arm']} {exp['optimizer']} step {exp['step']}: {different}"
