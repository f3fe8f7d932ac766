"""The closed oversight loop for one (arm, seed): comparisons → reward model → best-of-n, RL, DPO.

Read top to bottom, this is the experiment:

1. sample pairs of answers from the initial policy (the evaluatee) on training tasks;
2. the arm's evaluator compares them (it sees an ``Observation`` only) → comparison records;
3. a Bradley–Terry reward model (the proxy) is fit to the comparisons;
4. three optimisers push the policy against the evaluator: best-of-n against the proxy, RL against the proxy
   with a KL penalty, DPO on the comparisons directly;
5. at every checkpoint the same held-out tasks are scored by gold (the world's expert, hidden from every
   optimiser), the proxy, the evaluator, the KL from the initial policy, and the world's failure metrics.

Gold appears only in step 5, on answers already produced.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from oversight_lab.config import EvaluatorSpec, RunConfig
from oversight_lab.evaluators import Evaluator, ExpertEvaluator, SimulatedEvaluator, make_flaw, to_comparison
from oversight_lab.feedback.records import Comparison, write_comparisons
from oversight_lab.models.loading import load_policy, tiny_config
from oversight_lab.models.policy import Policy
from oversight_lab.optimize.best_of_n import bon_curve, bon_kl, exact_bon_kl
from oversight_lab.optimize.dpo import DPOConfig, train_dpo
from oversight_lab.optimize.rl import RLConfig, train_rl
from oversight_lab.reward.bradley_terry import (
    RewardConfig,
    RewardModel,
    load_backbone,
    preference_accuracy,
    train_reward_model,
)
from oversight_lab.worlds.base import Task, World, make_world

__all__ = ["ArmResult", "build_evaluator", "evaluate_checkpoint", "run_arm", "seed_everything"]

Progress = Callable[[str, int, int], None]


@dataclass
class ArmResult:
    arm: str
    seed: int
    rows: list[dict[str, Any]]
    summary: dict[str, Any]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_evaluator(world: World, spec: EvaluatorSpec, seed: int, name: str) -> Evaluator:
    flaws = [make_flaw(f) for f in spec.flaws]
    if spec.kind in ("judge", "assisted", "chain"):  # scalable-oversight protocols, imported only when used
        from oversight_lab.protocols.evaluators import build_protocol_evaluator

        return build_protocol_evaluator(world, spec.kind, flaws, spec.params, seed, name)
    cls = ExpertEvaluator if spec.kind == "expert" else SimulatedEvaluator
    return cls(world, flaws, seed=seed, name=name)


def evaluate_checkpoint(
    policy: Policy, initial: Policy, world: World, tasks: list[Task], rm: RewardModel, evaluator: Evaluator,
    samples_per_task: int, seed: int,
) -> dict[str, float]:
    """Gold, proxy, evaluator score, KL from the initial policy and failure metrics on held-out tasks.

    KL is the Monte-Carlo estimate E_π[log π(y|x) − log π_init(y|x)] over whole completions sampled from π
    (``kl/seq_k1``: unbiased, may be negative from noise), with the k3 estimate (Schulman 2020) beside it.
    """
    completions = policy.sample([t.prompt for t in tasks], n=samples_per_task, seed=seed)
    flat_tasks = [t for t in tasks for _ in range(samples_per_task)]
    flat = [c for cs in completions for c in cs]
    prompts = [t.prompt for t in flat_tasks]
    log_ratio = policy.logprob(prompts, flat) - initial.logprob(prompts, flat)
    answers = [world.parse(t, c) for t, c in zip(flat_tasks, flat)]
    fails = [world.failure_metrics(t, a) for t, a in zip(flat_tasks, answers)]
    row = {
        "gold/mean": float(np.mean([world.gold(t, a) for t, a in zip(flat_tasks, answers)])),
        "proxy/mean": float(np.mean(rm.score(prompts, flat))),
        "evaluator/mean": float(np.mean([evaluator.score(t, c) or 0.0 for t, c in zip(flat_tasks, flat)])),
        "kl/seq_k1": float(np.mean(log_ratio)),
        "kl/seq_k3": float(np.mean(np.expm1(-log_ratio) + log_ratio)),
    }
    row["kl/sqrt"] = float(np.sqrt(max(row["kl/seq_k1"], 0.0)))
    for key in fails[0]:
        row[key] = float(np.mean([f[key] for f in fails]))
    toxic = row.get("fail/toxic", 0.0)
    if "fail/disclosed_toxic" in row:
        row["fail/disclosure_rate"] = row["fail/disclosed_toxic"] / toxic if toxic > 0 else float("nan")
    if hasattr(world, "derived_metrics"):  # optional world hook: rates conditioned on the task, gaps
        row.update(world.derived_metrics(row))
    return row


def _pairs(policy: Policy, tasks: list[Task], seed: int) -> list[tuple[Task, str, str]]:
    samples = policy.sample([t.prompt for t in tasks], n=2, seed=seed)
    return [(t, a, b) for t, (a, b) in zip(tasks, samples)]


def run_arm(cfg: RunConfig, arm: str, seed: int, out_dir: Path, progress: Progress | None = None) -> ArmResult:
    """Run the whole loop for one arm and seed, writing its files under ``out_dir``."""
    progress = progress or (lambda stage, done, total: None)
    if cfg.policy.startswith("hf:"):  # a chat model in a world with an English form: the English loop
        from oversight_lab.loop_english import is_english_run, run_arm_english

        if is_english_run(cfg):
            rows, summary = run_arm_english(cfg, arm, seed, out_dir, progress)
            return ArmResult(arm, seed, rows, summary)
    torch.set_num_threads(1)  # one thread per job: faster for tiny models, and the same numbers at any --workers
    seed_everything(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    world = make_world(cfg.world, **cfg.world_params)
    initial, init_dir = load_policy(cfg, world, out_dir / "checkpoints" / "initial")
    evaluator = build_evaluator(world, cfg.arms[arm], seed, name=arm)
    eval_tasks = world.tasks("eval", cfg.eval.n_tasks, seed=10_000)  # the same held-out tasks for every run
    rows: list[dict[str, Any]] = []

    def log(optimizer: str, step: int, metrics: dict[str, float], **extra: Any) -> None:
        rows.append({"arm": arm, "seed": seed, "optimizer": optimizer, "step": step, **extra, **metrics})

    # 1–2. Comparisons from the evaluator on pairs sampled from the initial policy.
    progress("comparisons", 0, 1)
    t0 = time.perf_counter()
    pairs = _pairs(initial, world.tasks("train", cfg.feedback.n_comparisons, seed=seed), seed=seed)
    prefs = evaluator.compare_batch(pairs)
    comparisons = [to_comparison(t, a, b, p, evaluator, policy="initial") for (t, a, b), p in zip(pairs, prefs)]
    write_comparisons(out_dir / "comparisons.jsonl", comparisons)
    n_hold = max(1, int(len(comparisons) * cfg.reward.holdout_fraction))
    train_cmp, hold_cmp = comparisons[n_hold:], comparisons[:n_hold]
    timings["comparisons"] = time.perf_counter() - t0

    # 3. The proxy: a Bradley–Terry reward model (ensemble) on the evaluator's comparisons.
    progress("reward model", 0, 1)
    t0 = time.perf_counter()
    rm_cfg = RewardConfig(**cfg.reward.model_dump(exclude={"holdout_fraction", "backbone", "cache"}),
                          holdout_fraction=cfg.reward.holdout_fraction)
    rm_dir, rm_tok = _reward_backbone(cfg, world, init_dir, initial)
    rm = _trained_reward_model(rm_dir, rm_tok, train_cmp, rm_cfg, seed, cfg.reward.cache)
    rm_metrics = _reward_model_accuracy(rm, hold_cmp, world)
    (out_dir / "reward_model.json").write_text(json.dumps({**rm_metrics, "train_log": rm.train_log}, indent=1))
    timings["reward_model"] = time.perf_counter() - t0

    items: list[dict[str, Any]] = []  # per-item records (items.jsonl) when cfg.item_eval is on

    def checkpoint(policy: Policy, step_seed: int, optimizer: str = "initial", step: int = 0) -> dict[str, float]:
        row = evaluate_checkpoint(policy, initial, world, eval_tasks, rm, evaluator,
                                  cfg.eval.samples_per_task, seed=step_seed)
        if cfg.item_eval:
            row.update(_item_metrics(world, policy, items, {"arm": arm, "seed": seed, "optimizer": optimizer,
                                                             "step": step}))
        return row

    base = checkpoint(initial, seed * 7919 + 1)
    log("initial", 0, base, **rm_metrics)

    # 4a. Best-of-n against the proxy, every n ≤ pool from one pool (unbiased estimator), KL analytic.
    if cfg.bon.enabled:
        progress("best-of-n", 0, 1)
        t0 = time.perf_counter()
        rows.extend(_best_of_n(cfg, initial, world, rm, evaluator, arm, seed))
        timings["best_of_n"] = time.perf_counter() - t0

    # 4b. RL against the proxy with a KL penalty; checkpoints every few steps.
    if cfg.rl.enabled:
        t0 = time.perf_counter()
        rl_cfg = RLConfig(**cfg.rl.model_dump(exclude={"enabled"}), max_new_tokens=cfg.max_new_tokens)

        def on_rl(step: int, model: torch.nn.Module) -> None:
            progress("rl", step, rl_cfg.steps)
            log("rl", step, checkpoint(Policy(model, initial.tokenizer, "rl", initial.word_level,
                                              cfg.max_new_tokens), seed * 7919 + 1 + step, "rl", step))

        progress("rl", 0, rl_cfg.steps)
        rows.append({**rows[0], "optimizer": "rl"})
        model, _ = train_rl(init_dir, initial.tokenizer, rm, [t.prompt for t in world.tasks("train", 512, seed)],
                            rl_cfg, seed=seed, on_checkpoint=on_rl, word_level=initial.word_level)
        model.save_pretrained(out_dir / "checkpoints" / "rl")
        initial.tokenizer.save_pretrained(out_dir / "checkpoints" / "rl")
        timings["rl"] = time.perf_counter() - t0

    # 4c. DPO on the comparisons themselves.
    if cfg.dpo.enabled:
        t0 = time.perf_counter()
        dpo_cfg = DPOConfig(**cfg.dpo.model_dump(exclude={"enabled"}))

        def on_dpo(step: int, model: torch.nn.Module) -> None:
            progress("dpo", step, dpo_cfg.steps)
            log("dpo", step, checkpoint(Policy(model, initial.tokenizer, "dpo", initial.word_level,
                                               cfg.max_new_tokens), seed * 7919 + 1 + step, "dpo", step))

        progress("dpo", 0, dpo_cfg.steps)
        rows.append({**rows[0], "optimizer": "dpo"})
        model, _ = train_dpo(init_dir, initial.tokenizer, train_cmp, dpo_cfg, seed=seed, on_checkpoint=on_dpo)
        model.save_pretrained(out_dir / "checkpoints" / "dpo")
        initial.tokenizer.save_pretrained(out_dir / "checkpoints" / "dpo")
        timings["dpo"] = time.perf_counter() - t0

    timings["total"] = time.perf_counter() - t_start
    with open(out_dir / "metrics.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    if items:
        with open(out_dir / "items.jsonl", "w") as f:
            for r in items:
                f.write(json.dumps(r) + "\n")
    summary = {"arm": arm, "seed": seed, "timings": timings, **rm_metrics,
               "known_hazards": sorted(getattr(evaluator, "known_hazards", []))}
    if hasattr(evaluator, "stats"):  # model judges count their calls and unparseable replies
        summary["evaluator_stats"] = dict(evaluator.stats)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    progress("done", 1, 1)
    return ArmResult(arm, seed, rows, summary)


def _reward_backbone(cfg: RunConfig, world: World, init_dir: Path, initial: Policy) -> tuple[Path, Any]:
    """The reward model's starting LM: the evaluatee's (``policy``) or a tiny one of another size (Gao et al. 2022)."""
    if cfg.reward.backbone == "policy":
        return init_dir, initial.tokenizer
    return load_backbone(cfg.reward.backbone, world, tiny_config(cfg))  # pretrained here on a cache miss


def _item_metrics(world: World, policy: Policy, items: list[dict[str, Any]],
                  where: dict[str, Any]) -> dict[str, float]:
    """The world's fixed items answered deterministically by ``policy`` (:mod:`oversight_lab.metrics.items`):
    records appended to ``items`` with ``where`` (arm, seed, optimiser, step); set-level metrics returned."""
    from oversight_lab.metrics.items import PolicyLM, item_eval_for

    hooks = item_eval_for(world)
    if hooks is None:
        return {}
    records = hooks.item_records(PolicyLM(policy))
    items.extend({**where, **r} for r in records)
    return hooks.item_summary(records)


def _reward_model_accuracy(rm: RewardModel, held_out: list[Comparison], world: World) -> dict[str, float]:
    """Held-out accuracy of the reward model against the evaluator's labels and, separately, against gold."""
    prompts = [c.prompt for c in held_out]
    acc_eval = preference_accuracy(rm, prompts, [c.chosen_text for c in held_out], [c.rejected_text for c in held_out])
    gold_pairs = []
    for c in held_out:
        task = Task(c.task_id, c.prompt, c.task_spec)
        ga = world.gold(task, world.parse(task, c.answer_a))
        gb = world.gold(task, world.parse(task, c.answer_b))
        if ga != gb:  # gold ties say nothing about which is better
            gold_pairs.append((c.prompt, c.answer_a, c.answer_b) if ga > gb else (c.prompt, c.answer_b, c.answer_a))
    acc_gold = preference_accuracy(rm, [p[0] for p in gold_pairs], [p[1] for p in gold_pairs],
                                   [p[2] for p in gold_pairs]) if gold_pairs else float("nan")
    return {"rm/acc_evaluator": acc_eval, "rm/acc_gold": acc_gold, "rm/n_holdout": float(len(held_out))}


def _trained_reward_model(backbone: Path, tok: Any, comparisons: list[Comparison], rm_cfg: RewardConfig, seed: int,
                          cache: bool) -> RewardModel:
    """``train_reward_model``, or its members read back from the cache when ``cache`` is set.

    The key is everything training sees: the comparisons as TRL reads them, the backbone's files, the training
    settings and the seed; not the aggregate, so mean, min and uwo cells of a sweep share one trained ensemble.
    A lock makes a concurrent job with the same key wait for the first to finish instead of training again.
    """
    if not cache:
        return train_reward_model(backbone, tok, comparisons, rm_cfg, seed=seed)
    import hashlib
    import os
    import shutil
    from dataclasses import asdict

    from transformers import AutoModelForSequenceClassification

    from oversight_lab.feedback.records import to_trl
    from oversight_lab.models.tiny import cache_dir

    h = hashlib.sha256()
    settings = {k: v for k, v in asdict(rm_cfg).items() if k not in ("aggregate", "uwo_lambda")}
    h.update(json.dumps([settings, seed, to_trl(comparisons)], sort_keys=True).encode())
    for f in sorted(Path(backbone).iterdir()):
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
    path = cache_dir() / "reward_models" / h.hexdigest()[:24]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # no POSIX locks: a concurrent job may train the same members, identically
            pass
        if (path / "train_log.json").exists():
            members = [AutoModelForSequenceClassification.from_pretrained(path / f"member-{m}").eval()
                       for m in range(rm_cfg.ensemble_size)]
            log = json.loads((path / "train_log.json").read_text())
            return RewardModel(members, tok, rm_cfg.aggregate, rm_cfg.uwo_lambda, train_log=log)
        rm = train_reward_model(backbone, tok, comparisons, rm_cfg, seed=seed)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        for m, member in enumerate(rm.members):
            member.save_pretrained(tmp / f"member-{m}")
        (tmp / "train_log.json").write_text(json.dumps(rm.train_log))
        try:
            os.replace(tmp, path)  # atomic: a killed job never leaves half an ensemble
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return rm


def _sample_pool(policy: Policy, prompts: list[str], n: int, seed: int, cache: bool) -> list[list[str]]:
    """``policy.sample(prompts, n, seed)``, kept in the cache when ``cache`` is set.

    The pool depends only on the initial policy (its weights), the prompts, n and the seed, so every cell of a
    sweep that shares them (reward-model sizes, data sizes, ensembles) reads one pool instead of resampling it.
    """
    if not cache:
        return policy.sample(prompts, n=n, seed=seed)
    import gzip
    import hashlib
    import os

    from oversight_lab.models.tiny import cache_dir

    h = hashlib.sha256()
    for name, tensor in sorted(policy.model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    h.update(json.dumps([prompts, n, seed, policy.max_new_tokens, policy.word_level,
                         sorted(policy.tokenizer.get_vocab().items())]).encode())
    path = cache_dir() / "pools" / f"{h.hexdigest()[:24]}.json.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        try:  # a concurrent job with the same pool waits for it instead of sampling it again
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:
            pass
        if path.exists():
            return json.loads(gzip.decompress(path.read_bytes()))
        pool = policy.sample(prompts, n=n, seed=seed)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(gzip.compress(json.dumps(pool).encode()))
        os.replace(tmp, path)  # atomic: a killed job never leaves half a pool
    return pool


def _best_of_n(cfg: RunConfig, initial: Policy, world: World, rm: RewardModel, evaluator: Evaluator,
               arm: str, seed: int) -> list[dict[str, Any]]:
    tasks = world.tasks("eval", cfg.bon.n_tasks, seed=10_000)
    n_pool = cfg.bon.pool_size
    pool = _sample_pool(initial, [t.prompt for t in tasks], n_pool, seed * 7919 + 3, cfg.bon.cache_pool)
    # Score each distinct (task, completion) once: a pool of 10^4 from a tiny policy holds a few hundred.
    keys = [(j, c) for j, cs in enumerate(pool) for c in cs]
    index: dict[tuple[int, str], int] = {}
    inverse = np.array([index.setdefault(k, len(index)) for k in keys])
    u_tasks = [tasks[j] for j, _ in index]
    u_text = [c for _, c in index]
    u_proxy = rm.score([t.prompt for t in u_tasks], u_text)
    answers = [world.parse(t, c) for t, c in zip(u_tasks, u_text)]
    fails = [world.failure_metrics(t, a) for t, a in zip(u_tasks, answers)]
    names = ["gold/mean", "proxy/mean", "evaluator/mean", *fails[0].keys()]
    u_values = np.stack([
        [world.gold(t, a) for t, a in zip(u_tasks, answers)],
        u_proxy,
        [evaluator.score(t, c) or 0.0 for t, c in zip(u_tasks, u_text)],
        *[[f[k] for f in fails] for k in fails[0]],
    ], axis=-1)
    proxy = u_proxy[inverse].reshape(len(tasks), n_pool)
    values = u_values[inverse].reshape(len(tasks), n_pool, len(names))
    ns = np.unique(np.concatenate([2 ** np.arange(int(np.log2(n_pool)) + 1), [n_pool]])).astype(int)
    curve = bon_curve(proxy, values, ns)
    # The plug-in exact KL: best-of-n over the pool's empirical distribution (Beirami et al. 2024). The analytic
    # log n − (n−1)/n overstates it once n approaches 1 / P(the proxy's favourite answer).
    task_of = np.array([j for j, _ in index])
    counts = np.bincount(inverse, minlength=len(index)).astype(float)
    exact = np.array([[exact_bon_kl(counts[task_of == j] / n_pool, u_proxy[task_of == j], int(n))
                       for j in range(len(tasks))] for n in ns]).mean(axis=1)
    rows = []
    for n, vals, kl_pool in zip(ns, curve, exact):
        kl = float(bon_kl(n))
        metrics = dict(zip(names, map(float, vals)))
        toxic = metrics.get("fail/toxic", 0.0)
        if "fail/disclosed_toxic" in metrics:
            metrics["fail/disclosure_rate"] = metrics["fail/disclosed_toxic"] / toxic if toxic > 0 else float("nan")
        if hasattr(world, "derived_metrics"):
            metrics.update(world.derived_metrics(metrics))
        rows.append({"arm": arm, "seed": seed, "optimizer": "bon", "step": int(n), "n": int(n),
                     "kl/bon_exact_pool": float(kl_pool),
                     "kl/bon_analytic": kl, "kl/sqrt": float(np.sqrt(kl)), **metrics})
    return rows
