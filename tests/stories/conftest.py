"""Every story once, on a small budget, in one pool of two workers (what ``run --all-stories`` does)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight_lab.config import resolve_config
from oversight_lab.scenarios.stories import STORIES, story_overrides

# One seed and a smaller budget than the stories' default; large enough that each failure shows.
SMALL = {
    "pretrain_seeds": 1,
    "seeds": 1,
    "bon.pool_size": 16,
    "bon.n_tasks": 16,
    "rl.steps": 30,
    "eval.n_tasks": 16,
    "eval.samples_per_task": 2,
}


@pytest.fixture(scope="session")
def stories_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    from oversight_lab.runs.stories import execute_stories

    out = tmp_path_factory.mktemp("stories")
    cfgs = {name: resolve_config(story_overrides(name), SMALL) for name in STORIES}
    timings = execute_stories(cfgs, out, workers=2, show_progress=False)
    return out, json.loads((out / "stories.json").read_text()), timings
