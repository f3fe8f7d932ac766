"""The model-size family: named shapes, validated in the config, usable as evaluatee, reward backbone and
judge, pretrained and cached per (size, pretraining seed)."""

from __future__ import annotations

import dataclasses

import pytest

from oversight_lab.config import ConfigError, check_inputs, resolve_config
from oversight_lab.models.sizes import SIZES, check_size, is_hf, shape_of, size_order
from oversight_lab.models.tiny import TinyConfig


def test_the_sizes_and_their_shapes():
    assert {k: tuple(v) for k, v in SIZES.items()} == {
        "xs": (1, 16, 1), "s": (1, 32, 2), "m": (2, 64, 4), "l": (4, 128, 8)}
    # m is today's default evaluatee, so it shares its cache entries
    d = TinyConfig()
    assert tuple(SIZES["m"]) == (d.n_layer, d.n_embd, d.n_head)
    assert shape_of("tiny:2x64") == SIZES["m"] and shape_of("tiny:3x48") == (3, 48, 3)
    assert sorted(["l", "hf:x", "xs", "m", "s"], key=size_order) == ["xs", "s", "m", "l", "hf:x"]
    assert is_hf("hf:smollm2-135m-instruct") and check_size("hf:/tmp/m") == "hf:/tmp/m"
    for bad in ("xxl", "tiny:2x4", "hf:", "2x64"):
        with pytest.raises(ValueError):
            check_size(bad)


def test_tiny_size_sets_the_evaluatee_shape_and_names_the_key_when_unknown():
    cfg = resolve_config({}, {"tiny.size": "l"})
    assert (cfg.tiny.n_layer, cfg.tiny.n_embd, cfg.tiny.n_head) == (4, 128, 8)
    assert resolve_config({}, {"tiny.size": "xs", "tiny.n_layer": 3}).tiny.n_layer == 1  # the size decides
    # the resolved config round-trips (workers re-validate it)
    again = type(cfg).model_validate(cfg.model_dump())
    assert again.tiny == cfg.tiny
    with pytest.raises(ConfigError, match=r"config key 'tiny.size'.*unknown model size 'huge'"):
        resolve_config({}, {"tiny.size": "huge"})


def test_an_hf_size_is_the_evaluatee_and_has_one_pretraining_seed():
    cfg = resolve_config({}, {"tiny.size": "hf:/tmp/some-model"})
    assert cfg.policy == "hf:/tmp/some-model" and cfg.pretrain_seeds == 1
    with pytest.raises(ConfigError, match="tiny.size"):
        resolve_config({}, {"tiny.size": "hf:/tmp/a", "policy": "hf:/tmp/b"})


def test_reward_backbone_takes_a_size():
    from oversight_lab.reward.bradley_terry import backbone_config

    cfg = resolve_config({}, {"reward.backbone": "s"})
    assert cfg.reward.backbone == "s"
    base = TinyConfig(steps=7)
    assert backbone_config("s", base) == dataclasses.replace(base, n_layer=1, n_embd=32, n_head=2)
    assert backbone_config("tiny:2x64", base) == backbone_config("m", base)
    with pytest.raises(ConfigError, match="config key 'reward.backbone'"):
        resolve_config({}, {"reward.backbone": "huge"})


def test_sweep_model_key_reads_sizes_as_reward_backbones():
    from oversight_lab.sweeps.engine import _model_key

    cfg = resolve_config({}, {})
    assert _model_key(cfg, "m") == _model_key(cfg, "tiny:2x64") != _model_key(cfg, "l")


def test_judge_size_is_checked_before_anything_runs():
    def judge(**params):
        return resolve_config({}, {"arms": {"judge": {"kind": "judge", "flaws": [], "params": params}}})

    check_inputs(judge(size="xs"))
    check_inputs(judge(size="hf:/tmp/judge", backend="hf"))
    with pytest.raises(ConfigError, match=r"arms.judge.params.size.*unknown model size 'big'"):
        check_inputs(judge(size="big"))
    with pytest.raises(ConfigError, match=r"arms.judge.params.size.*not both"):
        check_inputs(judge(size="s", n_layer=2))
    with pytest.raises(ConfigError, match=r"arms.judge.params.size.*backend"):
        check_inputs(judge(size="s", backend="hf"))


def test_judge_of_a_size_starts_from_the_pretrained_model_of_that_size(tmp_path, monkeypatch):
    """The tiny judge of size xs is built on the xs evaluatee (its own cache entry, per size)."""
    from oversight_lab.evaluators import tiny_judge
    from oversight_lab.evaluators.kinds import build_evaluator
    from oversight_lab.worlds import AlchemyWorld

    seen: list[TinyConfig] = []

    def fake_train(world, cfg, constitution):  # noqa: ANN001, ANN202
        seen.append(cfg)
        raise RuntimeError("stop before training")

    monkeypatch.setattr(tiny_judge, "load_or_train_judge", fake_train)
    with pytest.raises(RuntimeError, match="stop before training"):
        build_evaluator(AlchemyWorld(), "judge", [], {"size": "xs", "steps": 3}, 0, "judge")
    assert (seen[0].n_layer, seen[0].n_embd, seen[0].n_head, seen[0].steps) == (1, 16, 1, 3)


def test_sizes_pretrain_into_their_own_cache_entries_per_pretraining_seed(tmp_path, monkeypatch):
    from oversight_lab.models.loading import tiny_config
    from oversight_lab.models.tiny import load_or_pretrain
    from oversight_lab.worlds import AlchemyWorld

    monkeypatch.setenv("OVERSIGHT_LAB_CACHE", str(tmp_path))
    world = AlchemyWorld()
    small = {"tiny.corpus_lines": 200, "tiny.steps": 4}
    paths = {}
    for size in ("xs", "s"):
        for seed in (0, 1):
            cfg = tiny_config(resolve_config({}, {**small, "tiny.size": size, "tiny.seed": seed}))
            model, _, path, info = load_or_pretrain(world, cfg)
            assert not info["cache_hit"]
            assert (model.config.n_layer, model.config.n_embd) == tuple(SIZES[size])[:2]
            paths[size, seed] = path
    assert len(set(paths.values())) == 4
    cfg = tiny_config(resolve_config({}, {**small, "tiny.size": "xs", "tiny.seed": 1}))
    assert load_or_pretrain(world, cfg)[3]["cache_hit"]


def test_a_grid_axis_of_sizes_gives_one_pretrained_model_per_size():
    from oversight_lab.sweeps import GridError, parse_grid
    from oversight_lab.sweeps.engine import _preparation

    g = parse_grid("seeds: 1\ngrid:\n  tiny.size: [xs, s, m]\n", "sizes.yaml")
    assert [(c.config.tiny.n_layer, c.config.tiny.n_embd) for c in g.cells] == [(1, 16), (1, 32), (2, 64)]
    assert [c.label for c in g.cells] == ["tiny.size=xs", "tiny.size=s", "tiny.size=m"]
    # a job's config keeps the size's shape on its pretraining seed, and each size is pretrained once
    assert g.job_config(g.cells[0], 0)["tiny"]["n_embd"] == 16
    assert len(_preparation(g, g.cells)) == 3
    with pytest.raises(GridError, match=r"sizes.yaml, line 3: config key 'tiny.size'"):
        parse_grid("seeds: 1\ngrid:\n  tiny.size: [xs, huge]\n", "sizes.yaml")
