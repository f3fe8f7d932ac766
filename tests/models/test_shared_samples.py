"""The arms of a replicate share their initial policy's samples: the same answers, and the same torch random
state afterwards, as sampling in every arm; another seed or other weights are another entry."""

from __future__ import annotations

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from oversight_lab.models.policy import Policy
from oversight_lab.models.shared_samples import share_samples
from oversight_lab.models.tokenizer import build_word_tokenizer
from oversight_lab.worlds import AlchemyWorld

PROMPTS = ["recipe for a healing draught", "recipe for a sleeping draught"]


def _policy(seed: int = 0) -> Policy:
    world = AlchemyWorld()
    tok = build_word_tokenizer(world.vocabulary())
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_layer=1, n_embd=16, n_head=2, n_positions=64,
                                       pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id))
    return Policy(model.eval(), tok, max_new_tokens=6)


def test_a_second_arm_reads_what_the_first_sampled_and_the_random_state_matches(tmp_path) -> None:
    plain = _policy()
    expected = plain.sample(PROMPTS, n=3, seed=5)
    after_plain = torch.rand(4)

    first = share_samples(_policy(), tmp_path)
    assert first.sample(PROMPTS, n=3, seed=5) == expected
    after_first = torch.rand(4)
    assert len(list(tmp_path.glob("*.json.gz"))) == 1

    torch.manual_seed(123)  # the second arm's generator is elsewhere before it asks
    second = share_samples(_policy(), tmp_path)
    assert second.sample(PROMPTS, n=3, seed=5) == expected  # read, not resampled
    assert len(list(tmp_path.glob("*.json.gz"))) == 1
    assert torch.equal(after_plain, after_first) and torch.equal(torch.rand(4), after_plain)


def test_another_seed_or_other_weights_are_another_entry(tmp_path) -> None:
    a = share_samples(_policy(), tmp_path)
    a.sample(PROMPTS, n=2, seed=1)
    a.sample(PROMPTS, n=2, seed=2)
    other = share_samples(_policy(seed=9), tmp_path)
    got = other.sample(PROMPTS, n=2, seed=1)
    assert len(list(tmp_path.glob("*.json.gz"))) == 3
    assert got == _policy(seed=9).sample(PROMPTS, n=2, seed=1)
