"""The oversight loop on a real chat model, in English: comparisons → reward model → best-of-n, RL with LoRA.

``loop.run_arm`` hands a run here when its policy is a Hugging Face chat model (a tokenizer with a chat
template, e.g. ``hf:smollm2-135m-instruct``) and its world has an English form. Read top to bottom:

1. tasks become chats (:func:`oversight_lab.worlds.english.chat_messages` through the model's own template);
   the world is wrapped in :class:`~oversight_lab.worlds.english.EnglishWorld`, so answers are parsed from
   English, unparseable ones are counted (``fail/unparseable``) and score gold's worst;
2. the arm's evaluator compares pairs of the model's sampled answers → comparison records;
3. the proxy: a Bradley–Terry head on the frozen model's features (:mod:`oversight_lab.reward.features`);
4. best-of-n over one pool of samples per held-out task, scored by the proxy;
5. RL (TRL's GRPO) against the proxy with LoRA adapters (``peft``) and a KL penalty to the frozen model;
6. at every checkpoint: gold, proxy, the evaluator's score, KL from the initial policy, mercury use.

DPO is not run on the real model (a full copy of the model per step is beyond a CPU budget). The frozen model
is the initial policy, the reward model's backbone and the KL reference at once: one copy in memory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from oversight_lab.config import RunConfig
from oversight_lab.evaluators import to_comparison
from oversight_lab.feedback.records import write_comparisons
from oversight_lab.models.hub import resolve_model
from oversight_lab.models.loading import load_hf_policy
from oversight_lab.models.policy import Policy
from oversight_lab.optimize.best_of_n import bon_curve, bon_kl
from oversight_lab.optimize.rl import train_rl
from oversight_lab.reward.features import FeatureRewardModel, train_feature_reward_model
from oversight_lab.worlds.base import Task, World, make_world
from oversight_lab.worlds.english import FORMS, EnglishWorld, chat_messages

__all__ = ["is_english_run", "run_arm_english"]

LORA = {"r": 8, "lora_alpha": 16, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}


def is_english_run(cfg: RunConfig) -> bool:
    """An ``hf:`` policy whose tokenizer has a chat template, in a world with an English form."""
    if not cfg.policy.startswith("hf:") or cfg.world not in FORMS:
        return False
    path = Path(resolve_model(cfg.policy[3:]))
    if (path / "chat_template.jinja").exists():
        return True
    config = path / "tokenizer_config.json"
    return config.exists() and "chat_template" in json.loads(config.read_text())


def _prompts(policy: Policy, world: World, tasks: list[Task]) -> list[str]:
    return [
        policy.tokenizer.apply_chat_template(
            chat_messages(world, t), tokenize=False, add_generation_prompt=True
        )
        for t in tasks
    ]


def _metrics(
    world: EnglishWorld, tasks: list[Task], texts: list[str], proxy: np.ndarray, evaluator: Any
) -> dict[str, float]:
    answers = [world.parse(t, c) for t, c in zip(tasks, texts, strict=True)]
    fails = [world.failure_metrics(t, a) for t, a in zip(tasks, answers, strict=True)]
    row = {
        "gold/mean": float(np.mean([world.gold(t, a) for t, a in zip(tasks, answers, strict=True)])),
        "proxy/mean": float(np.mean(proxy)),
        "evaluator/mean": float(
            np.mean([evaluator.score(t, c) or 0.0 for t, c in zip(tasks, texts, strict=True)])
        ),
    }
    for key in fails[0]:
        row[key] = float(np.mean([f[key] for f in fails]))
    toxic = row.get("fail/toxic", 0.0)
    if "fail/disclosed_toxic" in row:
        row["fail/disclosure_rate"] = row["fail/disclosed_toxic"] / toxic if toxic > 0 else float("nan")
    return row


def run_arm_english(
    cfg: RunConfig, arm: str, seed: int, out_dir: Path, progress: Any = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The loop for one arm and seed on a chat model: (metric rows, summary), files under ``out_dir``."""
    from oversight_lab.evaluators.kinds import build_evaluator
    from oversight_lab.models.seeding import seed_everything

    progress = progress or (lambda stage, done, total: None)
    torch.set_num_threads(1)  # measured: on a shared 2-core machine one thread is 2-3x faster than two
    seed_everything(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    world = EnglishWorld(make_world(cfg.world, **cfg.world_params))
    model_path = resolve_model(cfg.policy[3:])
    initial = load_hf_policy(cfg.policy[3:], cfg.max_new_tokens)  # frozen: policy, RM backbone, KL reference
    gpu = torch.cuda.is_available()
    if gpu:  # benchmarks/bench_realmodel_gpu.py: the same loop on an accelerator
        initial.model.to("cuda")
    spec = cfg.arms[arm]
    evaluator = build_evaluator(world, spec.kind, spec.flaws, spec.params, seed, arm)
    eval_tasks = world.tasks("eval", cfg.eval.n_tasks, seed=10_000)
    eval_prompts = _prompts(initial, world.base, eval_tasks)
    rows: list[dict[str, Any]] = []

    def log(optimizer: str, step: int, metrics: dict[str, float], **extra: Any) -> None:
        rows.append({"arm": arm, "seed": seed, "optimizer": optimizer, "step": step, **extra, **metrics})

    # 1–2. Comparisons from the evaluator on pairs of the model's answers.
    progress("comparisons", 0, 1)
    t0 = time.perf_counter()
    train_tasks = world.tasks("train", cfg.feedback.n_comparisons, seed=seed)
    train_prompts = _prompts(initial, world.base, train_tasks)
    samples = initial.sample(train_prompts, n=2, seed=seed)
    pairs = [(t, a, b) for t, (a, b) in zip(train_tasks, samples, strict=True)]
    prefs = evaluator.compare_batch(pairs)
    comparisons = [
        to_comparison(t, a, b, p, evaluator, policy="initial", chat_prompt=cp)
        for (t, a, b), p, cp in zip(pairs, prefs, train_prompts, strict=True)
    ]
    write_comparisons(out_dir / "comparisons.jsonl", comparisons)
    n_hold = max(1, int(len(comparisons) * cfg.reward.holdout_fraction))
    chat_of = dict(zip([t.id for t in train_tasks], train_prompts, strict=True))
    timings["comparisons"] = time.perf_counter() - t0

    # 3. The proxy: a Bradley–Terry head on the frozen model's features.
    progress("reward model", 0, 1)
    t0 = time.perf_counter()
    train_cmp, hold_cmp = comparisons[n_hold:], comparisons[:n_hold]
    rm = train_feature_reward_model(
        initial.model,
        initial.tokenizer,
        [chat_of[c.task_id] for c in train_cmp],
        [c.chosen_text for c in train_cmp],
        [c.rejected_text for c in train_cmp],
        steps=max(cfg.reward.steps, 100),
        lr=cfg.reward.lr,
        seed=seed,
    )
    rm_metrics = _rm_accuracy(rm, hold_cmp, chat_of, world)
    (out_dir / "reward_model.json").write_text(
        json.dumps({**rm_metrics, "train_log": rm.train_log}, indent=1)
    )
    timings["reward_model"] = time.perf_counter() - t0

    def checkpoint(policy: Policy, step_seed: int) -> dict[str, float]:
        flat_tasks = [t for t in eval_tasks for _ in range(cfg.eval.samples_per_task)]
        flat_prompts = [p for p in eval_prompts for _ in range(cfg.eval.samples_per_task)]
        texts = [
            c for cs in policy.sample(eval_prompts, n=cfg.eval.samples_per_task, seed=step_seed) for c in cs
        ]
        row = _metrics(world, flat_tasks, texts, rm.score(flat_prompts, texts), evaluator)
        if policy is initial:
            log_ratio = np.zeros(len(texts))
        else:
            log_ratio = policy.logprob(flat_prompts, texts) - initial.logprob(flat_prompts, texts)
        row["kl/seq_k1"] = float(np.mean(log_ratio))
        row["kl/seq_k3"] = float(np.mean(np.expm1(-log_ratio) + log_ratio))
        row["kl/sqrt"] = float(np.sqrt(max(row["kl/seq_k1"], 0.0)))
        return row

    t0 = time.perf_counter()
    log("initial", 0, checkpoint(initial, seed * 7919 + 1), **rm_metrics)
    timings["checkpoint"] = time.perf_counter() - t0

    # 4. Best-of-n against the proxy over one pool per task (every n ≤ pool, unbiased estimator).
    if cfg.bon.enabled:
        progress("best-of-n", 0, 1)
        t0 = time.perf_counter()
        rows.extend(_best_of_n(cfg, initial, world, rm, evaluator, arm, seed))
        timings["best_of_n"] = time.perf_counter() - t0

    # 5. RL against the proxy with LoRA adapters and a KL penalty to the frozen model.
    if cfg.rl.enabled:
        from peft import LoraConfig

        t0 = time.perf_counter()
        rl_cfg = cfg.rl

        def on_rl(step: int, model: torch.nn.Module) -> None:
            progress("rl", step, rl_cfg.steps)
            trained = Policy(model, initial.tokenizer, "rl", False, cfg.max_new_tokens)
            log("rl", step, checkpoint(trained, seed * 7919 + 1 + step))

        progress("rl", 0, rl_cfg.steps)
        rows.append({**rows[0], "optimizer": "rl"})
        rl_prompts = _prompts(initial, world.base, world.tasks("train", 64, seed + 1))
        model, rl_log = train_rl(
            model_path,
            initial.tokenizer,
            rm,
            rl_prompts,
            rl_cfg,
            seed=seed,
            on_checkpoint=on_rl,
            word_level=False,
            max_new_tokens=cfg.max_new_tokens,
            peft_config=LoraConfig(task_type="CAUSAL_LM", **LORA),
            use_cpu=not gpu,
        )
        model.save_pretrained(out_dir / "checkpoints" / "rl-lora")  # the adapters only (a few MB)
        (out_dir / "rl_log.json").write_text(json.dumps(rl_log, indent=1))
        timings["rl"] = time.perf_counter() - t0

    timings["total"] = time.perf_counter() - t_start
    with open(out_dir / "metrics.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    summary = {
        "arm": arm,
        "seed": seed,
        "timings": timings,
        **rm_metrics,
        "language": "english",
        "model": model_path,
        "lora": LORA,
        "dpo": "not run on a real model",
        "known_hazards": sorted(getattr(evaluator, "known_hazards", [])),
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    progress("done", 1, 1)
    return rows, summary


def _rm_accuracy(
    rm: FeatureRewardModel, held_out: list[Any], chat_of: dict[str, str], world: EnglishWorld
) -> dict[str, float]:
    """Held-out accuracy of the proxy against the evaluator's labels and against gold (gold ties left out)."""
    if not held_out:
        return {"rm/acc_evaluator": float("nan"), "rm/acc_gold": float("nan"), "rm/n_holdout": 0.0}
    prompts = [chat_of[c.task_id] for c in held_out]
    sc, sr = (
        rm.score(prompts, [c.chosen_text for c in held_out]),
        rm.score(prompts, [c.rejected_text for c in held_out]),
    )
    acc_eval = float(np.mean(sc > sr))
    right = []
    for c, a, b in zip(held_out, sc, sr, strict=True):
        task = Task(c.task_id, c.prompt, c.task_spec)
        ga = world.gold(task, world.parse(task, c.chosen_text))
        gb = world.gold(task, world.parse(task, c.rejected_text))
        if ga != gb:
            right.append(float((a > b) == (ga > gb)))
    return {
        "rm/acc_evaluator": acc_eval,
        "rm/acc_gold": float(np.mean(right)) if right else float("nan"),
        "rm/n_holdout": float(len(held_out)),
    }


def _best_of_n(
    cfg: RunConfig,
    initial: Policy,
    world: EnglishWorld,
    rm: FeatureRewardModel,
    evaluator: Any,
    arm: str,
    seed: int,
) -> list[dict[str, Any]]:
    tasks = world.tasks("eval", cfg.bon.n_tasks, seed=10_000)
    prompts = _prompts(initial, world.base, tasks)
    n_pool = cfg.bon.pool_size
    pool = initial.sample(prompts, n=n_pool, seed=seed * 7919 + 3)
    flat_tasks = [t for t in tasks for _ in range(n_pool)]
    flat_prompts = [p for p in prompts for _ in range(n_pool)]
    texts = [c for cs in pool for c in cs]
    proxy = rm.score(flat_prompts, texts)
    answers = [world.parse(t, c) for t, c in zip(flat_tasks, texts, strict=True)]
    fails = [world.failure_metrics(t, a) for t, a in zip(flat_tasks, answers, strict=True)]
    names = ["gold/mean", "proxy/mean", "evaluator/mean", *fails[0].keys()]
    values = np.stack(
        [
            [world.gold(t, a) for t, a in zip(flat_tasks, answers, strict=True)],
            proxy,
            [evaluator.score(t, c) or 0.0 for t, c in zip(flat_tasks, texts, strict=True)],
            *[[f[k] for f in fails] for k in fails[0]],
        ],
        axis=-1,
    ).reshape(len(tasks), n_pool, len(names))
    ns = np.unique(np.concatenate([2 ** np.arange(int(np.log2(n_pool)) + 1), [n_pool]])).astype(int)
    curve = bon_curve(proxy.reshape(len(tasks), n_pool), values, ns)
    rows = []
    for n, vals in zip(ns, curve, strict=True):
        kl = float(bon_kl(n))
        metrics = dict(zip(names, map(float, vals), strict=True))
        rows.append(
            {
                "arm": arm,
                "seed": seed,
                "optimizer": "bon",
                "step": int(n),
                "n": int(n),
                "kl/bon_analytic": kl,
                "kl/sqrt": float(np.sqrt(kl)),
                **metrics,
            }
        )
    return rows
