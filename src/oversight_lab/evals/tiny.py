"""A tiny GPT-2 with a byte-level BPE tokenizer trained in-process, for offline tests, demos and benchmarks.

The tokenizer is trained on the eval sample files the project ships, so any text tokenizes (byte fallback);
the model is randomly initialised (2 layers) and saved with ``save_pretrained`` so it loads like a hub
checkpoint through ``hf:<dir>``. Nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["CHAT_TEMPLATE", "build_tiny_bpe_gpt2"]

CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}<|user|>{{ m['content'] }}\n"
    "{% else %}<|assistant|>{{ m['content'] }}{% if not loop.last %}\n{% endif %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _corpus() -> list[str]:
    from oversight_lab.evals.data import SHIPPED

    texts: list[str] = []
    for path in sorted(SHIPPED.rglob("*")):
        if path.is_file():
            texts.extend(path.read_text(encoding="utf-8").splitlines())
    return texts


def build_tiny_bpe_gpt2(
    out_dir: str | Path,
    seed: int = 0,
    n_embd: int = 32,
    n_layer: int = 2,
    vocab_size: int = 600,
    output_scale: float = 8.0,
) -> Path:
    """Build, save and return the directory of a tiny GPT-2 (``output_scale`` sharpens its random
    predictions)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    out = Path(out_dir)
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|user|>", "<|assistant|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_corpus(), trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<|endoftext|>", bos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=len(tok),
        n_positions=1024,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=2,
        bos_token_id=tok.eos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    model = GPT2LMHeadModel(cfg)
    with torch.no_grad():
        model.lm_head.weight.mul_(output_scale)
    model.eval()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "built.json").write_text(json.dumps({"seed": seed, "n_embd": n_embd, "n_layer": n_layer}))
    return out


def tiny_evaluatee_checkpoint(cache: str | Path, steps: int = 50, corpus_lines: int = 2000) -> Path:
    """The tiny alchemy evaluatee's checkpoint directory, pretrained (or loaded) under the cache ``cache``.

    ``OVERSIGHT_LAB_CACHE`` is set only for the call, so callers (tests) do not leak it to each other.
    """
    import os

    from oversight_lab.models.tiny import TinyConfig, load_or_pretrain
    from oversight_lab.worlds import AlchemyWorld

    before = os.environ.get("OVERSIGHT_LAB_CACHE")
    os.environ["OVERSIGHT_LAB_CACHE"] = str(cache)
    try:
        _, _, path, _ = load_or_pretrain(AlchemyWorld(), TinyConfig(steps=steps, corpus_lines=corpus_lines))
    finally:
        if before is None:
            os.environ.pop("OVERSIGHT_LAB_CACHE", None)
        else:
            os.environ["OVERSIGHT_LAB_CACHE"] = before
    return path
