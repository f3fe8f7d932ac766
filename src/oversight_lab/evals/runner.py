"""Run eval tasks on a backend and write the log: build items, score them (and any follow-up turn),
reduce to metrics, write ``eval.json`` + ``samples.jsonl`` (+ activations)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oversight_lab.evals.backends import Backend
from oversight_lab.evals.items import Scored
from oversight_lab.evals.logs import environment, write_eval_log
from oversight_lab.evals.tasks.base import make_task

__all__ = ["evaluate_task", "run_eval"]


def evaluate_task(
    backend: Backend,
    task_name: str,
    source: str = "hub",
    limit: int | None = None,
    prompt_format: str = "hh",
    **options: Any,
) -> tuple[list[Scored], dict[str, float], dict[str, Any]]:
    """``(samples, metrics, info)`` of one task on one backend."""
    task = make_task(task_name, **options)
    fmt = backend.prompt_format(prompt_format)
    items = task.build(task.rows(source, limit), fmt)
    if not items:
        raise ValueError(f"task {task_name}: no items to score from {source!r}")
    scored = backend.score(items)
    follow = task.followup(scored, fmt)
    if follow:
        scored = scored + backend.score(follow)
    info = {
        "source": source,
        "limit": limit,
        "description": task.description,
        "n_samples": len(scored),
        "notes": task.notes,
        "prompt_format": fmt.name,
        "options": options,
    }
    return scored, task.metrics(scored), info


def run_eval(
    backend: Backend,
    tasks: list[str],
    out_dir: str | Path,
    sources: dict[str, str] | str = "hub",
    limit: int | None = None,
    prompt_format: str = "hh",
    activations: bool = False,
    task_options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Evaluate ``tasks`` and write the log to ``out_dir``; returns the header (with ``metrics``)."""
    t0 = time.perf_counter()
    samples: list[Scored] = []
    metrics: dict[str, float] = {}
    task_info: dict[str, Any] = {}
    for name in tasks:
        source = sources if isinstance(sources, str) else sources.get(name, "hub")
        scored, m, info = evaluate_task(
            backend, name, source, limit, prompt_format, **(task_options or {}).get(name, {})
        )
        samples += scored
        metrics.update(m)
        task_info[name] = info
    acts = None
    if activations:
        states = getattr(backend, "last_token_states", None)
        if states is None:
            raise ValueError(f"{backend.name}: activations need a local model (hf: or run:), not an endpoint")
        tensor = states([s.item.prompt for s in samples])
        acts = {s.item.id: tensor[i] for i, s in enumerate(samples)}
    methods: dict[str, dict[str, int]] = {}
    for s in samples:
        methods.setdefault(s.item.task, {}).setdefault(s.method, 0)
        methods[s.item.task][s.method] += 1
    header = {
        "model": backend.name,
        "backend": backend.info,
        "tasks": task_info,
        "metrics": metrics,
        "methods": methods,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 3),
        "environment": environment(),
    }
    write_eval_log(out_dir, header, samples, acts)
    return header
