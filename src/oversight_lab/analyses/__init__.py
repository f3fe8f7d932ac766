"""Analyses: results computed from finished run directories, below the report.

Runs, stories and sweeps write run directories and stop; an analysis reads one (config, metrics, items,
comparisons; never live objects), computes the scenario's results on the one statistics layer
(:mod:`oversight_lab.metrics.stats`) and writes ``analysis.json``. The report only renders what an analysis
wrote. One registry, keyed by what a run is:

* a story (``oversight_lab.scenarios.stories.STORIES``): :mod:`oversight_lab.analyses.stories`;
* a story's dose–response run (every arm ``dose-<i>``, from ``oversight-lab run STORY --dose``):
  :mod:`oversight_lab.analyses.dose`;
* a protocol scenario (``config.protocol.analysis``): :mod:`oversight_lab.analyses.protocols`
  (``debate``: :mod:`oversight_lab.analyses.debate`);
* a weak-to-strong run (``config.experiment``): :mod:`oversight_lab.analyses.weak_to_strong`.

Sweep analyses (``gao``, ``coste``) read a sweep directory and are registered in
:mod:`oversight_lab.analyses.sweeps` (:mod:`oversight_lab.analyses.overopt` computes them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oversight_lab.runs.rundir import RunDirError, write_json

__all__ = ["analyse_run", "analysis_kind", "read_analysis"]


def analysis_kind(config: dict[str, Any]) -> str | None:
    """``"story"``, ``"dose"``, ``"protocol"``, ``"weak_to_strong"`` or None: which analysis a run's config
    calls for."""
    from oversight_lab.scenarios.stories import STORIES

    if config.get("experiment") == "weak_to_strong":
        return "weak_to_strong"

    if config.get("protocol", {}).get("analysis"):
        return "protocol"
    if config.get("scenario") in STORIES:
        arms = config.get("arms") or {}
        return "dose" if arms and all(a.startswith("dose-") for a in arms) else "story"
    return None


def _story(run_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The story's analysis; with ``dose``, the analysis of a dose–response run kept in ``RUN/dose`` (from
    ``oversight-lab run NAME --dose --out RUN/dose``), so that the story's report plots it."""
    from oversight_lab.analyses.dose import analyse_dose
    from oversight_lab.analyses.stories import analyse_story
    from oversight_lab.scenarios.stories import STORIES

    story = STORIES[config["scenario"]]
    out = analyse_story(story, run_dir)
    if (run_dir / "dose" / "metrics.jsonl").exists():
        out["dose"] = analyse_dose(story, run_dir / "dose")
    return out


def _dose(run_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    from oversight_lab.analyses.dose import analyse_dose
    from oversight_lab.scenarios.stories import STORIES

    return analyse_dose(STORIES[config["scenario"]], run_dir)


def _protocol(run_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    if config["protocol"]["analysis"] == "debate":  # its rows are the debate experiment's, not the loop's
        from oversight_lab.analyses.debate import analyse_debate

        return analyse_debate(run_dir)
    from oversight_lab.analyses.protocols import analyse

    return analyse(run_dir)


def _w2s(run_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    from oversight_lab.analyses.weak_to_strong import analyse_w2s

    return analyse_w2s(run_dir)


ANALYSES: dict[str, Callable[[Path, dict[str, Any]], dict[str, Any]]] = {
    "story": _story, "dose": _dose, "protocol": _protocol, "weak_to_strong": _w2s}


def analyse_run(run_dir: str | Path) -> dict[str, Any] | None:
    """Analyse a finished run directory and write ``analysis.json`` (None when its scenario has no analysis)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run directory {str(run_dir)!r} does not exist")
    if not (run_dir / "config.json").exists() or not (run_dir / "metrics.jsonl").exists():
        raise RunDirError(f"run directory {str(run_dir)!r} is incomplete: missing config.json or metrics.jsonl")
    config = json.loads((run_dir / "config.json").read_text())
    kind = analysis_kind(config)
    if kind is None:
        return None
    result = {"kind": kind, **ANALYSES[kind](run_dir, config)}
    write_json(run_dir / "analysis.json", result)
    return result


def read_analysis(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / "analysis.json"
    return json.loads(path.read_text()) if path.exists() else None
