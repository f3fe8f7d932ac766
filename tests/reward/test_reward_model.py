import numpy as np
import pytest
import torch
from scipy import stats
from transformers import GPT2Config, GPT2LMHeadModel

from oversight_lab.feedback import Comparison
from oversight_lab.models.tokenizer import build_word_tokenizer
from oversight_lab.reward.bradley_terry import preference_accuracy, train_reward_model
from oversight_lab.reward.config import RewardModelConfig


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    words = [f"w{i}" for i in range(8)] + ["q", ":"]
    tok = build_word_tokenizer(words)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tok),
            n_positions=16,
            n_embd=32,
            n_layer=1,
            n_head=2,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        )
    )
    path = tmp_path_factory.mktemp("backbone")
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path, tok


def synthetic(utilities, n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        i, j = rng.choice(len(utilities), 2, replace=False)
        p = 1 / (1 + np.exp(-(utilities[i] - utilities[j])))
        out.append(
            Comparison(
                task_id=str(k),
                prompt="q :",
                answer_a=f" w{i}",
                answer_b=f" w{j}",
                chosen=0 if rng.random() < p else 1,
                prob_a=float(p),
                evaluator="bt",
                policy="-",
            )
        )
    return out


@pytest.mark.slow  # trains a reward model (~30 s)
def test_bradley_terry_fit_recovers_known_utilities(backbone):
    path, tok = backbone
    utilities = np.linspace(-2, 2, 8)
    rm = train_reward_model(
        path, tok, synthetic(utilities, 1500, 0), RewardModelConfig(steps=250, lr=3e-3), seed=0
    )
    scores = rm.score(["q :"] * 8, [f" w{i}" for i in range(8)])
    assert stats.spearmanr(scores, utilities).statistic > 0.95
    # Bradley–Terry is identified up to a shift: the fitted spread matches the true one within 35%
    slope = np.polyfit(utilities, scores, 1)[0]
    assert 0.65 < slope < 1.35
    held_out = synthetic(utilities, 400, 1)
    acc = preference_accuracy(
        rm,
        [c.prompt for c in held_out],
        [c.chosen_text for c in held_out],
        [c.rejected_text for c in held_out],
    )
    # the Bayes-optimal accuracy on BT-sampled labels is well below 1; a fit near it is above 0.7
    assert acc > 0.7


@pytest.mark.slow  # trains three members
def test_ensemble_aggregates(backbone):
    path, tok = backbone
    utilities = np.linspace(-2, 2, 8)
    cfg = RewardModelConfig(steps=40, lr=3e-3, ensemble_size=3, aggregate="min")
    rm = train_reward_model(path, tok, synthetic(utilities, 300, 2), cfg, seed=1)
    s = rm.member_scores(["q :"] * 8, [f" w{i}" for i in range(8)])
    assert s.shape == (3, 8)
    assert not np.allclose(s[0], s[1])  # members differ (seed and bootstrap resample)
    np.testing.assert_allclose(rm.score(["q :"] * 8, [f" w{i}" for i in range(8)]), s.min(0), rtol=1e-6)
    rm.aggregate = "uwo"
    np.testing.assert_allclose(
        rm.score(["q :"] * 8, [f" w{i}" for i in range(8)]), s.mean(0) - s.var(0), rtol=1e-5, atol=1e-6
    )
