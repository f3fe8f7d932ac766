"""Sweeps: a grid of config overrides × seeds, run on a local process pool or a Ray cluster, resumably."""

from oversight_lab.sweeps.analysis import ANALYSES, Analysis, SweepData, load_sweep, register_analysis
from oversight_lab.sweeps.engine import SweepError, SweepLockedError, job_dir, run_sweep
from oversight_lab.sweeps.grid import GRIDS, Cell, Grid, GridError, load_grid, parse_grid, register_grid

__all__ = [
    "ANALYSES",
    "GRIDS",
    "Analysis",
    "Cell",
    "Grid",
    "GridError",
    "SweepData",
    "SweepError",
    "SweepLockedError",
    "job_dir",
    "load_grid",
    "load_sweep",
    "parse_grid",
    "register_analysis",
    "register_grid",
    "run_sweep",
]
