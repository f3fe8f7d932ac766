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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from oversight_lab.config import EvaluatorSpec, RunConfig, optimisers
from oversight_lab.evaluators import Evaluator, kinds, to_comparison
from oversight_lab.feedback.records import Comparison, write_comparisons
from oversight_lab.models.loading import load_policy, tiny_config
from oversight_lab.models.policy import Policy
from oversight_lab.models.seeding import seed_everything
from oversight_lab.models.shared_samples import share_samples
from oversight_lab.optimize.base import ArmContext, runner_of
from oversight_lab.reward.bradley_terry import (
    RewardModel,
    load_backbone,
    preference_accuracy,
    train_reward_model,
)
from oversight_lab.reward.config import RewardModelConfig
from oversight_lab.worlds.base import Task, World, make_world
from oversight_lab.worlds.heldout import HeldOutContexts

__all__ = ["ArmResult", "build_evaluator", "evaluate_checkpoint", "run_arm", "seed_everything"]

Progress = Callable[[str, int, int], None]
SAVED_SAMPLES = 6  # decoded answers kept per checkpoint (samples.jsonl): the first sample of the first tasks


@dataclass
class ArmResult:
    arm: str
    seed: int
    rows: list[dict[str, Any]]
    summary: dict[str, Any]


def build_evaluator(world: World, spec: EvaluatorSpec, seed: int, name: str,
                    pretrained: dict[str, Any] | None = None) -> Evaluator:
    """The arm's evaluator, from the evaluator-kind registry (:mod:`oversight_lab.evaluators.kinds`).

    ``pretrained``: the replicate's pretrained evaluatee (``TinyConfig`` fields, its pretraining seed included),
    which a tiny model judge starts from, and an evaluatee-assisted evaluator reads, unless its params name
    one: one judge per pretraining seed (and the debate kind's evaluatee debaters are that seed's evaluatee)."""
    params = spec.params
    tiny_judge = spec.kind == "judge" and params.get("backend", "tiny") == "tiny"
    reads = tiny_judge or spec.kind == "evaluatee_assisted"
    if reads and pretrained is not None:
        params = {"pretrained": pretrained, **params}
    if spec.kind == "debate" and pretrained is not None:  # the replicate's evaluatee debates
        params = {"pretrain_seed": pretrained["seed"], **params}
    return kinds.build_evaluator(world, spec.kind, spec.flaws, params, seed, name)


def evaluate_checkpoint(
    policy: Policy, initial: Policy, world: World, tasks: list[Task], rm: RewardModel, evaluator: Evaluator,
    samples_per_task: int, seed: int, samples_out: list[dict[str, Any]] | None = None,
) -> dict[str, float]:
    """Gold, proxy, evaluator score, KL from the initial policy and failure metrics on held-out tasks.

    With ``samples_out``, the first sampled answer to each of the first ``SAVED_SAMPLES`` tasks is appended to
    it as text with its gold, proxy and evaluator scores and failure indicators (what a report shows).

    KL is the Monte-Carlo estimate E_π[log π(y|x) − log π_init(y|x)] over whole completions sampled from π
    (``kl/seq_k1``: unbiased, may be negative from noise), with the k3 estimate (Schulman 2020) beside it.
    """
    completions = policy.sample([t.prompt for t in tasks], n=samples_per_task, seed=seed)
    flat_tasks = [t for t in tasks for _ in range(samples_per_task)]
    flat = [c for cs in completions for c in cs]
    prompts = [t.prompt for t in flat_tasks]
    own = policy.logprob(prompts, flat)
    log_ratio = own - (own if policy is initial else initial.logprob(prompts, flat))
    answers = [world.parse(t, c) for t, c in zip(flat_tasks, flat)]
    fails = [world.failure_metrics(t, a) for t, a in zip(flat_tasks, answers)]
    golds = [world.gold(t, a) for t, a in zip(flat_tasks, answers)]
    proxies = rm.score(prompts, flat)
    scores = [evaluator.score(t, c) or 0.0 for t, c in zip(flat_tasks, flat)]
    row = {
        "gold/mean": float(np.mean(golds)),
        "proxy/mean": float(np.mean(proxies)),
        "evaluator/mean": float(np.mean(scores)),
        "kl/seq_k1": float(np.mean(log_ratio)),
        "kl/seq_k3": float(np.mean(np.expm1(-log_ratio) + log_ratio)),
    }
    row["kl/sqrt"] = float(np.sqrt(max(row["kl/seq_k1"], 0.0)))
    for key in fails[0]:
        row[key] = float(np.mean([f[key] for f in fails]))
    if hasattr(world, "derived_metrics"):  # optional world hook: rates conditioned on the task, gaps
        row.update(world.derived_metrics(row))
    row.update(_rated_unrated(world, flat_tasks, golds, fails))
    if samples_out is not None:
        for i in range(0, min(SAVED_SAMPLES, len(tasks)) * samples_per_task, samples_per_task):
            samples_out.append({"task": flat_tasks[i].id, "prompt": prompts[i], "answer": flat[i],
                                "gold": float(golds[i]), "proxy": float(proxies[i]),
                                "evaluator": float(scores[i]), **{k: float(v) for k, v in fails[i].items()}})
    return row


def _rated_unrated(world: World, flat_tasks: list[Task], golds: list[float],
                   fails: list[dict[str, float]]) -> dict[str, float]:
    """Gold and failure metrics on the tasks whose context the evaluator rated and on those it never saw
    (``rated/…``, ``unrated/…``), when the eval tasks say which they are (``eval.unrated_fraction``)."""
    out: dict[str, float] = {}
    flags = [t.spec.get("rated") for t in flat_tasks]
    for name, want in (("rated", True), ("unrated", False)):
        idx = [i for i, f in enumerate(flags) if f is want]
        if not idx:
            continue
        sub = {"gold/mean": float(np.mean([golds[i] for i in idx]))}
        for key in fails[0]:
            sub[key] = float(np.mean([fails[i][key] for i in idx]))
        if hasattr(world, "derived_metrics"):
            sub.update(world.derived_metrics(sub))
        out.update({f"{name}/{k}": v for k, v in sub.items()})
    return out


def _pairs(policy: Policy, tasks: list[Task], seed: int) -> list[tuple[Task, str, str]]:
    samples = policy.sample([t.prompt for t in tasks], n=2, seed=seed)
    return [(t, a, b) for t, (a, b) in zip(tasks, samples)]


def run_arm(cfg: RunConfig, arm: str, seed: int, out_dir: Path, progress: Progress | None = None,
            shared_dir: Path | None = None) -> ArmResult:
    """Run the whole loop for one arm and seed, writing its files under ``out_dir``.

    ``shared_dir``: the replicate's store of initial-policy samples, shared with its other arms
    (:mod:`oversight_lab.models.shared_samples`); the numbers are the same with or without it."""
    progress = progress or (lambda stage, done, total: None)
    if cfg.policy.startswith("hf:"):  # a chat model in a world with an English form: the English loop
        from oversight_lab.loop_english import is_english_run, run_arm_english

        if is_english_run(cfg):
            rows, summary = run_arm_english(cfg, arm, seed, out_dir, progress)
            for r in rows:  # an hf: policy is one pretrained model
                r["pretrain_seed"] = 0
            return ArmResult(arm, seed, rows, summary)
    if cfg.debate.enabled:  # the debate experiment: the evaluatee debates, the arm's evaluator judges
        from oversight_lab.loop_debate import run_arm_debate

        rows, summary = run_arm_debate(cfg, arm, seed, out_dir, progress)
        return ArmResult(arm, seed, rows, summary)
    torch.set_num_threads(1)  # one thread per job: faster for tiny models, and the same numbers at any --workers
    seed_everything(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    base_world = make_world(cfg.world, **cfg.world_params)  # what the evaluatee is pretrained on
    world = base_world
    if cfg.eval.unrated_fraction:  # contexts never rated: held out of comparisons and RL prompts
        world = HeldOutContexts(base_world, cfg.eval.unrated_fraction)
    pretrain_seed = cfg.tiny.seed if cfg.policy == "tiny" else 0  # an hf: policy is one pretrained model
    initial, init_dir = load_policy(cfg, base_world, out_dir / "checkpoints" / "initial")
    if shared_dir is not None:
        initial = share_samples(initial, shared_dir)
    pretrained = asdict(tiny_config(cfg)) if cfg.policy == "tiny" else None
    evaluator = build_evaluator(world, cfg.arms[arm], seed, name=arm, pretrained=pretrained)
    eval_tasks = world.tasks("eval", cfg.eval.n_tasks, seed=10_000)  # the same held-out tasks for every run
    rows: list[dict[str, Any]] = []

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
    rm_dir, rm_tok = _reward_backbone(cfg, base_world, init_dir, initial)
    rm = _trained_reward_model(rm_dir, rm_tok, train_cmp, cfg.reward, seed)
    rm_metrics = _reward_model_accuracy(rm, hold_cmp, world)
    (out_dir / "reward_model.json").write_text(json.dumps({**rm_metrics, "train_log": rm.train_log}, indent=1))
    timings["reward_model"] = time.perf_counter() - t0

    items: list[dict[str, Any]] = []  # per-item records (items.jsonl) when cfg.item_eval is on
    samples: list[dict[str, Any]] = []  # a few decoded answers per checkpoint (samples.jsonl)

    def checkpoint(policy: Policy, step_seed: int, optimizer: str = "initial", step: int = 0) -> dict[str, float]:
        kept: list[dict[str, Any]] = []
        row = evaluate_checkpoint(policy, initial, world, eval_tasks, rm, evaluator,
                                  cfg.eval.samples_per_task, seed=step_seed, samples_out=kept)
        samples.extend({"arm": arm, "pretrain_seed": pretrain_seed, "seed": seed, "optimizer": optimizer,
                        "step": step, **k} for k in kept)
        if cfg.item_eval:
            row.update(_item_metrics(world, policy, items, {"arm": arm, "pretrain_seed": pretrain_seed,
                                                             "seed": seed, "optimizer": optimizer, "step": step}))
        return row

    ctx = ArmContext(cfg, arm, seed, world, initial, init_dir, rm, evaluator, train_cmp, out_dir, rows,
                     checkpoint, progress)
    ctx.log("initial", 0, checkpoint(initial, seed * 7919 + 1), **rm_metrics)

    # 4. Every optimiser of the run config, in its order (best-of-n against the proxy, RL against the proxy
    # with a KL penalty, DPO on the comparisons: oversight_lab.optimize), each scoring its own checkpoints.
    for opt_cfg in optimisers(cfg):
        if opt_cfg.enabled:
            t0 = time.perf_counter()
            runner_of(opt_cfg)(ctx, opt_cfg)
            timings[opt_cfg.name] = time.perf_counter() - t0

    timings["total"] = time.perf_counter() - t_start
    for r in rows:  # the replicate's top level: which pretrained evaluatee it started from
        r["pretrain_seed"] = pretrain_seed
    with open(out_dir / "metrics.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    if items:
        with open(out_dir / "items.jsonl", "w") as f:
            for r in items:
                f.write(json.dumps(r) + "\n")
    with open(out_dir / "samples.jsonl", "w") as f:
        for r in samples:
            f.write(json.dumps(r) + "\n")
    summary = {"arm": arm, "pretrain_seed": pretrain_seed, "seed": seed, "timings": timings, **rm_metrics,
               "known_hazards": sorted(getattr(evaluator, "known_hazards", []))}
    if hasattr(evaluator, "stats"):  # model judges count their calls and unparseable replies
        summary["evaluator_stats"] = dict(evaluator.stats)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    progress("done", 1, 1)
    return ArmResult(arm, seed, rows, summary)


def _reward_backbone(cfg: RunConfig, world: World, init_dir: Path, initial: Policy) -> tuple[Path, Any]:
    """The reward model's starting LM: the evaluatee's (``policy``), a tiny one of another size (Gao et al.
    2022), or a Hugging Face causal LM (``hf:``)."""
    if cfg.reward.backbone == "policy":
        return init_dir, initial.tokenizer
    return load_backbone(cfg.reward.backbone, world, tiny_config(cfg))  # pretrained here on a cache miss


def _item_metrics(world: World, policy: Policy, items: list[dict[str, Any]],
                  where: dict[str, Any]) -> dict[str, float]:
    """The world's fixed items answered deterministically by ``policy`` (:mod:`oversight_lab.probes.items`):
    records appended to ``items`` with ``where`` (arm, seed, optimiser, step); set-level metrics returned."""
    from oversight_lab.probes.items import PolicyLM, item_eval_for

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


def _trained_reward_model(backbone: Path, tok: Any, comparisons: list[Comparison], rm_cfg: RewardModelConfig,
                          seed: int) -> RewardModel:
    """``train_reward_model``, or its members read back from the cache when ``rm_cfg.cache`` is set.

    The key is everything training sees: the comparisons as TRL reads them, the backbone's files, the training
    settings and the seed; not the aggregate, so mean, min and uwo cells of a sweep share one trained ensemble.
    A concurrent job with the same key waits for the first to finish instead of training again.
    """
    if not rm_cfg.cache:
        return train_reward_model(backbone, tok, comparisons, rm_cfg, seed=seed)
    import hashlib

    from transformers import AutoModelForSequenceClassification

    from oversight_lab.cache import cache_dir, load_or_build
    from oversight_lab.feedback.records import to_trl

    h = hashlib.sha256()
    # the key's settings: the training ones (as before the configs were unified, so cached members stay valid)
    settings = {**rm_cfg.model_dump(exclude={"aggregate", "uwo_lambda", "backbone", "cache"}), "bootstrap": True}
    h.update(json.dumps([settings, seed, to_trl(comparisons)], sort_keys=True).encode())
    for f in sorted(Path(backbone).iterdir()):
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())

    def load(path: Path) -> RewardModel:
        members = [AutoModelForSequenceClassification.from_pretrained(path / f"member-{m}").eval()
                   for m in range(rm_cfg.ensemble_size)]
        log = json.loads((path / "train_log.json").read_text())
        return RewardModel(members, tok, rm_cfg.aggregate, rm_cfg.uwo_lambda, train_log=log)

    def save(rm: RewardModel, tmp: Path) -> None:
        for m, member in enumerate(rm.members):
            member.save_pretrained(tmp / f"member-{m}")
        (tmp / "train_log.json").write_text(json.dumps(rm.train_log))

    rm, _ = load_or_build(cache_dir() / "reward_models" / h.hexdigest()[:24], load,
                          lambda: train_reward_model(backbone, tok, comparisons, rm_cfg, seed=seed), save)
    return rm
