"""Scenarios as YAML files: the loaded files are the scenarios the package defined in Python (a byte-for-byte
snapshot taken before the move), and a wrong file is refused with its name, line and key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from oversight_lab.scenarios import (
    SCENARIOS,
    Measure,
    Preregistration,
    ScenarioError,
    Story,
    load_scenario_file,
)
from oversight_lab.scenarios.loader import SCENARIO_DIR, SHARED_DIR, load_scenarios, shared
from oversight_lab.scenarios.stories import STORIES, STORY_BUDGET, story_overrides

from .snapshot import dumps, snapshot

SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "scenarios_before_yaml.json"


def test_loaded_files_are_the_scenarios_defined_in_python_before():
    """At the move to YAML (commit f380f21) the files loaded to the Python definitions byte for byte. Since
    then the snapshot is the record of every scenario: a change to one must be deliberate (and, for a
    pre-registered scenario, written into its history), then recorded with
    ``python tests/scenarios/snapshot.py > tests/data/scenarios_before_yaml.json``."""
    # the text, not only equality: key order, ints vs floats (cell ids hash the overrides' JSON), every word
    assert dumps(snapshot()) == SNAPSHOT.read_text(), "a scenario changed: if deliberate, re-record the snapshot"


def test_fields_have_the_schema_types():
    for sc in SCENARIOS.values():
        assert isinstance(sc.sources, tuple) and all(isinstance(s, str) for s in sc.sources)
        if sc.prereg is not None:
            assert isinstance(sc.prereg.blocks, tuple) and isinstance(sc.prereg.history, tuple)
            assert isinstance(sc.prereg.min_effect, float)
    for story in STORIES.values():
        assert isinstance(story, Story) and isinstance(story.measures, tuple)
        for m in story.measures:
            assert isinstance(m, Measure) and isinstance(m.min_effect, float)
            assert m.bounds is None or (
                isinstance(m.bounds, tuple) and all(isinstance(b, float) for b in m.bounds)
            )


def test_every_file_is_a_scenario_and_every_override_resolves():
    from oversight_lab.config import resolve_config

    files = {p.stem for p in SCENARIO_DIR.glob("*.yaml") if not p.name.startswith("_")}
    assert files == set(load_scenarios()[0]) and files <= set(SCENARIOS)
    for name in files:
        cfg = resolve_config({**SCENARIOS[name].overrides, "scenario": name}, {})
        assert cfg.scenario == name
    for name in STORIES:
        assert resolve_config(story_overrides(name), {}).item_eval is True
    assert shared("story_budget") == STORY_BUDGET and STORY_BUDGET["rl.steps"] == 40


def test_a_copied_file_is_a_new_scenario(tmp_path):
    text = (SCENARIO_DIR / "sycophant.yaml").read_text().replace("weight: 1.5", "weight: 3.0")
    sc, story = load_scenario_file(tmp_path / "sycophant_strong.yaml", text)
    assert sc.name == "sycophant_strong" and story is not None and story.name == "sycophant_strong"
    assert sc.overrides["arms"]["flawed"]["flaws"][0] == {"kind": "agreement_bias", "weight": 3.0}
    assert sc.prereg == Preregistration(
        primary="agree_wrong_view: agrees with a user's wrong view",
        optimizer="rl",
        direction="up",
        min_effect=0.05,
        history=SCENARIOS["sycophant"].prereg.history,
    )
    # the file's prereg keys replace what the story's first measure declares
    text = text.replace("prereg:\n", "prereg:\n  min_effect: 0.2\n  direction: down\n")
    sc, _ = load_scenario_file(tmp_path / "x.yaml", text)
    assert (sc.prereg.min_effect, sc.prereg.direction, sc.prereg.primary.split(":")[0]) == (
        0.2,
        "down",
        "agree_wrong_view",
    )


def test_a_directory_of_files_is_ordered_by_its_index(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "budget.yaml").write_text("rl.steps: 5\nseeds: 2\n")
    (tmp_path / "shared" / "flaws.yaml").write_text("- {kind: noise, temperature: 0.1}\n")
    body = (
        "description: d\nbase: budget\noverrides:\n  seeds: 1\n  arms: {a: {kind: simulated, "
        "flaws: !include flaws}}\n"
    )
    for name in ("b", "a", "c"):
        (tmp_path / f"{name}.yaml").write_text(body)
    (tmp_path / "_index.yaml").write_text("scenarios: [c]\n")
    scenarios, stories = load_scenarios(tmp_path)
    assert list(scenarios) == ["c", "a", "b"] and stories == {}
    assert scenarios["a"].overrides == {
        "rl.steps": 5,
        "seeds": 1,
        "arms": {"a": {"kind": "simulated", "flaws": [{"kind": "noise", "temperature": 0.1}]}},
    }
    (tmp_path / "_index.yaml").write_text("scenarios: [c, d]\n")
    with pytest.raises(ScenarioError, match=r"_index.yaml, line 1: key 'scenarios': no scenario file d.yaml"):
        load_scenarios(tmp_path)
    (tmp_path / "_index.yaml").write_text("stories: [a]\n")
    with pytest.raises(ScenarioError, match=r"_index.yaml, line 1: key 'stories': 'a' has no key 'story'"):
        load_scenarios(tmp_path)


GOOD = """\
description: a scenario
base: story_budget
overrides:
  world: opinions
prereg:
  primary: 'x: y'
  optimizer: rl
  direction: up
  min_effect: 0.1
"""


@pytest.mark.parametrize(
    "text,message",
    [
        (GOOD.replace("base:", "bsae:"), "bad.yaml, line 2: unknown key 'bsae'; allowed: base, description"),
        (GOOD.replace("description: a scenario\n", ""), "bad.yaml, line 1: missing key 'description'"),
        (
            GOOD.replace("base: story_budget", "base: story_budgte"),
            "bad.yaml, line 2: key 'base': unknown base 'story_budgte'; known: gentle_rl",
        ),
        (
            GOOD.replace("base: story_budget", "base: weak_flaws"),
            "bad.yaml, line 2: key 'base': the shared file 'weak_flaws' is not a mapping of overrides",
        ),
        (
            GOOD.replace("base: story_budget", "base: [story_budget, 3]"),
            "bad.yaml, line 2: key 'base', item 2: expected a string, got 3",
        ),
        (GOOD.replace("  optimizer: rl\n", ""), "bad.yaml, line 6: key 'prereg': missing key 'optimizer'"),
        (
            GOOD.replace("min_effect: 0.1", "min_effect: large"),
            "bad.yaml, line 9: key 'prereg', key 'min_effect': expected a number, got 'large'",
        ),
        (
            GOOD.replace("direction: up", "direction: sideways"),
            "bad.yaml, line 8: key 'prereg', key 'direction': expected one of 'up', 'down', got 'sideways'",
        ),
        (
            GOOD + "  registered: 2026-12-02\n",
            "bad.yaml, line 10: key 'prereg', key 'registered': expected a string, "
            "got datetime.date(2026, 12, 2) (quote it)",
        ),
        (
            GOOD.replace("  world: opinions", "  rl.lr: 2e-4"),
            "bad.yaml, line 4: key 'overrides', key 'rl.lr': 2e-4 is read by YAML as text; "
            "write 0.0002 or 2.0e-4",
        ),
        (
            GOOD.replace("overrides:\n  world: opinions", "overrides: [world]"),
            "bad.yaml, line 3: key 'overrides' must be a mapping of key: value",
        ),
        (
            GOOD.replace("  world: opinions", "  world: opinions\n  world: banking"),
            "bad.yaml, line 5: key 'overrides': key 'world' repeats the one on line 4",
        ),
        (GOOD + "name: other\n", "bad.yaml, line 10: key 'name': must be the file's name, 'bad'"),
        (
            GOOD + "sources: one source\n",
            "bad.yaml, line 10: key 'sources': expected a list, got 'one source'",
        ),
        (
            GOOD + "story:\n  failure: f\n  measures: []\n",
            "bad.yaml, line 11: key 'story', key 'measures': a story needs at least one measure",
        ),
        (
            GOOD + "story:\n  failure: f\n  measures:\n    - {key: k, label: l, sorce: items}\n",
            "bad.yaml, line 13: key 'story', key 'measures', item 1: unknown key 'sorce'",
        ),
        (
            GOOD + "story:\n  failure: f\n  measures:\n    - {key: k, label: l, source: logs}\n",
            "bad.yaml, line 13: key 'story', key 'measures', item 1, key 'source': expected one of 'items', "
            "'checkpoint', got 'logs'",
        ),
        (
            GOOD + "story:\n  failure: f\n  measures:\n    - {key: k, label: l, bounds: [0, 1, 2]}\n",
            "bad.yaml, line 13: key 'story', key 'measures', item 1, key 'bounds': "
            "expected a list of 2, got 3",
        ),
        (
            GOOD + "story:\n  measures:\n    - {key: k, label: l}\n",
            "bad.yaml, line 11: key 'story': missing key 'failure'",
        ),
        (
            GOOD.replace("  world: opinions", "  arms: {a: {kind: simulated, flaws: !include weak_flawz}}"),
            "bad.yaml, line 4: !include weak_flawz: no shared file of that name (known: gentle_rl",
        ),
        (
            GOOD.replace("  world: opinions", "  world: !!python/name:os.system"),
            "bad.yaml, line 4: key 'overrides', key 'world': could not determine a constructor",
        ),
        ("description: [a\n", "bad.yaml, line 2: not valid YAML"),
        ("", "bad.yaml, line 1: the scenario file is empty"),
    ],
)
def test_bad_files_name_the_file_line_and_key(text, message):
    with pytest.raises(ScenarioError) as e:
        load_scenario_file("bad.yaml", text, shared_dirs=[SHARED_DIR])
    assert str(e.value).startswith(message), str(e.value)


def test_splice_puts_a_shared_lists_items_in_place(tmp_path):
    (tmp_path / "choice.yaml").write_text("- {kind: noise, temperature: 0.1}\n- {kind: fatigue}\n")
    (tmp_path / "budget.yaml").write_text("rl.steps: 3\n")
    text = "description: d\noverrides:\n  arms: {a: {flaws: [{kind: blind}, !splice choice, {kind: last}]}}\n"
    sc, _ = load_scenario_file("s.yaml", text, shared_dirs=[tmp_path])
    assert [f["kind"] for f in sc.overrides["arms"]["a"]["flaws"]] == ["blind", "noise", "fatigue", "last"]
    with pytest.raises(ScenarioError, match=r"^s.yaml, line 3: !splice budget: the shared file is not a lis"):
        load_scenario_file("s.yaml", text.replace("!splice choice", "!splice budget"), shared_dirs=[tmp_path])
    with pytest.raises(ScenarioError, match=r"^s.yaml, line 2: !splice stands only as an item of a list"):
        load_scenario_file("s.yaml", "description: d\nsources: !splice choice\n", shared_dirs=[tmp_path])


def test_include_cycles_and_bad_shared_files_are_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("[!include b]\n")
    (tmp_path / "b.yaml").write_text("[!include a]\n")
    (tmp_path / "broken.yaml").write_text("rl.steps: [1\n")
    with pytest.raises(ScenarioError, match=r"!include b: .*b.yaml, line 1: !include a: .*includes itself"):
        load_scenario_file("s.yaml", "description: d\nsources: !include a\n", shared_dirs=[tmp_path])
    with pytest.raises(
        ScenarioError, match=r"^s.yaml, line 2: key 'base': .*broken.yaml, line 2: not valid YAML"
    ):
        load_scenario_file("s.yaml", "description: d\nbase: broken\n", shared_dirs=[tmp_path])
    with pytest.raises(ScenarioError, match="no shared scenario file of that name"):
        shared("nothing")
    assert {p.stem for p in SHARED_DIR.glob("*.yaml")} >= {"story_budget", "weak_flaws"}


def _cli_list(tmp_path: Path, dirs: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OVERSIGHT_LAB_SCENARIOS": dirs, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "oversight_lab.cli", "list"], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)


def test_own_scenario_files_load_after_the_package_ones(tmp_path):
    mine = tmp_path / "mine"
    (mine / "shared").mkdir(parents=True)
    (mine / "shared" / "tiny_budget.yaml").write_text("rl.steps: 3\n")
    (mine / "quick_sycophant.yaml").write_text(
        (SCENARIO_DIR / "sycophant.yaml").read_text().replace("base: [story_budget, gentle_rl]",
                                                               "base: [story_budget, tiny_budget]"))
    res = _cli_list(tmp_path, str(mine))
    assert res.returncode == 0, res.stderr
    assert res.stdout.index("alchemist_smollm2") < res.stdout.index("quick_sycophant")
    code = ("from oversight_lab.scenarios import SCENARIOS; "
            "from oversight_lab.scenarios.stories import STORIES; "
            "print(SCENARIOS['quick_sycophant'].overrides['rl.steps'], list(STORIES)[-1])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OVERSIGHT_LAB_SCENARIOS": str(mine)})
    assert res.stdout.split() == ["3", "quick_sycophant"], res.stderr


def test_cli_with_a_broken_scenario_file_is_one_line_exit_2(tmp_path):
    (tmp_path / "mine.yaml").write_text("description: d\noverrides:\n  rl.steps: 4\n  rl.steps: 5\n")
    res = _cli_list(tmp_path, str(tmp_path))
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'mine.yaml'}, line 4: key 'overrides': key 'rl.steps' repeats the one on line 3"
    ]
    (tmp_path / "mine.yaml").write_text("description: a second gao\n")
    (tmp_path / "gao.yaml").write_text("description: a second gao\n")
    res = _cli_list(tmp_path, str(tmp_path))
    assert res.returncode == 2 and "gao.yaml: a scenario named 'gao' exists already" in res.stderr
    res = _cli_list(tmp_path, str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "OVERSIGHT_LAB_SCENARIOS: " in res.stderr
    assert "is not a directory" in res.stderr
