"""Grid files: cells and jobs, stable cell ids, errors that name the line and the key before anything runs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_lab.analyses.sweeps import sweep_analyses
from oversight_lab.sweeps import GridError, load_grid, parse_grid, shipped_grids

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
name: demo
seeds: 2
set:
  rl.steps: 4
grid:
  reward.backbone: [policy, tiny:1x16]
  feedback.n_comparisons: [40, 60]
cells:
  - {reward.ensemble_size: 3, reward.aggregate: min}
"""


def test_cells_jobs_and_ids():
    g = parse_grid(GOOD, "demo.yaml")
    assert [c.label for c in g.cells][:2] == [
        "reward.backbone=policy, feedback.n_comparisons=40",
        "reward.backbone=policy, feedback.n_comparisons=60",
    ]
    assert len(g.cells) == 5 and g.seeds == [0, 1] and len(g.jobs()) == 5 * 2 * 2  # two arms by default
    assert all(c.config.rl.steps == 4 for c in g.cells)
    assert g.cells[-1].config.reward.aggregate == "min" and g.cells[-1].line == 9
    # ids hash the resolved config: the same with more seeds (a rerun extends), different with other values
    again = parse_grid(GOOD.replace("seeds: 2", "seeds: 5"), "demo.yaml")
    assert [c.id for c in again.cells] == [c.id for c in g.cells]
    other = parse_grid(GOOD.replace("rl.steps: 4", "rl.steps: 5"), "demo.yaml")
    assert not {c.id for c in other.cells} & {c.id for c in g.cells}
    # overlapping products are one cell
    dup = parse_grid("grid:\n  - {rl.steps: [3, 4]}\n  - {rl.steps: [4, 5]}\n", "dup.yaml")
    assert [c.config.rl.steps for c in dup.cells] == [3, 4, 5]


@pytest.mark.parametrize(
    "text,message",
    [
        ("grdi:\n  rl.steps: [1]\n", "bad.yaml, line 1: unknown key 'grdi'"),
        ("set:\n  rl.steps: 4\n  rl.stepz: 3\n", "bad.yaml, line 3: unknown config key 'rl.stepz'"),
        ("grid:\n  rl.steps:\n    - 3\n    - many\n", "bad.yaml, line 4: config key 'rl.steps'"),
        ("grid:\n  rl.steps: 3\n", "bad.yaml, line 2: key 'grid', key 'rl.steps': expected a non-empty list"),
        (
            "set:\n  rl.steps: 4\n  rl.steps: 5\n",
            "bad.yaml, line 3: key 'set': key 'rl.steps' repeats the one on line 2",
        ),
        ("set:\n  rl.steps: [4\n", "bad.yaml, line 3: not valid YAML"),
        ("scenario: atlantis\n", "bad.yaml, line 1: key 'scenario': unknown scenario 'atlantis'"),
        ("seeds: three\n", "bad.yaml, line 1: key 'seeds': expected an integer, got 'three'"),
        ("cells:\n  - {reward.backbone: tiny:big}\n", "bad.yaml, line 2: config key 'reward.backbone'"),
        (
            "cells:\n  - {rl.steps: 3}\n  - {arms.flawed.flaws: [{kind: blindness}]}\n",
            "bad.yaml, line 3: config key 'arms.flawed.flaws.0': unknown evaluator flaw 'blindness'",
        ),
        ("analysis: astrology\n", "bad.yaml, line 1: key 'analysis': unknown analysis 'astrology'"),
        ("", "bad.yaml, line 1: the grid file is empty"),
    ],
)
def test_bad_grids_name_the_line_and_key(text, message):
    with pytest.raises(GridError) as e:
        parse_grid(text, "bad.yaml", analyses=set(sweep_analyses()))
    assert str(e.value).startswith(message), str(e.value)


def test_command_line_overrides_are_checked_too():
    with pytest.raises(GridError, match="^--set: unknown config key 'rl.nope'"):
        parse_grid(GOOD, "demo.yaml", extra={"rl.nope": 1})
    g = parse_grid(GOOD, "demo.yaml", extra={"rl.steps": 9}, seeds=1, seed=7)
    assert g.seeds == [7] and all(c.config.rl.steps == 9 for c in g.cells)


def test_shipped_grids_are_data_files_of_the_package():
    assert {"gao", "coste"} <= set(shipped_grids())
    for name in ("gao", "coste"):
        shipped = load_grid(name, analyses=set(sweep_analyses()))
        from_file = load_grid(shipped_grids()[name], analyses=set(sweep_analyses()))
        assert [c.id for c in shipped.cells] == [c.id for c in from_file.cells], name
        assert shipped.analysis == name
    gao = load_grid("gao")
    assert len(gao.cells) == 9 and {c.config.reward.backbone for c in gao.cells} == {
        "tiny:1x16",
        "tiny:1x32",
        "tiny:2x64",
    }
    assert max(c.config.bon.pool_size for c in gao.cells) == 10_000
    with pytest.raises(GridError, match="no grid of that name"):
        load_grid("no-such-grid")


def test_coste_hidden_grid_is_coste_with_the_hidden_information_arm_only():
    from oversight_lab.scenarios.overoptimisation import HIDDEN

    hidden, coste = load_grid(ROOT / "examples" / "grids" / "coste-hidden.yaml"), load_grid("coste")
    assert hidden.analysis == "coste" and len(hidden.jobs()) == 4 * 1 * 3
    for h, c in zip(hidden.cells, coste.cells, strict=True):
        assert list(h.config.arms) == ["hidden_information"]
        arm = h.config.arms["hidden_information"]
        assert arm == type(arm).model_validate(HIDDEN)
        # everything but the evaluator is coste's cell: the same objectives, pools and RL
        assert h.config.model_dump(exclude={"arms"}) == c.config.model_dump(exclude={"arms"})


def test_cli_bad_grid_is_one_line_exit_2_and_loses_nothing(tmp_path):
    (tmp_path / "bad.yaml").write_text("set:\n  rl.steps: 4\ngrid:\n  reward.stepz: [1, 2]\n")
    old = tmp_path / "sweeps" / "bad"
    old.mkdir(parents=True)
    (old / "sweep.json").write_text('{"finished": true}')
    res = subprocess.run(
        [sys.executable, "-m", "oversight_lab.cli", "sweep", "bad.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )
    assert res.returncode == 2, res.stderr
    assert "bad.yaml, line 4: unknown config key 'reward.stepz'" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert (old / "sweep.json").read_text() == '{"finished": true}' and sorted(os.listdir(old)) == [
        "sweep.json"
    ]


def test_pretraining_seeds_nest_the_rlhf_seeds(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("seed: 4\nseeds: 2\npretrain_seeds: 3\ngrid:\n  rl.steps: [5, 6]\n")
    g = load_grid(str(path))
    assert g.seeds == [4, 5, 6, 7, 8, 9]
    cell = g.cells[0]
    assert [g.job_config(cell, s)["tiny"]["seed"] for s in g.seeds] == [0, 0, 1, 1, 2, 2]
    assert g.describe()["pretrain_seeds"] == 3
    path.write_text("pretrain_seeds: 0\n")
    with pytest.raises(GridError, match="key 'pretrain_seeds': must be at least 1"):
        load_grid(str(path))
