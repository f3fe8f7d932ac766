"""A Hugging Face causal LM as the reward model's backbone (``reward.backbone=hf:<name or path>``): read with
its own tokenizer, trained and scored like any backbone; a bad value is refused naming the key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oversight_lab.config import RunConfig
from oversight_lab.feedback.records import Comparison
from oversight_lab.models.loading import tiny_config
from oversight_lab.models.tiny import TinyConfig, load_or_pretrain
from oversight_lab.reward.bradley_terry import load_backbone, train_reward_model
from oversight_lab.reward.config import RewardModelConfig
from oversight_lab.worlds import AlchemyWorld

SMALL = TinyConfig(n_layer=1, n_embd=16, n_head=2, corpus_lines=200, steps=6, batch_size=8, block_size=32)


def test_an_hf_directory_trains_and_scores_as_a_reward_backbone(tmp_path) -> None:
    world = AlchemyWorld()
    model, tok, _, _ = load_or_pretrain(world, SMALL)
    saved = tmp_path / "some-hf-model"
    model.save_pretrained(saved)
    tok.save_pretrained(saved)

    path, hf_tok = load_backbone(f"hf:{saved}", world, tiny_config(RunConfig()))
    assert path == saved and hf_tok.pad_token is not None
    task = world.tasks("train", 1, seed=0)[0]
    good, bad = " sulfur alum borax", " antimony orpiment realgar"
    cmps = [Comparison(task_id=task.id, prompt=task.prompt, answer_a=good, answer_b=bad, chosen=0,
                       prob_a=1.0, evaluator="test", policy="initial") for _ in range(16)]
    rm = train_reward_model(path, hf_tok, cmps, RewardModelConfig(steps=20, batch_size=8, lr=5e-3), seed=0)
    scores = rm.score([task.prompt] * 2, [good, bad])
    assert scores[0] > scores[1]  # it learned the one preference it was shown


def test_bad_hf_backbones_are_refused_naming_the_key(tmp_path) -> None:
    with pytest.raises(ValidationError, match="hf: needs a model name or path"):
        RewardModelConfig(backbone="hf:")
    assert RewardModelConfig(backbone="hf:smollm2").backbone == "hf:smollm2"
    with pytest.raises(ValueError, match="reward.backbone.*not a model directory"):
        load_backbone(f"hf:{tmp_path / 'missing'}", AlchemyWorld(), tiny_config(RunConfig()))


def test_the_run_refuses_a_missing_hf_backbone_before_anything_runs(tmp_path) -> None:
    from oversight_lab.config import ConfigError, check_inputs

    cfg = RunConfig.model_validate({"reward": {"backbone": f"hf:{tmp_path / 'nope'}"}})
    with pytest.raises(ConfigError, match="config key 'reward.backbone'.*no such directory"):
        check_inputs(cfg)
