"""The weak-to-strong analysis and report read a run directory (synthetic rows here): the PGR table from
pretraining-seed means, imitation, the primary verdict, the report page and the CLI's `report`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from oversight_lab.analyses import analyse_run
from oversight_lab.cli import app
from oversight_lab.config import resolve_config
from oversight_lab.report import headline_lines, write_run_reports


def _write_run(path, block="dev"):
    cfg = resolve_config({"experiment": "weak_to_strong", "scenario": "weak_to_strong"},
                         {"w2s.sizes": ["xs", "m"], "w2s.tasks": ["mercury_blind", "mercury_noisy"]})
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(cfg.model_dump()))
    (path / "prereg.json").write_text(json.dumps({"seed_block": block, "overrides": []}))
    rows = []
    for p in (0, 1, 2):
        for s in (2 * p, 2 * p + 1):
            u = {"pretrain_seed": p, "seed": s}
            for task, weak, student, err_agree in (("mercury_blind", 0.7, 0.71, 0.95),
                                                   ("mercury_noisy", 0.8, 0.9 + 0.01 * p, 0.2)):
                rows += [{**u, "task": task, "role": "weak", "size": "xs", "acc": weak, "acc_blind": 0.5},
                         {**u, "task": task, "role": "ceiling", "size": "m", "acc": 1.0, "acc_blind": 1.0},
                         {**u, "task": task, "role": "student", "weak": "xs", "strong": "m", "acc": student,
                          "weak_acc": weak, "ceiling_acc": 1.0, "weak_label_acc": weak, "acc_blind": 0.5,
                          "weak_acc_blind": 0.5, "agree_on_weak_errors": err_agree + 0.01 * s,
                          "agree_elsewhere": 0.97, "n_weak_errors": 30}]
    (path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_analysis_gives_pgr_from_seed_means_and_imitation(tmp_path):
    a = analyse_run(_write_run(tmp_path / "run"))
    assert a["kind"] == "weak_to_strong" and "pretraining-seed means" in a["table_shows"]
    noisy = a["tasks"]["mercury_noisy"]["pairs"]["xs→m"]
    # per pretraining seed p: (0.9 + 0.01 p − 0.8) / 0.2 = 0.5, 0.55, 0.6
    assert noisy["pgr"]["from_seed_means"]["mean"] == pytest.approx(0.55)
    assert noisy["pgr"]["per_replicate"]["mean"] == pytest.approx(0.55)
    assert noisy["pgr"]["from_seed_means"]["lo"] > 0.4
    blind = a["tasks"]["mercury_blind"]["pairs"]["xs→m"]
    assert blind["pgr"]["from_seed_means"]["mean"] == pytest.approx(0.01 / 0.3)
    # the blind student agrees with its supervisor's errors (≈ imitation gap 0); the noisy one does not
    assert abs(blind["imitation_gap"]["mean"]) < 0.05 and noisy["imitation_gap"]["hi"] < -0.6
    assert a["primary"]["status"] == "recovered" and "exploratory" in a["primary"]["line"]
    assert a["tasks"]["mercury_noisy"]["sizes"]["xs"]["weak"]["mean"] == pytest.approx(0.8)


def test_report_and_cli_render_the_table(tmp_path):
    run = _write_run(tmp_path / "run", block="confirm")
    a = analyse_run(run)
    assert "confirmatory" in a["primary"]["line"]
    lines = headline_lines(a)
    assert lines[0] == a["primary"]["line"]
    assert any(x.startswith("mercury_noisy: xs→m PGR +0.55") for x in lines)
    [page] = write_run_reports(run)
    text = page.read_text()
    assert page.name == "report.html" and "data:image/png;base64," in text and "xs→m" in text
    result = CliRunner().invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output


def test_an_empty_run_is_a_clear_error(tmp_path):
    from oversight_lab.runs.rundir import RunDirError

    run = _write_run(tmp_path / "run")
    (run / "metrics.jsonl").write_text("")
    with pytest.raises(RunDirError, match="no rows"):
        analyse_run(run)
