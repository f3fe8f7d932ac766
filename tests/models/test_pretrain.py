"""The tiny evaluatee's pretraining: its cache key names everything that decides its weights, thread count
included, and the caller's torch settings do not leak into it."""

from __future__ import annotations

import dataclasses

import torch

from oversight_lab.config import RunConfig
from oversight_lab.models.loading import tiny_config
from oversight_lab.models.tiny import TinyConfig, load_or_pretrain, pretrain, pretrain_key
from oversight_lab.models.tokenizer import build_word_tokenizer
from oversight_lab.worlds import AlchemyWorld

SMALL = TinyConfig(n_layer=1, n_embd=16, n_head=2, corpus_lines=200, steps=6, batch_size=8, block_size=32)


def _weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_pretraining_runs_on_the_configs_threads_and_restores_the_callers() -> None:
    world = AlchemyWorld()
    tok = build_word_tokenizer(world.vocabulary())
    seen: list[int] = []
    outer = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        model_a, _ = pretrain(world, SMALL, tok, progress=lambda *_: seen.append(torch.get_num_threads()))
        assert torch.get_num_threads() == 2  # the caller's setting is back
        torch.set_num_threads(1)
        model_b, _ = pretrain(world, SMALL, tok)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(outer)
    assert set(seen) == {SMALL.threads} == {1}
    # the same config gives the same weights whatever thread count the caller had set
    assert torch.equal(_weights(model_a), _weights(model_b))


def test_the_thread_count_is_part_of_the_checkpoints_key(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OVERSIGHT_LAB_CACHE", str(tmp_path))
    world = AlchemyWorld()
    tok = build_word_tokenizer(world.vocabulary())
    two = dataclasses.replace(SMALL, threads=2)
    assert pretrain_key(world, SMALL, tok) != pretrain_key(world, two, tok)
    _, _, path_one, info_one = load_or_pretrain(world, SMALL)
    _, _, path_two, info_two = load_or_pretrain(world, two)
    assert path_one != path_two and not info_one["cache_hit"] and not info_two["cache_hit"]
    assert info_two["config"]["threads"] == 2
    # the run config's `tiny.threads` reaches the key
    cfg = RunConfig.model_validate({"tiny": {"threads": 2}})
    assert tiny_config(cfg).threads == 2 and tiny_config(RunConfig()).threads == 1


def test_short_pretraining_has_a_valid_schedule_and_too_short_is_named() -> None:
    """20 steps once divided by zero in the one-cycle schedule (5% warm-up = one step); any budget from 4 up
    pretrains, and fewer is refused naming tiny.steps."""
    import pytest
    from pydantic import ValidationError

    world = AlchemyWorld()
    tok = build_word_tokenizer(world.vocabulary())
    for steps in (4, 20):
        _, log = pretrain(world, dataclasses.replace(SMALL, steps=steps), tok)
        assert log["final_loss"] == log["final_loss"]  # finite, not NaN
    with pytest.raises(ValueError, match="tiny.steps"):
        pretrain(world, dataclasses.replace(SMALL, steps=3), tok)
    with pytest.raises(ValidationError, match="steps"):
        RunConfig.model_validate({"tiny": {"steps": 3}})
