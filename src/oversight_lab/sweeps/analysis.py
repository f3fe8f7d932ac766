"""Analyses a sweep's report can add: a registry (one of the lab's real extension points) and the data they
read.

An analysis reads a finished sweep's files only (``sweep.json`` and each cell's ``metrics.jsonl``), never live
objects: ``compute`` turns them into numbers stored in ``sweep.json``, ``render`` turns those numbers into
sections of the sweep's report. The overoptimisation scenarios register ``gao`` and ``coste``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ANALYSES", "Analysis", "SweepData", "load_sweep", "register_analysis"]


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


@dataclass(frozen=True)
class Analysis:
    name: str
    compute: Callable[[SweepData], dict[str, Any]]
    render: Callable[[SweepData, dict[str, Any]], list[tuple[str, str]]]  # (section title, HTML)


ANALYSES: dict[str, Analysis] = {}


def register_analysis(analysis: Analysis) -> Analysis:
    ANALYSES[analysis.name] = analysis
    return analysis


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
