"""Session fixtures for the protocol tests: the alchemy world, demonstration pairs, a tiny judge."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def world():
    from oversight_lab.worlds import make_world

    return make_world("alchemy")


@pytest.fixture(scope="session")
def weak_flaws():
    from oversight_lab.evaluators import make_flaw
    from oversight_lab.scenarios.protocols import WEAK_FLAWS

    return [make_flaw(f) for f in WEAK_FLAWS]


@pytest.fixture(scope="session")
def pairs(world):
    """Pairs of demonstration-like answers with a strict gold preference (no policy needed)."""
    from oversight_lab.evaluators import ExpertEvaluator
    from oversight_lab.evaluators.tiny_judge import judge_pairs

    return [(t, a, b) for t, a, b, _ in judge_pairs(world, 400, seed=7, labeller=ExpertEvaluator(world))]


@pytest.fixture(scope="session")
def judge_dir(world, tmp_path_factory) -> Path:
    """A tiny judge on a tiny budget: enough to answer with a letter, not to judge well."""
    import torch

    from oversight_lab.evaluators.tiny_judge import TinyJudgeConfig, train_tiny_judge

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("judge")
    try:
        train_tiny_judge(
            world, TinyJudgeConfig(steps=40, n_pairs=600, batch_size=16, init="fresh"), out_dir=out
        )
    finally:
        torch.set_num_threads(threads)
    return out
