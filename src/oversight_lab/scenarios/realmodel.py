"""The alchemist on a real instruction-tuned model (SmolLM2-135M-Instruct), at a budget 2 CPU cores can run.

The scenario is ``oversight_lab/data/scenarios/alchemist_smollm2.yaml`` (its overrides are the CPU budget
documented in docs/realmodel.md); ``GPU_BUDGET`` adds ``shared/smollm2_gpu_budget.yaml`` on top, the budget
benchmarks/bench_realmodel_gpu.py runs on a GPU.
"""

from __future__ import annotations

from typing import Any

from oversight_lab.scenarios import get_scenario
from oversight_lab.scenarios.loader import shared

__all__ = ["CPU_BUDGET", "GPU_BUDGET"]

CPU_BUDGET: dict[str, Any] = get_scenario("alchemist_smollm2").overrides
GPU_BUDGET: dict[str, Any] = {**CPU_BUDGET, **shared("smollm2_gpu_budget")}
