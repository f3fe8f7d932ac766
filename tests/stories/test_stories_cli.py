"""``oversight-lab run --all-stories``: bad input fails in one line with exit 2 and writes nothing."""

import os
import subprocess
import sys

import pytest

from oversight_lab.scenarios import SCENARIOS
from oversight_lab.scenarios.stories import STORIES


@pytest.mark.parametrize(
    "args,message",
    [
        (["--set", "rl.stepz=3"], "unknown config key 'rl.stepz'"),
        (["--set", "rl.steps=many"], "config key 'rl.steps'"),
        (["--seeds", "0"], "config key 'seeds'"),
    ],
)
def test_all_stories_bad_input(tmp_path, args, message):
    res = subprocess.run(
        [sys.executable, "-m", "oversight_lab.cli", "run", "--all-stories", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ.copy(),
    )
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_every_story_is_a_scenario_with_a_control():
    assert set(STORIES) == {"banker", "alchemist", "sycophant", "sandbagger", "overconfident", "omission"}
    for name, story in STORIES.items():
        assert name in SCENARIOS and story.measures
        arms = SCENARIOS[name].overrides.get("arms")
        if arms is not None:  # the alchemist keeps its registered RunConfig defaults: flawed vs control
            assert set(arms) == {"flawed", "control", "expert"}
            assert arms["flawed"]["flaws"] != arms["control"]["flaws"], f"{name}: the control must differ"
            # control A is an imperfect human, never gold: it keeps the flawed arm's noise, flips and fatigue
            choice = [f for f in arms["flawed"]["flaws"] if f["kind"] in ("noise", "fatigue")]
            assert choice and all(f in arms["control"]["flaws"] for f in choice), name
            assert arms["control"]["kind"] == "simulated" and arms["expert"]["kind"] == "expert"
            assert arms["expert"]["flaws"] == choice, name  # control B: gold with the same choice noise
