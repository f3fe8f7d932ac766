"""Sweep analyses: a registry (one of the lab's real extension points) and the data they read.

A sweep writes its directory and stops; then an analysis reads the finished sweep's files only (``sweep.json``
and each cell's ``metrics.jsonl``), never live objects, and its numbers are stored in ``sweep.json`` under
``analysis_result`` (:func:`analyse_sweep`). The report renders them (``report/sweep.py``). The
overoptimisation analyses (:mod:`oversight_lab.analyses.overopt`) register ``gao`` and ``coste``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SWEEP_ANALYSES", "SweepData", "analyse_sweep", "load_sweep", "register_sweep_analysis", "sweep_analyses"]


@dataclass
class SweepData:
    """A sweep directory read back: its ``sweep.json``, and the metric rows of every finished cell."""

    path: Path
    meta: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]

    def cells(self) -> list[dict[str, Any]]:
        """The grid's cells, in grid order, that have results."""
        return [c for c in self.meta["cells"] if c["id"] in self.rows]

    def cell_config(self, cell_id: str) -> dict[str, Any]:
        return json.loads((self.path / "cells" / cell_id / "config.json").read_text())


SWEEP_ANALYSES: dict[str, Callable[[SweepData], dict[str, Any]]] = {}


def register_sweep_analysis(name: str, compute: Callable[[SweepData], dict[str, Any]]) -> None:
    SWEEP_ANALYSES[name] = compute


def sweep_analyses() -> dict[str, Callable[[SweepData], dict[str, Any]]]:
    """Every registered sweep analysis (importing the modules that register them)."""
    import oversight_lab.analyses.overopt  # noqa: F401  (gao, coste)

    return SWEEP_ANALYSES


def load_sweep(path: str | Path) -> SweepData:
    """Read a sweep directory; cells whose run directory is not complete yet are left out."""
    path = Path(path)
    meta_path = path / "sweep.json"
    if not meta_path.exists():
        from oversight_lab.runs.rundir import RunDirError

        raise RunDirError(f"{str(path)!r} is not a sweep directory (no sweep.json)")
    meta = json.loads(meta_path.read_text())
    rows: dict[str, list[dict[str, Any]]] = {}
    for cell in meta["cells"]:
        metrics = path / "cells" / cell["id"] / "metrics.jsonl"
        if (
            cell.get("complete", True)
            and metrics.exists()
            and (path / "cells" / cell["id"] / "summary.json").exists()
        ):
            rows[cell["id"]] = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    return SweepData(path, meta, rows)


def analyse_sweep(path: str | Path) -> dict[str, Any] | None:
    """Run the sweep's analysis (``sweep.json``'s ``analysis``) on a complete sweep and store its numbers in
    ``sweep.json`` as ``analysis_result``; None when the grid has no analysis or the sweep is not complete."""
    from oversight_lab.runs.rundir import write_json

    data = load_sweep(path)
    name = data.meta.get("analysis")
    if not name or data.meta.get("status") != "complete":
        return None
    analyses = sweep_analyses()
    try:
        result = analyses[name](data)
    except Exception as e:  # noqa: BLE001  (the jobs' results stand without it; the report says why)
        failed = f"{type(e).__name__}: {e}"
        result = {"error": failed, "verdicts": [f"the {name} analysis failed: {failed}"]}
    write_json(Path(path) / "sweep.json", {**data.meta, "analysis_result": result})
    return result
