"""Sweeps: a grid of config overrides × seeds, run on a local process pool or a Ray cluster, resumably.

A sweep writes its directory and stops; its analysis (:mod:`oversight_lab.analyses.sweeps`) and report come
after."""

from oversight_lab.sweeps.engine import SweepError, SweepLockedError, job_dir, run_sweep
from oversight_lab.sweeps.grid import Cell, Grid, GridError, load_grid, parse_grid, shipped_grids

__all__ = [
    "Cell",
    "Grid",
    "GridError",
    "SweepError",
    "SweepLockedError",
    "job_dir",
    "load_grid",
    "parse_grid",
    "run_sweep",
    "shipped_grids",
]
