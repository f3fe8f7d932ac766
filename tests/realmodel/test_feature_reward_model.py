"""The frozen-backbone reward model: a Bradley–Terry head learns a preference; the backbone never changes."""

from __future__ import annotations

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from oversight_lab.models.tokenizer import build_word_tokenizer
from oversight_lab.reward.features import train_feature_reward_model


def test_head_learns_the_preference_and_backbone_stays_frozen() -> None:
    torch.manual_seed(0)
    words = ["request", "red", "cold", "sweet", "use", "alum", "borax", "good", "bad", ":"]
    tok = build_word_tokenizer(words)
    model = GPT2LMHeadModel(
        GPT2Config(vocab_size=len(tok), n_layer=1, n_embd=32, n_head=2, n_positions=32)
    ).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(0)
    props = ["red", "cold", "sweet"]
    prompts = [f"request {rng.choice(props)} :" for _ in range(40)]
    chosen = [f" use {rng.choice(['alum', 'borax'])} good" for _ in prompts]
    rejected = [f" use {rng.choice(['alum', 'borax'])} bad" for _ in prompts]
    rm = train_feature_reward_model(model, tok, prompts, chosen, rejected, steps=150, lr=0.05, seed=0)
    assert rm.train_log[-1]["accuracy"] == 1.0 and rm.train_log[-1]["loss"] < rm.train_log[0]["loss"]
    test_prompts = ["request cold :", "request sweet :"]
    good = rm.score(test_prompts, [" use alum good", " use borax good"])
    bad = rm.score(test_prompts, [" use alum bad", " use borax bad"])
    assert (good > bad).all()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    n_cached = len(rm.cache)
    rm.score(test_prompts, [" use alum good", " use borax good"])
    assert len(rm.cache) == n_cached  # repeated texts are read from the cache
