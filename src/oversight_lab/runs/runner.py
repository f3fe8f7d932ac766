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
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any, NamedTuple

from oversight_lab.config import RunConfig
from oversight_lab.runs.rundir import arm_dir, environment, read_rows, write_json
from oversight_lab.runs.summary import summarise
from oversight_lab.runs.workers import exit_with_parent

__all__ = ["execute", "jobs_of"]

Event = tuple[str, str, int, int]  # (job label, stage, done, total)


def jobs_of(cfg: RunConfig) -> list[tuple[str, int]]:
    return [(arm, cfg.seed + k) for k in range(cfg.seeds) for arm in cfg.arms]


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


def _prepare(cfg_data: dict, events: Any) -> dict:
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
            events.put(("pretrain", f"pretrain (loss {loss:.2f})", step, total))

    _, _, _, info = load_or_pretrain(world, tiny_config(cfg), progress)
    events.put(("pretrain", "pretrain (cached)" if info["cache_hit"] else "pretrain", 1, 1))
    return {
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


def _job(cfg_data: dict, arm: str, seed: int, run_dir: str, events: Any) -> JobResult:
    _quiet()
    from oversight_lab.loop import run_arm

    cfg = RunConfig.model_validate(cfg_data)
    label = f"{arm} seed {seed}"
    res = run_arm(
        cfg,
        arm,
        seed,
        arm_dir(Path(run_dir), arm, seed),
        progress=lambda stage, done, total: events.put((label, stage, done, total)),
    )
    return JobResult(res.rows, res.summary)


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
    """Run every job of ``cfg`` into ``run_dir`` and write config, env, metrics, summary and the report."""
    t_start = time.perf_counter()
    jobs = jobs_of(cfg)
    write_json(run_dir / "config.json", cfg.model_dump())
    env = environment()
    env["seeds"] = sorted({s for _, s in jobs})
    write_json(run_dir / "env.json", env)
    cfg_data = cfg.model_dump()
    workers = max(1, min(cfg.workers, len(jobs)))
    ctx = mp.get_context("spawn")
    manager = SyncManager(ctx=ctx)
    manager.start(exit_with_parent)  # the event queue's server process, too, ends with this one
    with manager:
        events = manager.Queue()
        labels = ["pretrain"] + [f"{a} seed {s}" for a, s in jobs]
        close, _ = _progress_ui(events, labels, show_progress)
        try:
            t0 = time.perf_counter()
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=exit_with_parent)
            with pool:
                prep_future = pool.submit(_prepare, cfg_data, events)
                # the pool spawns a worker per submission while none is idle: the others start and import now,
                # during the preparation, instead of after it
                warm = [pool.submit(_warm_up) for _ in range(workers - 1)]
                prep = prep_future.result()
                for w in warm:
                    w.result()
                t_prep = time.perf_counter() - t0
                futures = [pool.submit(_job, cfg_data, arm, seed, str(run_dir), events) for arm, seed in jobs]
                _import_for_report_when_a_core_idles(futures, workers)
                results = [f.result() for f in futures]
        finally:
            close()
    rows = [r for res in results for r in res.rows]
    with open(run_dir / "metrics.jsonl", "w") as f:
        import json

        for r in rows:
            f.write(json.dumps(r) + "\n")
    summary = summarise(rows, list(cfg.arms), env["seeds"])
    stage_totals: dict[str, float] = {}
    for res in results:
        for stage, sec in res.summary["timings"].items():
            stage_totals[stage] = stage_totals.get(stage, 0.0) + sec
    summary["timings"] = {
        "wall": time.perf_counter() - t_start,
        "prepare": t_prep,
        "workers": workers,
        "job_seconds_by_stage": stage_totals,
        "pretrain": prep,
    }
    summary["scenario"] = cfg.scenario
    write_json(run_dir / "summary.json", summary)
    from oversight_lab.report.html import write_report

    write_report(run_dir)
    return summary


def load_run(run_dir: Path) -> tuple[dict, list[dict], dict]:
    """Config, metric rows and summary of a finished run (what reports read; never live objects)."""
    import json

    from oversight_lab.runs.rundir import RunDirError

    missing = [n for n in ("config.json", "metrics.jsonl", "summary.json") if not (run_dir / n).exists()]
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {str(run_dir)!r} does not exist")
    if missing:
        raise RunDirError(f"run directory {str(run_dir)!r} is incomplete: missing {', '.join(missing)}")
    return (
        json.loads((run_dir / "config.json").read_text()),
        read_rows(run_dir / "metrics.jsonl"),
        json.loads((run_dir / "summary.json").read_text()),
    )
