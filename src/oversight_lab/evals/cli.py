"""``oversight-lab eval``: run eval tasks on a model, or compare two models on the same items.

    oversight-lab eval MODEL TASK… [--data TASK=SOURCE] [--out DIR]
    oversight-lab eval --compare MODEL_A MODEL_B TASK… [--cluster group|template|item]
    oversight-lab eval --list

MODEL: ``hf:<id or path>``, ``openai:<base_url>#<model>``, ``run:<checkpoint dir>`` (or ``run:<RUN_DIR>`` with
``--checkpoint ARM/SEED/NAME``), or a checkpoint directory. SOURCE: ``hub`` (the real dataset, the default),
``sample`` (the small file the project ships), ``hf:<dataset id>``, or a local .jsonl/.csv in the original
format.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["parse_data_options", "register"]


def parse_data_options(data: list[str], tasks: list[str]) -> dict[str, str]:
    """``--data`` values → {task: source}; a bare value applies to every task."""
    sources = {t: "hub" for t in tasks}
    for entry in data:
        if "=" in entry:
            task, source = entry.split("=", 1)
            if task not in sources:
                raise typer.BadParameter(
                    f"--data {entry!r}: {task!r} is not among the tasks {', '.join(tasks)}"
                )
            sources[task] = source
        else:
            sources = {t: entry for t in tasks}
    return sources


def _slug(spec: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in spec.split("#")[-1].rstrip("/"))
    return keep[-40:].strip("-") or "model"


def _print_metrics(metrics: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("metric", "value")
    for k, v in sorted(metrics.items()):
        table.add_row(k, "—" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v))
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to ``app`` (the main CLI wires it in)."""

    @app.command("eval")
    def eval_command(
        args: Annotated[
            list[str] | None, typer.Argument(help="MODEL TASK… ; with --compare: MODEL_A MODEL_B TASK…")
        ] = None,
        compare: Annotated[bool, typer.Option("--compare", help="Paired comparison of two models.")] = False,
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="Log directory (default runs/evals/…).")
        ] = None,
        data: Annotated[
            list[str] | None, typer.Option("--data", help="TASK=SOURCE, or SOURCE for all tasks.")
        ] = None,
        limit: Annotated[
            int | None, typer.Option(help="Use only the first N rows of each data source.")
        ] = None,
        prompt_format: Annotated[
            str, typer.Option("--format", help="hh (Human:/Assistant:) or chat.")
        ] = "hh",
        checkpoint: Annotated[
            str | None, typer.Option(help="ARM/SEED/NAME inside a run directory MODEL.")
        ] = None,
        batch_size: Annotated[int, typer.Option(help="Sequences per forward pass (HF models).")] = 32,
        activations: Annotated[bool, typer.Option(help="Also save per-layer prompt activations.")] = False,
        cluster: Annotated[
            str, typer.Option(help="Bootstrap clusters for --compare: group, template, item.")
        ] = "group",
        n_boot: Annotated[int, typer.Option(help="Bootstrap draws for --compare.")] = 1000,
        personas: Annotated[Path | None, typer.Option(help="Personas JSONL for sandbagging_persona.")] = None,
        world: Annotated[str, typer.Option(help="World of the world_* tasks.")] = "alchemy",
        order_seed: Annotated[
            int, typer.Option(help="Seed of the per-item choice order of tasks that shuffle their choices.")
        ] = 0,
        list_tasks: Annotated[bool, typer.Option("--list", help="List the eval tasks and exit.")] = False,
    ) -> None:
        """Behavioural evals (sycophancy, TruthfulQA, sandbagging, calibration) with per-sample logs."""
        from oversight_lab.evals.tasks import TASKS

        if list_tasks:
            for name in sorted(TASKS):
                typer.echo(f"{name:40s} {TASKS[name].description}")  # type: ignore[attr-defined]
            return
        args = args or []
        n_models = 2 if compare else 1
        if len(args) <= n_models:
            raise typer.BadParameter(
                f"expected {'MODEL_A MODEL_B' if compare else 'MODEL'} and at least one TASK"
            )
        models, tasks = args[:n_models], args[n_models:]
        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            raise typer.BadParameter(f"unknown task(s) {', '.join(unknown)}; see --list")
        sources = parse_data_options(data or [], tasks)
        options: dict[str, dict[str, Any]] = {t: {} for t in tasks}
        for t in tasks:
            if t.startswith("world_"):
                options[t]["world"] = world
            if t == "sandbagging_persona" and personas:
                options[t]["personas"] = str(personas)
            if order_seed:
                options[t]["order_seed"] = order_seed
        out = (
            out
            or Path("runs") / "evals" / f"{datetime.now():%Y%m%d-%H%M%S}-{'-vs-'.join(map(_slug, models))}"
        )

        from oversight_lab.evals.backends import load_backend
        from oversight_lab.evals.report import render_compare_report, render_eval_report
        from oversight_lab.evals.runner import run_eval

        logs = []
        for k, spec in enumerate(models):
            log_dir = out / "ab"[k] if compare else out
            backend = load_backend(
                spec, checkpoint=checkpoint if not compare else None, batch_size=batch_size
            )
            header = run_eval(backend, tasks, log_dir, sources, limit, prompt_format, activations, options)
            render_eval_report(log_dir, log_dir / "report.html")
            logs.append(log_dir)
            if not compare:
                _print_metrics(header["metrics"])
        if compare:
            from oversight_lab.evals.compare import compare_logs, write_comparison

            result = compare_logs(logs[0], logs[1], cluster=cluster, n_boot=n_boot)
            summary = write_comparison(result, out)
            render_compare_report(summary, out / "compare.html")
            deltas = {
                f"{k} (Δ B−A)": m["delta"] for r in result["tasks"].values() for k, m in r["metrics"].items()
            }
            _print_metrics(deltas)
            typer.echo(json.dumps({"compare": str(summary), "report": str(out / "compare.html")}))
        else:
            typer.echo(json.dumps({"log": str(out), "report": str(out / "report.html")}))
