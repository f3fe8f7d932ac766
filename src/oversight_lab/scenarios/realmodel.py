"""The alchemist on a real instruction-tuned model (SmolLM2-135M-Instruct), at a budget 2 CPU cores can run.

``oversight-lab models add smollm2-135m-instruct`` first. The loop is :mod:`oversight_lab.loop_english`:
English chats through the model's template, a reward model on its frozen features, best-of-n over a pool of
its samples, GRPO with LoRA. The budget here is the CPU one documented in docs/realmodel.md;
benchmarks/bench_realmodel_gpu.py runs the full budget on a GPU.
"""

from __future__ import annotations

from typing import Any

from oversight_lab.scenarios import Scenario, register_scenario

__all__ = ["CPU_BUDGET", "GPU_BUDGET"]

# Every sample costs a prefill of the ~165-token chat (~1-2 s on one CPU thread), so samples are few: on the
# shared 2-core machine one arm of the smoke budget (10 comparisons, 2 RL steps) took 501 s.
CPU_BUDGET: dict[str, Any] = {
    "policy": "hf:smollm2-135m-instruct",
    "seeds": 1,
    "workers": 2,  # the two arms side by side, one torch thread each
    "max_new_tokens": 24,
    "feedback.n_comparisons": 16,
    "reward.steps": 200,
    "reward.lr": 0.01,
    "reward.holdout_fraction": 0.25,
    "bon.pool_size": 4,
    "bon.n_tasks": 4,
    "rl.steps": 2,
    "rl.num_generations": 2,
    "rl.prompts_per_step": 2,
    "rl.lr": 0.0005,
    "rl.beta": 0.05,
    "rl.checkpoint_every": 2,
    "eval.n_tasks": 4,
    "eval.samples_per_task": 2,
    "dpo.enabled": False,
}
# The same story at the tiny model's budget (benchmarks/bench_realmodel_gpu.py, on a GPU).
GPU_BUDGET: dict[str, Any] = {
    **CPU_BUDGET,
    "seeds": 3,
    "feedback.n_comparisons": 800,
    "bon.pool_size": 64,
    "bon.n_tasks": 32,
    "rl.steps": 40,
    "rl.num_generations": 8,
    "rl.prompts_per_step": 8,
    "rl.checkpoint_every": 10,
    "eval.n_tasks": 32,
    "eval.samples_per_task": 4,
}

register_scenario(
    Scenario(
        name="alchemist_smollm2",
        description=(
            "Scenario 2 of the essay on a real chat model (SmolLM2-135M-Instruct, in English): the flawed "
            "evaluator against the expert, under best-of-n and RL with LoRA, at a 2-core CPU budget."
        ),
        sources=(
            "the essay, 'Scenario 2 (the betrayal)'",
            "Allal et al. 2025, SmolLM2 (HuggingFaceTB/SmolLM2-135M-Instruct, Apache-2.0)",
        ),
        overrides=CPU_BUDGET,
    )
)
