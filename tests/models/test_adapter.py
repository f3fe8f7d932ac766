"""The one model adapter (models/adapter.py): loading, generation, both log-likelihoods and hidden states,
each checked against the model computed by hand, one text at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from oversight_lab.models.adapter import CausalLM, ModelLoadError, encode_pair
from oversight_lab.models.policy import Policy


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from oversight_lab.evals.tiny import build_tiny_bpe_gpt2

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield build_tiny_bpe_gpt2(tmp_path_factory.mktemp("adapter-bpe"))
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def lm(model_dir: Path) -> CausalLM:
    return CausalLM.load(model_dir, max_new_tokens=5)


def _logits(lm: CausalLM, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return lm.model(input_ids=torch.tensor([ids])).logits[0].float()


def test_loading_prepares_generation_or_leaves_the_tokenizer_as_saved(model_dir: Path, lm: CausalLM) -> None:
    assert lm.tokenizer.padding_side == "left" and lm.model.config.pad_token_id == lm.tokenizer.pad_token_id
    assert not lm.model.training and lm.max_length == lm.model.config.n_positions
    raw = CausalLM.load(model_dir, generation=False, dtype="float32", device="cpu")
    assert raw.tokenizer.padding_side == "right" and raw.model.dtype == torch.float32
    policy = Policy.load(model_dir, name="p")
    assert isinstance(policy, CausalLM) and policy.word_level and policy.name == "p"
    with pytest.raises(ModelLoadError, match=r"^policy hf:/nowhere: cannot load \("):
        CausalLM.load("/nowhere/at/all", label="policy hf:/nowhere")


def test_greedy_is_the_argmax_at_every_step(lm: CausalLM) -> None:
    prompts = ["Question: is water wet ?", "The sky", "A longer prompt than the others, padded on the left"]
    got = lm.greedy(prompts, batch_size=2)
    for prompt, text in zip(prompts, got, strict=True):
        ids = lm.tokenizer(prompt)["input_ids"]
        new: list[int] = []
        for _ in range(lm.max_new_tokens):
            nxt = int(_logits(lm, ids + new)[-1].argmax())
            new.append(nxt)
            if nxt == lm.tokenizer.eos_token_id:
                break
        assert text == lm.decode(new)


def test_sampling_is_seeded_and_grouped_per_prompt(lm: CausalLM) -> None:
    a = lm.sample(["one", "two"], n=3, seed=4)
    assert len(a) == 2 and all(len(x) == 3 for x in a)
    assert lm.sample(["one", "two"], n=3, seed=4) == a
    assert lm.sample(["one", "two"], n=3, seed=5) != a


def test_logprob_is_the_completion_with_eos_given_the_prompt(lm: CausalLM) -> None:
    prompts, completions = ["Question: is water wet ?", "Hi"], [" yes it is", " there"]
    got = lm.logprob(prompts, completions, batch_size=1)
    assert np.allclose(lm.logprob(prompts, completions), got, atol=1e-5)  # right padding changes nothing
    tok = lm.tokenizer
    for p, c, value in zip(prompts, completions, got, strict=True):
        start = len(tok(p, add_special_tokens=False)["input_ids"])
        ids = tok(p + c, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        logp = torch.log_softmax(_logits(lm, ids), dim=-1)
        by_hand = sum(float(logp[i - 1, ids[i]]) for i in range(start, len(ids)))
        assert value == pytest.approx(by_hand, abs=1e-4)


def test_loglikelihood_follows_lm_eval(lm: CausalLM) -> None:
    requests = [("Question: is water wet ? Answer:", " yes"), ("The sky is ", "blue"), ("", "hello world"),
                ("Question: is water wet ? Answer:", " no")]
    assert lm._encode_requests(requests) == [encode_pair(lm.tokenizer, c, x) for c, x in requests]
    got = lm.loglikelihood(requests, batch_size=3)
    for (context, continuation), (ll, greedy) in zip(requests, got, strict=True):
        ctx, cont = encode_pair(lm.tokenizer, context, continuation)
        logp = torch.log_softmax(_logits(lm, (ctx + cont)[:-1]), dim=-1)[len(ctx) - 1 :]
        assert ll == pytest.approx(float(logp.gather(1, torch.tensor(cont)[:, None]).sum()), abs=1e-4)
        assert greedy == bool((logp.argmax(-1) == torch.tensor(cont)).all())
    # the window cuts on the left: with a window of 3 tokens the request reads only its last 3 inputs
    short = lm.loglikelihood(requests[:1], max_length=3)[0][0]
    ctx, cont = encode_pair(lm.tokenizer, *requests[0])
    logp = torch.log_softmax(_logits(lm, (ctx + cont)[-4:-1]), dim=-1)[-len(cont) :]
    assert short == pytest.approx(float(logp.gather(1, torch.tensor(cont)[:, None]).sum()), abs=1e-4)


def test_last_token_states_batched_match_one_text_at_a_time(lm: CausalLM) -> None:
    texts = ["one two", "three four five six seven", "x"]
    every = lm.last_token_states(texts, batch_size=2)
    layers = lm.model.config.n_layer + 1
    assert every.shape == (3, layers, lm.model.config.n_embd)
    for layer in (0, layers - 1):
        assert np.allclose(every[:, layer].numpy(), lm.hidden_states(texts, layer=layer), atol=1e-5)


def test_decode_cuts_at_eos_and_word_level_puts_the_space_back(lm: CausalLM) -> None:
    tok = lm.tokenizer
    ids = tok(" yes", add_special_tokens=False)["input_ids"]
    assert lm.decode([*ids, tok.eos_token_id, *ids]) == " yes"
    word = CausalLM(lm.model, tok, word_level=True)
    assert word.decode(tok("yes", add_special_tokens=False)["input_ids"]) == " yes"
    assert word.decode([tok.eos_token_id]) == ""
