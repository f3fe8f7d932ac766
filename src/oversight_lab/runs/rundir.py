"""Run directories: everything needed to reproduce and re-read a run.

RUN_DIR/
  config.json      the resolved RunConfig
  env.json         seeds, package versions, git commit, platform, command line
  metrics.jsonl    one row per (arm, seed, optimiser, checkpoint); namespaced metric names
  summary.json     aggregates across seeds with 95% confidence intervals
  report.html      self-contained (plots embedded), opens offline
  arms/<arm>/seed-<s>/   comparisons.jsonl, reward_model.json, metrics.jsonl, summary.json, checkpoints/
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["RunDirError", "new_run_dir", "write_json", "read_rows", "environment", "arm_dir", "load_run",
           "shared_samples_dir"]

PACKAGES = ("oversight-lab", "torch", "transformers", "trl", "datasets", "tokenizers", "numpy", "scipy")


class RunDirError(ValueError):
    """A run directory is missing, incomplete, or would be overwritten."""


def arm_dir(run_dir: Path, arm: str, seed: int) -> Path:
    return run_dir / "arms" / arm / f"seed-{seed}"


def shared_samples_dir(run_dir: Path, pretrain_seed: int, seed: int) -> Path:
    """Where the arms of one replicate share their initial policy's samples while the run goes (removed when
    its jobs are done: :mod:`oversight_lab.models.shared_samples`)."""
    return run_dir / ".shared-samples" / f"pretrain-{pretrain_seed}-seed-{seed}"


def new_run_dir(out: str | Path | None, scenario: str) -> Path:
    """A fresh run directory; refuses one that already holds results, so nothing is overwritten."""
    path = Path(out) if out else Path("runs") / f"{scenario}-{time.strftime('%Y%m%d-%H%M%S')}"
    if path.exists() and not path.is_dir():
        raise RunDirError(f"--out {str(path)!r} is a file, not a directory; choose another --out")
    if path.exists() and any(path.iterdir()):
        raise RunDirError(
            f"run directory {str(path)!r} already exists and is not empty; choose another --out"
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False, default=str))
    tmp.replace(path)


def read_rows(path: Path) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "packages": versions,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "argv": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def load_run(run_dir: Path) -> tuple[dict, list[dict], dict]:
    """Config, metric rows and summary of a finished run (what reports read; never live objects)."""
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
