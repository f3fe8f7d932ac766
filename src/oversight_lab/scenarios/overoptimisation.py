"""The classic reward-model overoptimisation results at CPU scale, and the essay's variation on them.

* ``gao`` — Gao, Schulman & Hilton (2022), "Scaling Laws for Reward Model Overoptimization": gold is the
  world's expert; proxy reward models of three sizes (tiny GPT-2 backbones ``tiny:1x16``, ``tiny:1x32``,
  ``tiny:2x64``, the last being the evaluatee's own) trained on three amounts of comparison data;
  best-of-n up to n = 10⁴ from one pool per task with the unbiased estimator (Nakano et al. 2021), RL with
  checkpoints along KL; R_bon(d) = d(α − βd) and R_RL(d) = d(α − β log d) fitted per cell. Two evaluators
  produce the comparisons: ``expert`` (gold with Bradley–Terry noise: Gao's own setting, where the proxy is
  wrong only through finite data and capacity) and ``flawed`` (the essay's incomplete criteria: a quarter of
  the mercury-bearing ingredients known).
* ``coste`` — Coste, Anwar, Kirk & Krueger (2023), "Reward Model Ensembles Help Mitigate Overoptimization":
  a single reward model against ensembles of five with mean, worst-case (min) and uncertainty-weighted
  (mean − λ·var) objectives, under best-of-n and RL; once with 25% label noise as in the paper, and once
  with the essay's structured flaws (incomplete criteria here; hidden information, ``HIDDEN``, in the grid
  ``examples/grids/coste-hidden.yaml``) — a question the papers did not ask. Objectives are compared seed by
  seed (the same comparisons train every objective).

Both are multi-config experiments: the scenario's overrides are one cell (``oversight-lab run gao`` runs the
evaluatee-sized reward model on 1,000 comparisons), and the shipped grid of the same name is the experiment
(``oversight-lab sweep gao``, the grids in ``oversight_lab/data/grids/``). The analyses
(:mod:`oversight_lab.analyses.overopt`) read a finished sweep and are stored in its ``sweep.json``;
``report/overopt.py`` draws them. KL for best-of-n is the analytic log n − (n−1)/n, as in Gao et al.; it is an
upper bound for a discrete policy (Beirami et al. 2024), and every row also carries the plug-in exact KL of
best-of-n over the pool (``kl/bon_exact_pool``), which the analysis reports beside it.
"""

from __future__ import annotations

from dataclasses import replace

from oversight_lab.scenarios import SCENARIOS, Preregistration, Scenario, register_scenario

__all__ = ["COMMON", "EXPERT", "HIDDEN", "INCOMPLETE", "LABEL_NOISE", "SOURCES"]

SOURCES = (
    "Gao, Schulman & Hilton 2022, Scaling Laws for Reward Model Overoptimization",
    "Coste, Anwar, Kirk & Krueger 2023, Reward Model Ensembles Help Mitigate Overoptimization",
    "Nakano et al. 2021, WebGPT (appendix: the unbiased best-of-n estimator)",
    "Beirami et al. 2024, Theoretical guarantees on the best-of-n alignment policy",
    "the essay, 'Flawed evaluations might lead to catastrophic alignment failures'",
)
NOISE = {"kind": "noise", "temperature": 0.1}
EXPERT = {"kind": "expert", "flaws": [NOISE]}
INCOMPLETE = {"kind": "simulated", "flaws": [{"kind": "incomplete_criteria", "known_fraction": 0.25}, NOISE]}
HIDDEN = {"kind": "simulated", "flaws": [{"kind": "hidden_information", "budget": 1}, NOISE]}
LABEL_NOISE = {"kind": "expert", "flaws": [{"kind": "noise", "temperature": 0.1, "flip_rate": 0.25}]}

# Shared by both: a pool of 10^4 samples on each of 8 held-out tasks (sampled once per seed and cached, since
# it depends on the initial policy only), RL far along KL with a checkpoint every 5 steps, no DPO.
COMMON = {
    "dpo.enabled": False,
    "bon.pool_size": 10_000,
    "bon.n_tasks": 8,
    "bon.cache_pool": True,
    "rl.steps": 40,
    "rl.checkpoint_every": 5,
    "rl.beta": 0.0,
    "rl.lr": 2e-4,
    "eval.n_tasks": 32,
    "eval.samples_per_task": 4,
}

register_scenario(
    Scenario(
        name="gao",
        description=(
            "Gao et al. 2022 at CPU scale: gold vs proxy under best-of-n (n ≤ 10⁴) and RL for reward "
            "models of 3 sizes × 3 data sizes; `oversight-lab sweep gao` runs the grid and fits α, β."
        ),
        sources=SOURCES,
        overrides={
            **COMMON,
            "arms": {"expert": EXPERT, "flawed": INCOMPLETE},
            "reward.backbone": "tiny:2x64",
            "feedback.n_comparisons": 1000,
            # the fits need smooth curves: a best-of-n curve is a step function per task, and with 8 tasks the
            # mean over tasks kept their steps (2x64 / 250 comparisons: R² 0.48 with 8 tasks, 0.90 with 32)
            "bon.n_tasks": 32,
        },
    )
)
register_scenario(
    Scenario(
        name="coste",
        description=(
            "Coste et al. 2023: ensembles (mean, min, mean − λ·var) against one reward model, under 25% "
            "label noise and under structured flaws; `oversight-lab sweep coste` runs the four objectives."
        ),
        sources=SOURCES,
        overrides={
            **COMMON,
            # the essay's other flaw, hidden information, is its own grid: examples/grids/coste-hidden.yaml
            "arms": {"label_noise": LABEL_NOISE, "incomplete_criteria": INCOMPLETE},
            "feedback.n_comparisons": 1000,
            "reward.cache": True,  # the mean, min and uwo cells combine one trained ensemble per (arm, seed)
        },
    )
)

# Pre-registrations, declared 2026-12-01 before any confirmation run (docs/overoptimisation.md is exploratory).
SCENARIOS["gao"] = replace(SCENARIOS["gao"], prereg=Preregistration(
    primary="bon_gold_peak − bon_gold_max_n: the fall of best-of-n gold from its peak", optimizer="bon",
    direction="up", min_effect=0.05, contrast="per replicate, against 0, in each (reward-model size, data) cell"))
SCENARIOS["coste"] = replace(SCENARIOS["coste"], prereg=Preregistration(
    primary="gold drop from the peak under best-of-n and RL", optimizer="rl", direction="down", min_effect=0.05,
    contrast="each ensemble objective − the single reward model (paired within replicates)"))
