"""Grid files: a grid of ``--set`` overrides × seeds, read from YAML with the line of every key kept.

A grid file (or a registered grid, for the scenarios that need several configs, such as ``gao``)::

    name: rm-size                  # optional; default: the file's stem
    description: reward-model size against data size
    scenario: alchemist            # the base scenario whose overrides every cell starts from
    seed: 0                        # seeds seed, seed+1, … for every cell
    seeds: 3                       # RLHF seeds per pretraining seed
    pretrain_seeds: 1              # pretraining seeds tiny.seed, tiny.seed+1, … (RLHF seeds nested in them)
    analysis: gao                  # optional: an analysis the report adds (default: the scenario's own)
    set:                           # overrides for every cell, as with --set
      rl.steps: 40
    grid:                          # the cartesian product of these values (or a list of such products)
      reward.backbone: [tiny:1x32, tiny:2x64]
      feedback.n_comparisons: [250, 1000]
    cells:                         # and/or an explicit list of cells
      - {reward.ensemble_size: 3, reward.aggregate: min}

A cell is one resolved config; its id is a hash of that config, so a rerun, or a grid extended with more
values or seeds, finds the cells it already finished. Every error names the file, the line and the key, and is
raised before anything is written.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from oversight_lab.config import ConfigError, RunConfig, check_inputs, resolve_config
from oversight_lab.datafiles import DataFileError, YamlFile, line_of

__all__ = [
    "Cell",
    "Grid",
    "GridError",
    "load_grid",
    "parse_grid",
    "shipped_grids",
]

TOP_KEYS = {
    "name", "description", "scenario", "seed", "seeds", "pretrain_seeds", "analysis", "set", "grid", "cells"
}
GRIDS_DIR = Path(__file__).resolve().parents[1] / "data" / "grids"  # `oversight-lab sweep gao` runs gao.yaml
HASH_EXCLUDE = {"seed", "seeds", "pretrain_seeds", "workers"}  # not what a (cell, arm, seed) job computes


class GridError(DataFileError):
    """A grid file is wrong; the message names the file, the line and the key."""


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its own overrides (beyond the common ``set``) and the config they resolve to."""

    id: str
    label: str
    overrides: dict[str, Any]
    config: RunConfig
    line: int


@dataclass(frozen=True)
class Grid:
    name: str
    source: str
    text: str
    scenario: str
    seeds: list[int]  # every RLHF seed; seed k belongs to pretraining seed tiny.seed + pretrain_offset[k]
    common: dict[str, Any]
    cells: list[Cell]
    description: str = ""
    analysis: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    pretrain_offset: dict[int, int] = field(default_factory=dict)

    def job_config(self, cell: Cell, seed: int) -> dict[str, Any]:
        """The config one (cell, arm, seed) job runs: the cell's, on the pretraining seed holding it."""
        data = cell.config.model_dump()
        data["tiny"] = {**data["tiny"], "seed": cell.config.tiny.seed + self.pretrain_offset.get(seed, 0)}
        return data

    def jobs(self) -> list[tuple[Cell, str, int]]:
        """Every (cell, arm, seed), seed-major so an interrupted sweep has whole seeds of many cells."""
        return [(c, arm, s) for s in self.seeds for c in self.cells for arm in c.config.arms]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "description": self.description,
            "scenario": self.scenario,
            "seeds": self.seeds,
            "pretrain_seeds": len(set(self.pretrain_offset.values())) or 1,
            "analysis": self.analysis,
            "common": self.common,
            "cells": [
                {"id": c.id, "label": c.label, "overrides": c.overrides, "line": c.line} for c in self.cells
            ],
        }


def shipped_grids() -> dict[str, Path]:
    """The grids shipped with the package (``oversight_lab/data/grids/*.yaml``), by name."""
    return {p.stem: p for p in sorted(GRIDS_DIR.glob("*.yaml"))}


def _cell_id(scenario: str, scenario_overrides: dict[str, Any], sets: dict[str, Any]) -> str:
    """A hash of what defines the cell (scenario, its overrides, the cell's --set values), not of every
    resolved default: a field added to the config later leaves finished cells findable by a rerun."""
    data = [scenario, scenario_overrides, {k: v for k, v in sets.items() if k not in HASH_EXCLUDE}]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _label(overrides: dict[str, Any]) -> str:
    return (
        ", ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in overrides.items())
        or "base"
    )


def parse_grid(
    text: str,
    source: str = "<grid>",
    extra: dict[str, Any] | None = None,
    seed: int | None = None,
    seeds: int | None = None,
    analyses: set[str] | None = None,
) -> Grid:
    """Parse and validate a grid; every cell's config is resolved here, so errors come before any work.

    ``extra`` overrides every cell after the grid's ``set`` (the command line's ``--set``); ``seed`` and
    ``seeds`` replace the grid's. ``analyses``: the registered sweep analyses the grid's ``analysis`` may name
    (the CLI passes :func:`oversight_lab.analyses.sweeps.sweep_analyses`; a grid's default analysis is its
    scenario's name when one is registered).
    """

    f = YamlFile(text, source, GridError)

    def err(line: int, message: str) -> GridError:
        return GridError(f"--set: {message}") if line < 0 else f.error(line, message)

    if f.root is None:
        raise f.error(1, "the grid file is empty")
    top = f.keys(f.root, "", TOP_KEYS)

    def scalar(key: str, kind: type, default: Any) -> Any:
        return f.typed(top[key][1], f"key {key!r}", kind) if key in top else default

    from oversight_lab.scenarios import get_scenario

    stem = Path(source).stem if source.endswith((".yaml", ".yml")) else source
    name = scalar("name", str, stem)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise err(
            line_of(top["name"][1]) if "name" in top else 1, f"key 'name': {name!r} must be a plain file name"
        )
    scenario_name = scalar("scenario", str, "alchemist")
    try:
        scenario = get_scenario(scenario_name)
    except KeyError as e:
        raise err(line_of(top["scenario"][1]), f"key 'scenario': {e.args[0]}") from None
    first = scalar("seed", int, 0) if seed is None else seed
    n_seeds = scalar("seeds", int, 3) if seeds is None else seeds
    if n_seeds < 1:
        line = line_of(top["seeds"][1]) if seeds is None else -1
        raise err(line, f"key 'seeds': must be at least 1, got {n_seeds}")
    n_pretrain = scalar("pretrain_seeds", int, 1)
    if n_pretrain < 1:
        line = line_of(top["pretrain_seeds"][1])
        raise err(line, f"key 'pretrain_seeds': must be at least 1, got {n_pretrain}")
    known = analyses or set()
    analysis = scalar("analysis", str, scenario_name if scenario_name in known else None)
    if analysis is not None and analyses is not None and analysis not in known:
        line = line_of(top["analysis"][1]) if "analysis" in top else 1
        raise err(line, f"key 'analysis': unknown analysis {analysis!r}; known: {', '.join(sorted(known))}")

    common: list[tuple[str, Any, int]] = []
    if "set" in top:
        common = [(key, f.value(v), line_of(k)) for key, k, v in f.mapping(top["set"][1], "key 'set'")]
    common += [(key, value, -1) for key, value in (extra or {}).items()]
    points: list[tuple[list[tuple[str, Any, int]], int]] = []  # (overrides with their lines, the cell's line)
    if "grid" in top:
        node = top["grid"][1]
        blocks = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for b, block in enumerate(blocks):
            where = "key 'grid'" + (f", product {b + 1}" if isinstance(node, yaml.SequenceNode) else "")
            axes = []
            for key, _, v in f.mapping(block, where):
                values = f.value(v)
                if not isinstance(values, list) or not values:
                    message = f"{where}, key {key!r}: expected a non-empty list of values, got {values!r}"
                    raise err(line_of(v), message)
                lines = [line_of(x) for x in v.value]
                axes.append([(key, x, line) for x, line in zip(values, lines, strict=True)])
            points.extend((list(combo), line_of(block)) for combo in itertools.product(*axes))
    if "cells" in top:
        node = top["cells"][1]
        if not isinstance(node, yaml.SequenceNode):
            raise err(line_of(node), "key 'cells': expected a list of mappings of overrides")
        for c, cell in enumerate(node.value):
            items = f.mapping(cell, f"key 'cells', item {c + 1}")
            points.append(([(key, f.value(v), line_of(k)) for key, k, v in items], line_of(cell)))
    if not points:
        points = [([], 1)]

    cells: list[Cell] = []
    seen: dict[str, int] = {}
    for overrides, cell_line in points:
        sets = {key: value for key, value, _ in common} | {key: value for key, value, _ in overrides}
        sets.update(seed=first, seeds=n_seeds, pretrain_seeds=n_pretrain)
        try:
            cfg = resolve_config({**scenario.overrides, "scenario": scenario.name}, sets)
            check_inputs(cfg)
        except ConfigError as e:
            raise err(_where(str(e), overrides + common, cell_line), str(e)) from None
        cid = _cell_id(scenario.name, scenario.overrides, sets)
        if cid in seen:  # the same config twice (e.g. overlapping products) is one cell
            continue
        seen[cid] = cell_line
        own = {key: value for key, value, _ in overrides}
        cells.append(Cell(cid, _label(own), own, cfg, cell_line))
    return Grid(
        name=name,
        source=source,
        text=text,
        scenario=scenario.name,
        seeds=list(range(first, first + n_seeds * n_pretrain)),  # nested as config.replicates nests them
        common={k: v for k, v, _ in common},
        cells=cells,
        description=scalar("description", str, ""),
        analysis=analysis,
        pretrain_offset={first + k: k // n_seeds for k in range(n_seeds * n_pretrain)},
    )


def _where(message: str, overrides: list[tuple[str, Any, int]], default: int) -> int:
    """The line of the override a config error is about (the first key the message quotes)."""
    match = re.search(r"'([^']+)'", message)
    if match:
        key = match.group(1)
        for k, _, line in overrides:
            if key == k or key.startswith(k + ".") or k.startswith(key + "."):
                return line
    return default


def load_grid(name_or_path: str | Path, **options: Any) -> Grid:
    """A grid file by path, or a grid shipped with the package by name (a file of that name wins).

    ``options`` go to ``parse_grid`` (``extra``, ``seed``, ``seeds``).
    """
    path = Path(name_or_path)
    if path.is_file():
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise GridError(f"{path}: cannot read the grid file ({e})") from None
        return parse_grid(text, str(path), **options)
    shipped = shipped_grids()
    if str(name_or_path) in shipped:
        return parse_grid(shipped[str(name_or_path)].read_text(), f"{name_or_path}.yaml", **options)
    known = ", ".join(sorted(shipped)) or "none"
    raise GridError(
        f"{name_or_path}: no such grid file, and no grid of that name ships with the package (known: {known})"
    )
