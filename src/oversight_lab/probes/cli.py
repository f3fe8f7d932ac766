"""``oversight-lab probe MODEL DATASET``: activations per layer, linear/mass-mean/CCS probes, honesty gap,
plot.

MODEL: ``hf:<id or path>``, ``run:<checkpoint dir>`` (or ``run:<RUN_DIR>`` with ``--checkpoint
ARM/SEED/NAME``), or a checkpoint directory (probes need the weights, so no endpoints). DATASET: ``alchemy``,
``boolq`` (hub),
``hf:<id>`` or a JSONL file (see :mod:`oversight_lab.probes.datasets`).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "run_probe"]


def run_probe(
    model: str,
    dataset: str,
    out: Path,
    checkpoint: str | None = None,
    limit: int | None = None,
    methods: tuple[str, ...] = ("logreg", "mass_mean", "ccs"),
    folds: int = 5,
    ccs_tries: int = 10,
    ccs_epochs: int = 1000,
    seed: int = 0,
) -> dict:
    """Collect activations, sweep layers and probes, write ``probe.json``, ``items.jsonl``, the plot."""
    from oversight_lab.evals.backends import load_backend
    from oversight_lab.evals.logs import environment
    from oversight_lab.probes.activations import collect_activations
    from oversight_lab.probes.datasets import load_probe_dataset
    from oversight_lab.probes.sweep import SweepConfig, layer_sweep, plot_layer_sweep

    if model.startswith("openai:"):
        raise ValueError("probes need a model's activations: use hf:, run: or a checkpoint directory")
    backend = load_backend(model, checkpoint=checkpoint)
    items = load_probe_dataset(dataset, limit)
    acts = collect_activations(backend, items)
    acts.save(out)
    cfg = SweepConfig(methods=methods, folds=folds, ccs_tries=ccs_tries, ccs_epochs=ccs_epochs, seed=seed)
    result = layer_sweep(acts, cfg)
    short = "/".join(backend.name.rstrip("/").split("/")[-3:])
    plot_layer_sweep(result, out / "layer_sweep.png", title=f"…{short} on {dataset}")
    with (out / "items.jsonl").open("w") as fh:
        for it, reading, stated in zip(items, result["readings"], acts.stated, strict=True):
            fh.write(
                json.dumps(
                    {
                        "id": it.id,
                        "prompt": it.prompt,
                        "answers": list(it.answers),
                        "label": it.label,
                        "stated": int(stated),
                        "probe_reading": reading,
                        "probe_says": int(reading > 0.5),
                    }
                )
                + "\n"
            )
    summary = {
        "model": backend.name,
        "dataset": dataset,
        "n_items": len(items),
        "config": cfg.__dict__,
        "tokenizer_hash": backend.info.get("tokenizer_hash"),
        "created": datetime.now().isoformat(),
        "environment": environment(),
        **{k: v for k, v in result.items() if k != "readings"},
    }
    (out / "probe.json").write_text(json.dumps(summary, indent=2))
    return summary


def register(app: typer.Typer) -> None:
    """Add the ``probe`` command to ``app``."""

    @app.command("probe")
    def probe_command(
        model: Annotated[
            str, typer.Argument(help="hf:<id or path>, run:<checkpoint dir>, or a checkpoint dir.")
        ],
        dataset: Annotated[str, typer.Argument(help="alchemy, boolq, hf:<id> or a JSONL file.")],
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Output directory.")] = None,
        checkpoint: Annotated[str | None, typer.Option(help="ARM/SEED/NAME inside a run directory.")] = None,
        limit: Annotated[int | None, typer.Option(help="Use only the first N items.")] = None,
        method: Annotated[list[str] | None, typer.Option(help="logreg, mass_mean, ccs (repeatable).")] = None,
        folds: Annotated[int, typer.Option(help="Cross-fitting folds.")] = 5,
        ccs_tries: Annotated[int, typer.Option(help="CCS random restarts.")] = 10,
        ccs_epochs: Annotated[int, typer.Option(help="CCS Adam steps per restart.")] = 1000,
        seed: Annotated[int, typer.Option(help="Folds and CCS initialisation.")] = 0,
    ) -> None:
        """Probe a model's hidden states for what it knows; compare with what it says (honesty gap)."""
        out = out or Path("runs") / "probes" / f"{datetime.now():%Y%m%d-%H%M%S}"
        summary = run_probe(
            model,
            dataset,
            out,
            checkpoint,
            limit,
            tuple(method or ("logreg", "mass_mean", "ccs")),
            folds,
            ccs_tries,
            ccs_epochs,
            seed,
        )
        m = summary["metrics"]
        for key in sorted(k for k in m if "@" not in k):
            typer.echo(f"{key:36s} {m[key]:.4f}")
        typer.echo(json.dumps({"out": str(out), "plot": str(out / "layer_sweep.png")}))
