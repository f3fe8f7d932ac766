"""Sweeps end to end on a tiny budget: 6 cells × 3 seeds locally and on a local Ray instance; a rerun skips
what finished; a sweep killed mid-way (a real subprocess, SIGKILL to its process group) and rerun ends with
the same numbers as one never interrupted."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from oversight_lab.sweeps import job_dir, load_grid, run_sweep

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
GRID = ROOT / "examples" / "grids" / "tiny.yaml"
FAST = {"rl.enabled": False, "reward.steps": 5}  # the grid's RL is exercised by tests/core; keep CI quick


def metrics(sweep_dir: Path) -> dict[str, str]:
    return {p.parent.name: p.read_text() for p in sorted((sweep_dir / "cells").glob("*/metrics.jsonl"))}


@pytest.fixture(scope="session")
def grid():
    return load_grid(GRID, extra=FAST)


@pytest.fixture(scope="session")
def local_sweep(grid, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    events = []
    run_sweep(grid, out, workers=2, progress=events.append)
    # the sweep writes its directory and stops; the analysis and the report come after, as the CLI runs them
    from oversight_lab.analyses.sweeps import analyse_sweep
    from oversight_lab.report.sweep import write_sweep_report

    analyse_sweep(out)
    write_sweep_report(out)
    return out, json.loads((out / "sweep.json").read_text()), events


def test_local_sweep_of_six_cells_and_three_seeds(grid, local_sweep):
    out, meta, events = local_sweep
    assert len(grid.cells) == 6 and grid.seeds == [0, 1, 2]
    assert meta["status"] == "complete" and meta["jobs"] == {
        "total": 18,
        "skipped": 0,
        "run": 18,
        "failed": [],
    }
    assert sum(e["event"] == "job" for e in events) == 18
    for cell in grid.cells:
        cell_dir = out / "cells" / cell.id
        for name in ("config.json", "env.json", "metrics.jsonl", "summary.json"):
            assert (cell_dir / name).exists(), name
        rows = [json.loads(x) for x in (cell_dir / "metrics.jsonl").read_text().splitlines()]
        assert {r["seed"] for r in rows} == {0, 1, 2}
        bon = [r for r in rows if r["optimizer"] == "bon"]
        assert max(r["n"] for r in bon) == 16
        assert all(r["kl/bon_exact_pool"] <= r["kl/bon_analytic"] + 1e-9 for r in bon)  # Beirami et al. 2024
        summary = json.loads((cell_dir / "summary.json").read_text())
        assert summary["cell"]["id"] == cell.id and summary["seeds"] == [0, 1, 2]
        agg = meta["results"][cell.id]["flawed"]["bon_proxy_gain"]
        assert agg["lo"] <= agg["mean"] <= agg["hi"]  # a mean with a 95% CI across the three seeds
    backbones = {
        json.loads((out / "cells" / c.id / "config.json").read_text())["reward"]["backbone"]
        for c in grid.cells
    }
    assert backbones == {"policy", "tiny:1x16"}
    analysis = meta["analysis_result"]
    assert len(analysis["cells"]) == 6 and analysis["verdicts"]
    html = (out / "report.html").read_text()
    assert "Fitted coefficients per cell" in html and html.count("data:image/png;base64,") >= 3
    assert not list(out.glob("cells/*/.staging/*"))


def test_rerun_skips_every_finished_job(grid, local_sweep):
    out, _, _ = local_sweep
    before = metrics(out)
    stamp = (job_dir(out, grid.cells[0].id, "flawed", 0) / "done.json").stat().st_mtime_ns
    meta = run_sweep(grid, out, workers=2)
    assert meta["jobs"]["skipped"] == 18 and meta["jobs"]["run"] == 0 and meta["status"] == "complete"
    assert metrics(out) == before
    assert (job_dir(out, grid.cells[0].id, "flawed", 0) / "done.json").stat().st_mtime_ns == stamp


def test_killed_sweep_resumes_to_identical_results(local_sweep, tmp_path):
    reference, _, _ = local_sweep
    args = [
        sys.executable,
        "-m",
        "oversight_lab.cli",
        "sweep",
        str(GRID),
        "--out",
        "killed",
        "--workers",
        "2",
        "--quiet",
    ] + [a for k, v in FAST.items() for a in ("--set", f"{k}={json.dumps(v)}")]
    proc = subprocess.Popen(
        args,
        cwd=tmp_path,
        env=os.environ.copy(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    out = tmp_path / "killed"
    deadline = time.monotonic() + 400
    try:
        while time.monotonic() < deadline and len(list(out.glob("cells/*/arms/*/seed-*/done.json"))) < 3:
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            time.sleep(0.2)
        workers = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)  # the CLI alone, mid-way: its pool workers must end with it
        proc.wait(timeout=60)
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert workers and not alive, f"alive 10 s after the sweep was killed: {[p.pid for p in alive]}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    finished = len(list(out.glob("cells/*/arms/*/seed-*/done.json")))
    assert 3 <= finished < 18
    assert json.loads((out / "sweep.json").read_text())["status"] == "running"
    res = subprocess.run(
        args, cwd=tmp_path, env=os.environ.copy(), capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr[-2000:]
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["status"] == "complete" and meta["jobs"]["skipped"] >= finished
    assert meta["jobs"]["skipped"] + meta["jobs"]["run"] == 18
    assert metrics(out) == metrics(reference)
    assert not list(out.glob("cells/*/.staging/*"))


def test_local_ray_instance_gives_the_same_numbers(grid, local_sweep, tmp_path):
    pytest.importorskip("ray")
    reference, _, _ = local_sweep
    meta = run_sweep(grid, tmp_path / "ray", workers=2, ray="local")
    assert meta["status"] == "complete" and meta["engine"]["kind"] == "ray" and meta["jobs"]["run"] == 18
    assert metrics(tmp_path / "ray") == metrics(reference)
