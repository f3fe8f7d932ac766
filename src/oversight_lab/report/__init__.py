"""Reports: render what runs and analyses wrote (never live objects, never statistics of their own).

Only the CLI imports this package."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["write_run_reports"]


def write_run_reports(run_dir: str | Path) -> list[Path]:
    """``report.html`` of a run directory, plus ``protocol.html`` for a protocol scenario; their paths."""
    from oversight_lab.report.html import write_report

    run_dir = Path(run_dir)
    path = run_dir / "analysis.json"
    analysis = json.loads(path.read_text()) if path.exists() else None
    if analysis and analysis.get("kind") == "weak_to_strong":  # no arms, no RLHF: its own page
        from oversight_lab.report.weak_to_strong import write_w2s_report

        return [write_w2s_report(run_dir, analysis)]
    paths = [write_report(run_dir)]
    if analysis and analysis.get("kind") == "protocol":
        from oversight_lab.report.protocols import write_protocol_report

        paths.append(write_protocol_report(run_dir, analysis))
    return paths


def headline_lines(analysis: dict | None) -> list[str]:
    """The lines a terminal prints for an analysis: a story's verdict, a protocol's headlines."""
    if not analysis:
        return []
    if analysis.get("kind") == "story":
        return [analysis["verdict"]]
    if analysis.get("kind") == "weak_to_strong":
        from oversight_lab.report.weak_to_strong import headline_lines as w2s_lines

        return w2s_lines(analysis)
    from oversight_lab.report.protocols import headline_lines as protocol_lines

    return protocol_lines(analysis)
