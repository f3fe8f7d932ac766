"""Best-of-n as an optimiser of the loop: one pool of samples per held-out task from the initial policy,
scored once by the proxy, and the proxy-best of every n ≤ pool evaluated by the unbiased estimator of
:mod:`oversight_lab.optimize.best_of_n` (which holds the mathematics and the config).

Gold appears only in the metrics of answers already in the pool; the selection uses the proxy alone.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from oversight_lab.optimize.base import ArmContext
from oversight_lab.optimize.best_of_n import BestOfNConfig, bon_curve, bon_kl, exact_bon_kl

if TYPE_CHECKING:
    from oversight_lab.evaluators.base import Evaluator
    from oversight_lab.models.policy import Policy
    from oversight_lab.reward.bradley_terry import RewardModel
    from oversight_lab.worlds.base import World

__all__ = ["best_of_n_rows", "run", "sample_pool"]


def run(ctx: ArmContext, cfg: BestOfNConfig) -> None:
    ctx.progress("best-of-n", 0, 1)
    ctx.rows.extend(best_of_n_rows(cfg, ctx.initial, ctx.world, ctx.rm, ctx.evaluator, ctx.arm, ctx.seed))


def sample_pool(policy: Policy, prompts: list[str], n: int, seed: int, cache: bool) -> list[list[str]]:
    """``policy.sample(prompts, n, seed)``, kept in the cache when ``cache`` is set.

    The pool depends only on the initial policy (its weights), the prompts, n and the seed, so every cell of
    a sweep that shares them (reward-model sizes, data sizes, ensembles) reads one pool, not a resample.
    """
    if not cache:
        return policy.sample(prompts, n=n, seed=seed)
    import gzip
    import hashlib

    from oversight_lab.cache import cache_dir, load_or_build

    h = hashlib.sha256()
    for name, tensor in sorted(policy.model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    h.update(json.dumps([prompts, n, seed, policy.max_new_tokens, policy.word_level,
                         sorted(policy.tokenizer.get_vocab().items())]).encode())
    pool, _ = load_or_build(
        cache_dir() / "pools" / f"{h.hexdigest()[:24]}.json.gz",
        lambda path: json.loads(gzip.decompress(path.read_bytes())),
        lambda: policy.sample(prompts, n=n, seed=seed),
        lambda pool, tmp: tmp.write_bytes(gzip.compress(json.dumps(pool).encode())),
    )
    return pool


def best_of_n_rows(cfg: BestOfNConfig, initial: Policy, world: World, rm: RewardModel, evaluator: Evaluator,
                   arm: str, seed: int) -> list[dict[str, Any]]:
    """The best-of-n curve of one arm and seed: a row per n (a power of two, and the pool size) with every
    metric of the proxy-best of n (unbiased estimator), the analytic KL and the exact KL on the pool."""
    tasks = world.tasks("eval", cfg.n_tasks, seed=10_000)
    n_pool = cfg.pool_size
    pool = sample_pool(initial, [t.prompt for t in tasks], n_pool, seed * 7919 + 3, cfg.cache_pool)
    # Score each distinct (task, completion) once: a pool of 10^4 from a tiny policy holds a few hundred.
    keys = [(j, c) for j, cs in enumerate(pool) for c in cs]
    index: dict[tuple[int, str], int] = {}
    inverse = np.array([index.setdefault(k, len(index)) for k in keys])
    u_tasks = [tasks[j] for j, _ in index]
    u_text = [c for _, c in index]
    u_proxy = rm.score([t.prompt for t in u_tasks], u_text)
    answers = [world.parse(t, c) for t, c in zip(u_tasks, u_text, strict=True)]
    fails = [world.failure_metrics(t, a) for t, a in zip(u_tasks, answers, strict=True)]
    names = ["gold/mean", "proxy/mean", "evaluator/mean", *fails[0].keys()]
    u_values = np.stack([
        [world.gold(t, a) for t, a in zip(u_tasks, answers, strict=True)],
        u_proxy,
        [evaluator.score(t, c) or 0.0 for t, c in zip(u_tasks, u_text, strict=True)],
        *[[f[k] for f in fails] for k in fails[0]],
    ], axis=-1)
    proxy = u_proxy[inverse].reshape(len(tasks), n_pool)
    values = u_values[inverse].reshape(len(tasks), n_pool, len(names))
    ns = np.unique(np.concatenate([2 ** np.arange(int(np.log2(n_pool)) + 1), [n_pool]])).astype(int)
    curve = bon_curve(proxy, values, ns)
    # The plug-in exact KL: best-of-n over the pool's empirical distribution (Beirami et al. 2024). The
    # analytic
    # log n − (n−1)/n overstates it once n approaches 1 / P(the proxy's favourite answer).
    task_of = np.array([j for j, _ in index])
    counts = np.bincount(inverse, minlength=len(index)).astype(float)
    exact = np.array([[exact_bon_kl(counts[task_of == j] / n_pool, u_proxy[task_of == j], int(n))
                       for j in range(len(tasks))] for n in ns]).mean(axis=1)
    rows = []
    for n, vals, kl_pool in zip(ns, curve, exact, strict=True):
        kl = float(bon_kl(n))
        metrics = dict(zip(names, map(float, vals), strict=True))
        if hasattr(world, "derived_metrics"):  # optional world hook: rates conditioned on the task, gaps
            metrics.update(world.derived_metrics(metrics))
        rows.append({"arm": arm, "seed": seed, "optimizer": "bon", "step": int(n), "n": int(n),
                     "kl/bon_exact_pool": float(kl_pool),
                     "kl/bon_analytic": kl, "kl/sqrt": float(np.sqrt(kl)), **metrics})
    return rows
