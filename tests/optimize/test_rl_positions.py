"""RL scores completions at the positions generation sampled them at (TRL passes no position ids)."""

import torch
from transformers import GPT2Config, GPT2LMHeadModel

from oversight_lab.optimize.rl import positions_from_mask


def _model() -> GPT2LMHeadModel:
    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=40, n_positions=32, n_embd=16, n_layer=2, n_head=2, pad_token_id=0, eos_token_id=1
    )
    return GPT2LMHeadModel(cfg).eval()


def test_a_left_padded_row_scores_as_if_unpadded_only_with_the_hook():
    m = _model()
    row = torch.tensor([[5, 6, 7, 8]])
    padded = torch.tensor([[0, 0, 5, 6, 7, 8], [9, 8, 7, 6, 5, 4]])
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    with torch.no_grad():
        alone = m(input_ids=row, attention_mask=torch.ones_like(row)).logits[0]
        shifted = m(input_ids=padded, attention_mask=mask).logits[0, 2:]  # what TRL's loss forward computes
        assert not torch.allclose(alone, shifted, atol=1e-4)  # absolute positions moved by the two pads
        h = m.register_forward_pre_hook(positions_from_mask, with_kwargs=True)
        try:
            fixed = m(input_ids=padded, attention_mask=mask).logits
        finally:
            h.remove()
    assert torch.allclose(alone, fixed[0, 2:], atol=1e-5)
    assert torch.allclose(m(input_ids=padded[1:]).logits[0], fixed[1], atol=1e-5)  # unpadded rows unchanged


def test_generation_is_the_same_with_the_hook():
    m = _model()
    batch = torch.tensor([[0, 0, 5, 6, 7], [9, 8, 7, 6, 5]])
    mask = (batch != 0).long()
    kw = dict(
        attention_mask=mask,
        max_new_tokens=6,
        do_sample=False,
        output_scores=True,
        return_dict_in_generate=True,
    )
    plain = m.generate(batch, **kw)
    h = m.register_forward_pre_hook(positions_from_mask, with_kwargs=True)
    try:
        hooked = m.generate(batch, **kw)
    finally:
        h.remove()
    assert torch.equal(plain.sequences, hooked.sequences)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(plain.scores, hooked.scores, strict=True))
