"""The console script itself: bad input fails in one line with exit 2 and writes nothing; a tiny run works."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "oversight_lab.cli"]


# The console script, reporting at exit whether its own process (not the workers) imported torch.
WATCHED = [
    sys.executable,
    "-c",
    "import atexit, runpy, sys; "
    "atexit.register(lambda: print('main process imported torch:', 'torch' in sys.modules, file=sys.stderr)); "
    "sys.argv[0] = 'oversight-lab'; runpy.run_module('oversight_lab.cli', run_name='__main__')",
]


def cli(*args: str, cwd: Path, watched: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(WATCHED if watched else CLI), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
        env=os.environ.copy(),
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "nonexistent"], "unknown scenario 'nonexistent'"),
        (["run", "--set", "rl.stepz=3"], "unknown config key 'rl.stepz'"),
        (["run", "--set", "rl.steps=many"], "config key 'rl.steps'"),
        (["run", "--set", "world=atlantis"], "unknown world 'atlantis'"),
        (["run", "--set", "policy=gpt5"], "config key 'policy'"),
        (["run", "--set", "arms.flawed.flaws=[{kind: blindness}]"], "unknown evaluator flaw 'blindness'"),
        (["run", "--set", "arms.flawed.flaws=[{kind: noise, temprature: 1}]"], "temprature"),
        (["run", "--set", "policy=hf:/missing/dir"], "'hf:/missing/dir': no such directory"),
        (["run", "--set", "policy=hf:not a repo"], "neither a directory nor a hub id"),
        (["run", "--all-stories", "--set", "policy=hf:/missing/dir"], "no such directory"),
        (["sweep", "gao", "--set", "policy=hf:/missing/dir"], "no such directory"),
        (["report", "no-such-run"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    res = cli(*args, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_existing_run_directory_is_not_overwritten(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text("{}")
    res = cli("run", "--out", "old", cwd=tmp_path)
    assert res.returncode == 2 and "already exists" in res.stderr
    assert (tmp_path / "old" / "summary.json").read_text() == "{}"


@pytest.mark.parametrize("command", [["run"], ["run", "--all-stories"], ["sweep", "gao"]])
def test_out_naming_a_file_is_one_line_exit_2_and_the_file_is_kept(tmp_path, command):
    (tmp_path / "taken").write_text("keep me")
    res = cli(*command, "--out", "taken", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "'taken' is a file, not a directory" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]
    assert (tmp_path / "taken").read_text() == "keep me"


def test_list_shows_scenarios_and_flaws(tmp_path):
    res = cli("list", cwd=tmp_path)
    assert res.returncode == 0
    assert "alchemist" in res.stdout and "incomplete_criteria" in res.stdout


@pytest.mark.slow
def test_tiny_run_writes_a_report_that_rerenders(tmp_path):
    sets = [
        "feedback.n_comparisons=60",
        "reward.steps=10",
        "bon.pool_size=8",
        "bon.n_tasks=8",
        "rl.steps=4",
        "rl.checkpoint_every=2",
        "rl.prompts_per_step=2",
        "rl.num_generations=4",
        "dpo.steps=2",
        "dpo.checkpoint_every=2",
        "dpo.batch_size=8",
        "eval.n_tasks=8",
        "eval.samples_per_task=2",
    ]
    args = ["run", "--pretrain-seeds", "1", "--seeds", "2", "--workers", "2", "--quiet", "--out", "r"]
    for s in sets:
        args += ["--set", s]
    res = cli(*args, cwd=tmp_path, watched=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "scorecard" in res.stdout and "control" in res.stdout
    # The jobs send back plain data: unpickling a result must not import torch in the main process (it took
    # the executor's thread 6–8 s, during which no worker got its next job).
    assert "main process imported torch: False" in res.stderr
    run = tmp_path / "r"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["seeds"] == [0, 1] and set(summary["arms"]) == {"flawed", "control"}
    assert json.loads((run / "config.json").read_text())["rl"]["steps"] == 4
    (run / "report.html").unlink()
    res = cli("report", "r", cwd=tmp_path)
    assert res.returncode == 0 and (run / "report.html").read_text().count("data:image/png;base64,") >= 2
