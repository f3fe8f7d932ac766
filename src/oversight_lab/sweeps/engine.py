"""Run a grid: every (cell, arm, seed) job, on a local process pool or a Ray cluster, resumably.

Layout of a sweep directory (each cell is a complete run directory, so ``oversight-lab report`` renders one)::

    sweep.json            the grid, every cell's status, means with 95% CIs, the analysis, timings
    report.html           the sweep's report
    grid.yaml             the grid this directory was last run with (an earlier, different one is kept too)
    cells/<id>/           config.json, env.json, metrics.jsonl, summary.json once all its seeds are done
    cells/<id>/arms/<arm>/seed-<s>/   one job: the files of ``loop.run_arm`` and done.json

A job runs in a staging directory and is renamed into place when it has finished, so a job directory exists
only complete: a rerun skips every job whose directory exists, and a sweep killed at any moment and rerun
ends with the same files as one never interrupted (each job is deterministic in its seed, on one thread).
On a Ray cluster without a shared file system the job returns its log files (not model checkpoints) and the
driver writes them. Models are pretrained once, before the jobs, so parallel jobs never pretrain twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from oversight_lab.config import RunConfig
from oversight_lab.runs.rundir import environment, read_rows, write_json
from oversight_lab.sweeps.grid import Cell, Grid

__all__ = ["SweepError", "SweepLockedError", "job_dir", "run_sweep"]

PASS_ENV = (
    "OVERSIGHT_LAB_CACHE",
    "HF_HUB_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "TOKENIZERS_PARALLELISM",
    "HF_DATASETS_DISABLE_PROGRESS_BARS",
    "XDG_CACHE_HOME",
    "HF_HOME",
)
Progress = Callable[[dict[str, Any]], None]


class SweepError(RuntimeError):
    """Some jobs of a sweep failed; everything that finished is kept."""


class SweepLockedError(RuntimeError):
    """Another process is running a sweep into the same directory."""


def job_dir(sweep_dir: Path, cell_id: str, arm: str, seed: int) -> Path:
    return sweep_dir / "cells" / cell_id / "arms" / arm / f"seed-{seed}"


def _is_done(path: Path) -> bool:
    return (path / "done.json").exists()


# -- what runs in a worker (a pool process or a Ray task) ---------------------------------------------------
def _quiet() -> None:
    for key, value in (
        ("HF_HUB_DISABLE_TELEMETRY", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("HF_DATASETS_DISABLE_PROGRESS_BARS", "1"),
    ):
        os.environ.setdefault(key, value)
    import warnings

    warnings.filterwarnings("ignore")
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()


def _prepare_model(cfg_data: dict[str, Any], backbone: str | None) -> dict[str, Any]:
    """Pretrain (or find in the cache) the evaluatee, or the reward backbone ``backbone``, of a config."""
    _quiet()
    import torch

    from oversight_lab.models.loading import tiny_config
    from oversight_lab.models.tiny import load_or_pretrain
    from oversight_lab.reward.bradley_terry import load_backbone, pretrain_lock
    from oversight_lab.worlds.base import make_world

    cfg = RunConfig.model_validate(cfg_data)
    # One thread: several models pretrain side by side, one per worker, and torch's threads spin badly when
    # the cores are oversubscribed (on a loaded 2-core machine 2 workers × 2 threads ran ~10× slower than
    # 2 × 1). Pretraining itself runs on the config's `tiny.threads` (1 by default), part of the model's key.
    torch.set_num_threads(1)
    world = make_world(cfg.world, **cfg.world_params)
    t0 = time.perf_counter()
    if backbone is None:
        with pretrain_lock(world, tiny_config(cfg)):  # a backbone of the same size is the same model
            load_or_pretrain(world, tiny_config(cfg))
    else:
        load_backbone(backbone, world, tiny_config(cfg))
    return {"model": backbone or "policy", "seconds": time.perf_counter() - t0}


def _run_job(
    cfg_data: dict[str, Any], arm: str, seed: int, sweep_dir: str, cell_id: str, token: str
) -> dict[str, Any]:
    """One (cell, arm, seed): ``run_arm`` into a staging directory, renamed into place when complete."""
    _quiet()
    from oversight_lab.loop import run_arm

    cfg = RunConfig.model_validate(cfg_data)
    root = Path(sweep_dir)
    final = job_dir(root, cell_id, arm, seed)
    token_file = root / ".sweep-token"
    shared = token_file.exists() and token_file.read_text() == token  # the driver's directory is visible here
    t0 = time.perf_counter()
    if shared:
        staging = (
            root / "cells" / cell_id / ".staging" / f"{arm}-seed-{seed}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        )
        result = run_arm(cfg, arm, seed, staging)
        write_json(staging / "done.json", {"seconds": time.perf_counter() - t0, "rows": len(result.rows)})
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staging, final)
        except (
            OSError
        ):  # a stale worker of a killed sweep finished the same job first: the files are identical
            shutil.rmtree(staging, ignore_errors=True)
        return {"shared": True, "seconds": time.perf_counter() - t0}
    with tempfile.TemporaryDirectory() as tmp:
        result = run_arm(cfg, arm, seed, Path(tmp) / "job")
        write_json(
            Path(tmp) / "job" / "done.json", {"seconds": time.perf_counter() - t0, "rows": len(result.rows)}
        )
        files = {
            str(p.relative_to(Path(tmp) / "job")): p.read_bytes()
            for p in sorted((Path(tmp) / "job").rglob("*"))
            if p.is_file() and "checkpoints" not in p.relative_to(Path(tmp) / "job").parts
        }
    return {"shared": False, "files": files, "seconds": time.perf_counter() - t0}


def _store_files(final: Path, files: dict[str, bytes]) -> None:
    """Write a remote job's files on the driver, atomically (done.json arrives with the rename)."""
    staging = final.parent / f".{final.name}-{uuid.uuid4().hex[:6]}"
    for rel, data in files.items():
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).write_bytes(data)
    try:
        os.rename(staging, final)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


# -- executors: each runs the preparation tasks, then the jobs, and reports every finished job ---------------
Done = Callable[[tuple[Cell, str, int], dict[str, Any] | None, BaseException | None], None]


def _local(
    prep: list[tuple], jobs: list[tuple[tuple[Cell, str, int], tuple]], workers: int, done: Done
) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from oversight_lab.runs.workers import exit_with_parent

    ctx = mp.get_context("spawn")  # no fork after torch is imported; the same in every worker
    # workers end with the driver: a killed sweep leaves no worker finishing queued jobs, then idling
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=exit_with_parent) as pool:
        try:
            for fut in [pool.submit(_prepare_model, *args) for args in prep]:
                fut.result()
            pending = {pool.submit(_run_job, *args): key for key, args in jobs}
            while pending:
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in finished:
                    key = pending.pop(fut)
                    exc = fut.exception()
                    done(key, None if exc else fut.result(), exc)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _ray(
    prep: list[tuple], jobs: list[tuple[tuple[Cell, str, int], tuple]], address: str, workers: int, done: Done
) -> None:
    try:
        import ray
    except ImportError:
        raise SweepError("--ray needs Ray: pip install 'oversight-lab[ray]'") from None
    started = False
    if not ray.is_initialized():
        env = {"env_vars": {k: os.environ[k] for k in PASS_ENV if k in os.environ}}
        try:
            if address == "local":  # a private single-machine instance, stopped at the end
                # Ray starts task workers at nice 15; on a shared machine they starve behind everything else.
                os.environ.setdefault("RAY_worker_niceness", "0")
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, runtime_env=env)
            else:  # "auto" (the cluster this machine belongs to) or an address
                ray.init(address=address, log_to_driver=False, runtime_env=env)
        except Exception as e:  # noqa: BLE001  (Ray raises several kinds; the user needs the address and why)
            raise SweepError(
                f"--ray {address}: cannot start or reach Ray ({type(e).__name__}: {e})"
            ) from None
        started = True
    try:
        prepare = ray.remote(num_cpus=1)(_prepare_model)
        run = ray.remote(num_cpus=1, max_retries=0)(_run_job)
        ray.get([prepare.remote(*args) for args in prep])
        pending = {run.remote(*args): key for key, args in jobs}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                key = pending.pop(ref)
                try:
                    done(key, ray.get(ref), None)
                except Exception as e:  # noqa: BLE001  (a failed job is recorded; the others go on)
                    done(key, None, e)
    finally:
        if started:
            ray.shutdown()


# -- the driver ----------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    with open(path, "w") as f:
        try:
            import fcntl

            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepLockedError(f"another sweep is running in {str(path.parent)!r}") from None
        except ImportError:
            pass
        yield


def _keep_grid(out: Path, grid: Grid) -> None:
    """Store the grid; a different grid already there is kept under a new name (nothing is lost)."""
    path = out / "grid.yaml"
    if path.exists() and path.read_text() != grid.text:
        path.rename(out / f"grid-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}.yaml")
    path.write_text(grid.text)


def _finish_cell(out: Path, grid: Grid, cell: Cell) -> dict[str, Any]:
    """Write a cell's run-directory files from its jobs' logs (read from disk, so resumed = uninterrupted)."""
    from oversight_lab.runs.summary import summarise

    cell_dir = out / "cells" / cell.id
    arms = list(cell.config.arms)
    rows: list[dict[str, Any]] = []
    stages: dict[str, float] = {}
    for seed in grid.seeds:
        for arm in arms:
            path = job_dir(out, cell.id, arm, seed)
            rows.extend(read_rows(path / "metrics.jsonl"))
            if (path / "summary.json").exists():
                for stage, sec in json.loads((path / "summary.json").read_text()).get("timings", {}).items():
                    stages[stage] = stages.get(stage, 0.0) + sec
    write_json(cell_dir / "config.json", cell.config.model_dump())
    env = environment()
    env["seeds"] = grid.seeds
    write_json(cell_dir / "env.json", env)
    tmp = cell_dir / ".metrics.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(cell_dir / "metrics.jsonl")
    # a sweep's replicates: its seeds under the cell's pretraining seed (tiny.seed); the summary's intervals
    # are then over RLHF seeds, conditional on that pretrained model, and say so
    summary = summarise(rows, arms, sorted({(r.get("pretrain_seed", 0), r["seed"]) for r in rows}))
    summary.update(
        scenario=cell.config.scenario,
        cell={"id": cell.id, "label": cell.label, "overrides": cell.overrides, "sweep": grid.name},
        timings={"job_seconds_by_stage": stages},
    )
    write_json(cell_dir / "summary.json", summary)
    return {arm: summary["arms"][arm]["aggregate"] for arm in arms}


def run_sweep(
    grid: Grid, out: str | Path, workers: int = 2, ray: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Run every unfinished job of ``grid`` into the sweep directory ``out``; returns ``sweep.json``'s data.

    ``ray``: None for a local process pool of ``workers``; "local" for a private Ray instance of ``workers``
    CPUs; "auto" or an address for an existing Ray cluster. Raises ``SweepError`` (after writing everything
    that finished) if a job failed.
    """
    progress = progress or (lambda event: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    with _lock(out / ".sweep.lock"):
        _keep_grid(out, grid)
        for staging in out.glob("cells/*/.staging"):  # left by a killed sweep: incomplete by construction
            shutil.rmtree(staging, ignore_errors=True)
        token = uuid.uuid4().hex
        (out / ".sweep-token").write_text(token)
        jobs = grid.jobs()
        todo = [(c, a, s) for c, a, s in jobs if not _is_done(job_dir(out, c.id, a, s))]
        state: dict[str, Any] = {"done": len(jobs) - len(todo), "failed": [], "job_seconds": 0.0}
        engine = {"kind": "ray" if ray else "local", "workers": workers, "address": ray}
        previous = out / "sweep.json"  # every invocation is kept in "history" (the first run's timings too)
        try:
            history = json.loads(previous.read_text()).get("history", []) if previous.exists() else []
        except (OSError, ValueError):
            history = []
        meta = {
            **grid.describe(),
            "status": "running",
            "engine": engine,
            "jobs": {"total": len(jobs), "skipped": len(jobs) - len(todo), "run": 0, "failed": []},
            "environment": environment(),
            "history": history,
        }

        def cell_status() -> list[dict[str, Any]]:
            status = []
            for c, d in zip(grid.cells, grid.describe()["cells"], strict=True):
                keys = [(a, s) for s in grid.seeds for a in c.config.arms]
                n_done = sum(_is_done(job_dir(out, c.id, a, s)) for a, s in keys)
                status.append(
                    {
                        **d,
                        "jobs_total": len(keys),
                        "jobs_done": n_done,
                        "complete": n_done == len(keys),
                        "dir": f"cells/{c.id}",
                    }
                )
            return status

        write_json(out / "sweep.json", {**meta, "cells": cell_status()})
        progress({"event": "start", "total": len(jobs), "skipped": len(jobs) - len(todo), "sweep": str(out)})
        pending_cells = {c.id for c, _, _ in todo}
        remaining = {cid: sum(1 for c, _, _ in todo if c.id == cid) for cid in pending_cells}

        def on_done(
            key: tuple[Cell, str, int], result: dict[str, Any] | None, exc: BaseException | None
        ) -> None:
            cell, arm, seed = key
            if exc is None and result is not None and not result.get("shared", True):
                _store_files(job_dir(out, cell.id, arm, seed), result["files"])
            if exc is not None:
                state["failed"].append(
                    {
                        "cell": cell.id,
                        "label": cell.label,
                        "arm": arm,
                        "seed": seed,
                        "error": f"{type(exc).__name__}: {exc}",
                    }
                )
            else:
                state["done"] += 1
                state["job_seconds"] += float(result.get("seconds", 0.0)) if result else 0.0
            remaining[cell.id] -= 1
            if remaining[cell.id] == 0 and all(
                _is_done(job_dir(out, cell.id, a, s)) for s in grid.seeds for a in cell.config.arms
            ):
                _finish_cell(out, grid, cell)
            meta["jobs"]["run"] = meta["jobs"]["run"] + 1
            write_json(out / "sweep.json", {**meta, "cells": cell_status()})
            progress(
                {
                    "event": "job",
                    "cell": cell.id,
                    "label": cell.label,
                    "arm": arm,
                    "seed": seed,
                    "done": state["done"],
                    "total": len(jobs),
                    "error": None if exc is None else str(exc),
                    "seconds": result.get("seconds") if result else None,
                }
            )

        prep = _preparation(grid, [c for c in grid.cells if c.id in pending_cells])
        job_args = [((c, a, s), (grid.job_config(c, s), a, s, str(out), c.id, token)) for c, a, s in todo]
        t_jobs = time.perf_counter()
        try:
            if todo:
                if ray:
                    _ray(prep, job_args, ray, workers, on_done)
                else:
                    _local(prep, job_args, max(1, min(workers, len(todo))), on_done)
        except BaseException:
            meta["status"] = "interrupted"
            write_json(out / "sweep.json", {**meta, "cells": cell_status()})
            raise
        cells = cell_status()
        results = {}
        for cell, status in zip(grid.cells, cells, strict=True):
            if status["complete"]:
                results[cell.id] = _finish_cell(out, grid, cell)
        meta["jobs"]["failed"] = state["failed"]
        meta.update(
            status="complete" if all(c["complete"] for c in cells) else "incomplete",
            cells=cells,
            results=results,
            timings={
                "wall": time.perf_counter() - t_start,
                "jobs_wall": time.perf_counter() - t_jobs,
                "job_seconds": state["job_seconds"],
            },
        )
        for staging in out.glob("cells/*/.staging"):  # empty once every job has been renamed into place
            with contextlib.suppress(OSError):
                staging.rmdir()
        meta["history"] = [
            *history,
            {
                "started": meta["environment"]["started"],
                "engine": engine,
                "jobs_run": meta["jobs"]["run"],
                "skipped": meta["jobs"]["skipped"],
                "wall": meta["timings"]["wall"],
                "job_seconds": state["job_seconds"],
            },
        ]
        write_json(out / "sweep.json", meta)
        progress({"event": "end", "status": meta["status"], "wall": meta["timings"]["wall"]})
    if state["failed"]:
        first = state["failed"][0]
        raise SweepError(
            f"{len(state['failed'])} job(s) failed, e.g. cell {first['cell']} ({first['label']}), "
            f"arm {first['arm']}, seed {first['seed']}: {first['error']}; finished jobs are kept "
            "and a rerun retries only the failed ones"
        )
    return meta


def _model_key(cfg: RunConfig, backbone: str | None) -> str:
    """What a pretrained model depends on; a reward backbone with the evaluatee's shape is the evaluatee."""
    tiny = cfg.tiny.model_dump()
    if backbone is not None:
        from oversight_lab.models.sizes import shape_of

        layers, width, heads = shape_of(backbone)  # as reward.backbone_config
        tiny.update(n_layer=layers, n_embd=width, n_head=heads)
    return json.dumps([cfg.world, cfg.world_params, tiny], sort_keys=True)


def _preparation(grid: Grid, cells: list[Cell]) -> list[tuple[dict[str, Any], str | None]]:
    """One pretraining task per distinct model (evaluatee, reward backbone) the unfinished cells need."""
    seen: set[str] = set()
    tasks = []
    for cell, seed in ((c, s) for c in cells for s in grid.seeds):
        cfg = RunConfig.model_validate(grid.job_config(cell, seed))
        if cfg.policy != "tiny":
            continue
        for backbone in (None, None if cfg.reward.backbone == "policy" else cfg.reward.backbone):
            key = _model_key(cfg, backbone)
            if key not in seen:
                seen.add(key)
                tasks.append((cfg.model_dump(), backbone))
    return tasks
