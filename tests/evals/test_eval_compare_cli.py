"""Paired comparisons and the ``eval`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from oversight_lab.evals.cli import register
from oversight_lab.evals.compare import compare_logs, write_comparison
from oversight_lab.evals.report import render_compare_report
from oversight_lab.evals.runner import run_eval
from oversight_lab.metrics.calibration import mcnemar_counts


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")  # a second command keeps typer from flattening the app into ``eval``
    def noop() -> None:
        pass

    return app


def test_compare_identical_logs_has_zero_deltas(hf_backend, tmp_path: Path) -> None:
    run_eval(hf_backend, ["calibration_mc", "answer"], tmp_path / "a", sources="sample")
    result = compare_logs(tmp_path / "a", tmp_path / "a", n_boot=200)
    for r in result["tasks"].values():
        assert r["mcnemar"]["b"] == r["mcnemar"]["c"] == 0 and r["mcnemar"]["p_exact"] == 1.0
        for m in r["metrics"].values():
            assert m["delta"] == 0 or m["delta"] != m["delta"]  # 0, or nan for an undefined metric
            assert m["ci"] == [0.0, 0.0] or m["ci"][0] != m["ci"][0]


def test_compare_two_models_counts_discordant_pairs(hf_backend, tiny_hf_dir_b: Path, tmp_path: Path) -> None:
    from oversight_lab.evals.backends.hf import HFBackend

    run_eval(hf_backend, ["sandbagging_persona"], tmp_path / "a", sources="sample")
    run_eval(
        HFBackend.from_pretrained(tiny_hf_dir_b), ["sandbagging_persona"], tmp_path / "b", sources="sample"
    )
    result = compare_logs(tmp_path / "a", tmp_path / "b", cluster="group", n_boot=300)
    r = result["tasks"]["sandbagging_persona"]
    assert r["n_pairs"] == 40 and r["n_clusters"] == 8  # 8 questions × 5 personas, clustered by question
    b = sum(1 for it in r["items"] if it["hit_a"] and not it["hit_b"])
    c = sum(1 for it in r["items"] if not it["hit_a"] and it["hit_b"])
    assert (r["mcnemar"]["b"], r["mcnemar"]["c"]) == (b, c)
    assert r["mcnemar"]["p_exact"] == pytest.approx(mcnemar_counts(b, c).p_value)
    assert r["mcnemar"]["p_chi2"] == pytest.approx(mcnemar_counts(b, c, exact=False).p_value)
    acc = r["metrics"]["sandbag/acc/control"]
    assert acc["delta"] == pytest.approx(acc["b"] - acc["a"])
    lo, hi = acc["ci"]
    assert lo <= acc["delta"] <= hi
    by_template = compare_logs(tmp_path / "a", tmp_path / "b", cluster="template", n_boot=100)
    assert by_template["tasks"]["sandbagging_persona"]["n_clusters"] == 5
    summary = write_comparison(result, tmp_path / "cmp")
    assert len((tmp_path / "cmp" / "items.jsonl").read_text().splitlines()) == 40
    html = render_compare_report(summary, tmp_path / "cmp" / "compare.html").read_text()
    assert "McNemar" in html and "sandbag/gap" in html


def test_cli_eval_writes_log_and_report(app: typer.Typer, tiny_hf_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "eval",
            f"hf:{tiny_hf_dir}",
            "sycophancy_on_nlp_survey",
            "world_calibration",
            "--data",
            "sycophancy_on_nlp_survey=sample",
            "--out",
            str(tmp_path / "log"),
            "--order-seed",
            "3",
        ],
    )
    assert res.exit_code == 0, res.output
    header = json.loads((tmp_path / "log" / "eval.json").read_text())
    assert "syco/nlp_survey/p_match" in header["metrics"] and "calib/world/ece" in header["metrics"]
    assert "syco/nlp_survey/unparsed_rate" in res.output  # printed beside the metrics
    assert header["tasks"]["sycophancy_on_nlp_survey"]["source"] == "sample"
    assert header["tasks"]["sycophancy_on_nlp_survey"]["options"] == {"order_seed": 3}
    from oversight_lab.evals.tasks.base import choice_order

    for line in (tmp_path / "log" / "samples.jsonl").read_text().splitlines():
        rec = json.loads(line)
        assert rec["meta"]["order"] == choice_order(rec["id"], len(rec["choices"]), 3)
    assert (tmp_path / "log" / "report.html").exists()


def test_cli_compare(app: typer.Typer, tiny_hf_dir: Path, tiny_hf_dir_b: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "--compare",
            str(tiny_hf_dir),
            f"hf:{tiny_hf_dir_b}",
            "calibration_mc",
            "--data",
            "sample",
            "--n-boot",
            "100",
            "--out",
            str(tmp_path / "cmp"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cmp" / "a" / "samples.jsonl").exists() and (
        tmp_path / "cmp" / "b" / "report.html"
    ).exists()
    summary = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert "calib/mc/ece" in summary["tasks"]["calibration_mc"]["metrics"]
    assert (tmp_path / "cmp" / "compare.html").exists()


def test_cli_errors_name_the_problem(app: typer.Typer, tiny_hf_dir: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["eval", f"hf:{tiny_hf_dir}", "no_such_task"])
    assert res.exit_code != 0 and "unknown task" in res.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "choices": ["a", "b"], "answer": 0}\n{"question": 3}\n')
    res = CliRunner().invoke(
        app,
        ["eval", f"hf:{tiny_hf_dir}", "calibration_mc", "--data", str(bad), "--out", str(tmp_path / "log")],
    )
    assert res.exit_code != 0
    assert f"{bad}:2" in str(res.exception)
    res = CliRunner().invoke(app, ["eval", "--list"])
    assert res.exit_code == 0 and "are_you_sure" in res.output and "truthfulqa_mc2" in res.output


def test_run_dir_checkpoint_resolution(tiny_hf_dir: Path, tmp_path: Path) -> None:
    import shutil

    from oversight_lab.evals.backends import load_backend, resolve_checkpoint

    ckpt = tmp_path / "run" / "arms" / "flawed" / "seed-0" / "checkpoints" / "rl"
    shutil.copytree(tiny_hf_dir, ckpt)
    assert resolve_checkpoint(tmp_path / "run", "flawed/0/rl") == ckpt
    assert resolve_checkpoint(tmp_path / "run", "flawed/seed-0/rl") == ckpt
    assert load_backend(f"run:{ckpt}").name == f"run:{ckpt}"
    with pytest.raises(
        FileNotFoundError, match=r"checkpoints in this run \(ARM/SEED/NAME\): flawed/seed-0/rl"
    ):
        resolve_checkpoint(tmp_path / "run", "flawed/0/dpo")
