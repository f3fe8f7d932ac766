"""Run a config: every (arm, seed) job, in parallel worker processes, into one run directory.

The evaluatee is pretrained (or loaded from the cache) once, in a worker, before the jobs start: every seed
starts RLHF from the same base model. Workers use one torch thread each, so the numbers are the same whatever
``workers`` is. The main process never imports torch; it shows progress and writes the run directory.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from pathlib import Path
from typing import Any, NamedTuple

from oversight_lab.config import RunConfig, replicates
from oversight_lab.runs.rundir import arm_dir, environment, shared_samples_dir, write_json
from oversight_lab.runs.summary import summarise
from oversight_lab.runs.workers import exit_with_parent

__all__ = ["execute", "execute_many", "finish_run_dir", "jobs_of"]

Event = tuple[str, str, int, int]  # (job label, stage, done, total)


def jobs_of(cfg: RunConfig) -> list[tuple[str, int, int]]:
    """Every (arm, pretraining seed, RLHF seed) job of a run, replicate-major."""
    return [(arm, p, s) for p, s in replicates(cfg) for arm in cfg.arms]


def _with_pretrain_seed(cfg_data: dict, pretrain_seed: int) -> dict:
    """A job's config: the run's, with the pretraining seed it starts from as ``tiny.seed``."""
    return {**cfg_data, "tiny": {**cfg_data["tiny"], "seed": pretrain_seed}}


def _pretrain_key(cfg_data: dict) -> str:
    import json

    return json.dumps([cfg_data["world"], cfg_data["world_params"], cfg_data["tiny"], cfg_data["policy"]],
                      sort_keys=True, default=str)


def _quiet() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    import warnings

    warnings.filterwarnings("ignore")
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


_EVENTS: Any = None  # a worker's end of the run's event queue (set by _start_worker)


def _start_worker(events: Any) -> None:
    """A pool worker's initializer: keep the event queue (handed over when the worker is created, the one way
    a multiprocessing queue reaches another process without a manager process to serve it) and end with the
    parent."""
    global _EVENTS
    _EVENTS = events
    exit_with_parent()


def _prepare(cfg_data: dict, label: str = "pretrain") -> dict:
    """Pretrain (or load) the evaluatee once, so the jobs all find it in the cache; import what a job needs
    first, as the other workers do meanwhile, so that every worker starts its first job at the same time."""
    _warm_up()
    from oversight_lab.models.loading import tiny_config
    from oversight_lab.models.tiny import load_or_pretrain
    from oversight_lab.worlds.base import make_world

    cfg = RunConfig.model_validate(cfg_data)
    if cfg.policy != "tiny":
        return {"cache_hit": None}
    world = make_world(cfg.world, **cfg.world_params)

    def progress(step: int, total: int, loss: float) -> None:
        if step % 25 == 0 or step == total:
            _EVENTS.put((label, f"pretrain (loss {loss:.2f})", step, total))

    _, _, _, info = load_or_pretrain(world, tiny_config(cfg), progress)
    _EVENTS.put((label, "pretrain (cached)" if info["cache_hit"] else "pretrain", 1, 1))
    return {
        "world": cfg.world,
        "pretrain_seed": cfg.tiny.seed,
        "cache_hit": info["cache_hit"],
        "seconds": info.get("seconds"),
        "final_loss": info.get("final_loss"),
    }


def _warm_up() -> None:
    """Import what a job needs (torch, transformers, and TRL's trainers, which ``import trl`` defers to their
    first use: 1.4 s), in a worker that would otherwise wait idle while another one prepares. A worker that
    imported them inside its first job would start its later jobs behind the others and leave the pool's tail
    to one core."""
    _quiet()
    from trl import DPOTrainer, GRPOTrainer, RewardTrainer, RLOOTrainer  # noqa: F401

    import oversight_lab.loop  # noqa: F401  (torch, transformers)


def _import_for_report_when_a_core_idles(futures: list[Future], workers: int) -> None:
    """Once fewer jobs are left than workers, a core waits for the last ones: import there, in a thread of
    this process, what the summary and the report need afterwards (scipy.stats and matplotlib, ~3 s)."""

    def run() -> None:
        remaining = set(futures)
        while len(remaining) >= workers:
            _, remaining = wait(remaining, return_when=FIRST_COMPLETED)
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
        import scipy.stats  # noqa: F401

    threading.Thread(target=run, daemon=True).start()


class JobResult(NamedTuple):
    """What a job sends back to the main process: plain data. Returning the loop's ``ArmResult`` made the main
    process unpickle it, and so import ``oversight_lab.loop`` with torch and transformers (6–8 s, in the
    executor's own thread, which meanwhile handed no job to a worker that had finished one: ~5 s idle)."""

    rows: list[dict[str, Any]]
    summary: dict[str, Any]


def _freeze_heap() -> None:
    """Collect the previous job's garbage, then move every object left (the imported modules of torch,
    transformers and TRL: millions of them) to the collector's permanent generation. Each TRL trainer ends
    with a full ``gc.collect()`` (accelerate's ``free_memory``), which otherwise walks them all: 0.4 s a
    trainer, three trainers a job, ~15% of a warm job's CPU on this machine. Numbers are unchanged: the
    collector frees memory, it computes nothing."""
    import gc

    gc.collect()
    gc.freeze()


def _job(cfg_data: dict, arm: str, seed: int, run_dir: str, label: str) -> JobResult:
    _quiet()
    from oversight_lab.loop import run_arm

    _freeze_heap()

    cfg = RunConfig.model_validate(cfg_data)
    started = time.time()
    res = run_arm(
        cfg,
        arm,
        seed,
        arm_dir(Path(run_dir), arm, seed),
        progress=lambda stage, done, total: _EVENTS.put((label, stage, done, total)),
        shared_dir=shared_samples_dir(Path(run_dir), cfg.tiny.seed, seed),
    )
    clock = {"started": started, "ended": time.time(), "pid": os.getpid()}
    return JobResult(res.rows, {**res.summary, "clock": clock})


def _progress_ui(events: Any, labels: list[str], enabled: bool) -> tuple[Callable[[], None], Any]:
    """A Rich progress display fed from the workers' event queue (a no-op when disabled)."""
    stop = threading.Event()
    if not enabled:

        def drain() -> None:
            while not stop.is_set():
                with contextlib.suppress(queue.Empty, EOFError, OSError):
                    events.get(timeout=0.2)

        t = threading.Thread(target=drain, daemon=True)
        t.start()
        return lambda: (stop.set(), t.join()), None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.fields[label]:<18}"),
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    tasks = {lab: bar.add_task("waiting", total=1, label=lab) for lab in labels}
    bar.start()

    def pump() -> None:
        while not stop.is_set():
            try:
                label, stage, done, total = events.get(timeout=0.1)
            except (queue.Empty, EOFError, OSError):
                continue
            if label in tasks:
                bar.update(tasks[label], description=stage, completed=done, total=max(total, 1))

    t = threading.Thread(target=pump, daemon=True)
    t.start()

    def close() -> None:
        stop.set()
        t.join()
        bar.stop()

    return close, bar


def execute(cfg: RunConfig, run_dir: Path, show_progress: bool = True) -> dict[str, Any]:
    """Run every job of ``cfg`` into ``run_dir`` and write its config, env, metrics and summary; then stop.

    Analyses (:mod:`oversight_lab.analyses`) and the report read the run directory afterwards."""
    return execute_many({cfg.scenario: cfg}, {cfg.scenario: run_dir}, cfg.workers, show_progress)[cfg.scenario]


def execute_many(
    cfgs: dict[str, RunConfig], run_dirs: dict[str, Path], workers: int = 2, show_progress: bool = True
) -> dict[str, dict[str, Any]]:
    """Run several configs (e.g. every story) in one pool of workers, each into its run directory.

    Each distinct pretrained evaluatee (a world, its tiny settings and a pretraining seed) is built once, the
    slowest first, side by side in the workers; then every (config, arm, pretraining seed, RLHF seed) job runs.
    Returns each config's summary (what :func:`finish_run_dir` wrote)."""
    t_start, t_epoch = time.perf_counter(), time.time()
    env = environment()
    jobs = [(name, arm, p, s) for name, cfg in cfgs.items() for arm, p, s in jobs_of(cfg)]
    for name, cfg in cfgs.items():
        write_json(run_dirs[name] / "config.json", cfg.model_dump())
    prep: dict[str, dict] = {}  # pretraining key → the config data that builds it
    for _, cfg in sorted(cfgs.items(), key=lambda kv: -kv[1].tiny.steps):
        for p in sorted({p for _, p, _ in jobs_of(cfg)}):
            data = _with_pretrain_seed(cfg.model_dump(), p)
            prep.setdefault(_pretrain_key(data), data)
    n_workers = max(1, min(workers, len(jobs)))
    ctx = mp.get_context("spawn")
    events = ctx.Queue()  # handed to each worker when it starts (_start_worker)
    with contextlib.closing(events):
        labels = [f"pretrain {k[:40]}" for k in prep] + [f"{n} {a} {p}/{s}" for n, a, p, s in jobs]
        close, _ = _progress_ui(events, labels, show_progress)
        try:
            t0 = time.perf_counter()
            with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_start_worker,
                                     initargs=(events,)) as pool:
                # the pool spawns a worker per submission while none is idle: every worker starts and imports
                # now, pretraining one evaluatee each; the jobs of a pretrained evaluatee are queued as soon as
                # it is ready, so they run while the next one pretrains
                pre = {pool.submit(_prepare, data, f"pretrain {k[:40]}"): k for k, data in prep.items()}
                warm = [pool.submit(_warm_up) for _ in range(max(0, n_workers - len(pre)))]
                key_of_job = {
                    (n, a, p, s): _pretrain_key(_with_pretrain_seed(cfgs[n].model_dump(), p)) for n, a, p, s in jobs
                }
                futures: dict[tuple, Future] = {}
                prep_info = []
                # a pretrained evaluatee's jobs go arm by arm, so that a replicate's later arms start once its
                # first has sampled the initial policy, and read those samples (models/shared_samples.py)
                arm_rank = {(n, a): i for n, cfg in cfgs.items() for i, a in enumerate(cfg.arms)}
                submit_order = sorted(key_of_job, key=lambda j: (arm_rank[j[0], j[1]], j[2], j[3]))
                for done in as_completed(pre):
                    prep_info.append(done.result())
                    for job in submit_order:
                        if key_of_job[job] == pre[done]:
                            n, a, p, s = job
                            futures[job] = pool.submit(
                                _job, _with_pretrain_seed(cfgs[n].model_dump(), p), a, s, str(run_dirs[n]),
                                f"{n} {a} {p}/{s}")
                for w in warm:
                    w.result()
                t_prep = time.perf_counter() - t0
                _import_for_report_when_a_core_idles(list(futures.values()), n_workers)
                results = {job: futures[job].result() for job in key_of_job}  # in job order, not finishing order
        finally:
            close()
    summaries = {}
    for name, cfg in cfgs.items():
        shutil.rmtree(run_dirs[name] / ".shared-samples", ignore_errors=True)  # a scratch store, not a result
        mine = [res for (n, *_), res in results.items() if n == name]
        stages: dict[str, float] = {}
        for res in mine:
            for stage, sec in res.summary["timings"].items():
                stages[stage] = stages.get(stage, 0.0) + sec
        clocks = [res.summary["clock"] for res in mine]
        timings = {
            "wall": time.perf_counter() - t_start,
            # the pool's idle time: before the first job started, and after each worker's last job ended
            "first_job_started": min(c["started"] for c in clocks) - t_epoch,
            "workers_done": sorted(max(c["ended"] for c in clocks if c["pid"] == pid) - t_epoch
                                   for pid in {c["pid"] for c in clocks}),
            "prepare": t_prep,
            "workers": n_workers,
            "job_seconds": stages.get("total", 0.0),
            "job_seconds_by_stage": stages,
            "pretrain": prep_info,
        }
        summaries[name] = finish_run_dir(run_dirs[name], cfg, [r for res in mine for r in res.rows], env, timings)
    return summaries


def finish_run_dir(run_dir: Path, cfg: RunConfig, rows: list[dict[str, Any]], env: dict[str, Any],
                   timings: dict[str, Any]) -> dict[str, Any]:
    """Write a finished run's env, metrics and summary (its config was written when it started)."""
    import json

    reps = replicates(cfg)
    write_json(run_dir / "env.json", {**env, "seeds": sorted({s for _, s in reps}),
                                      "replicates": [list(r) for r in reps], "seed_block": cfg.seed_block})
    with open(run_dir / "metrics.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    summary = summarise(rows, list(cfg.arms), reps)
    summary["timings"] = timings
    summary["scenario"] = cfg.scenario
    write_json(run_dir / "summary.json", summary)
    return summary
