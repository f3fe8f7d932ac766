"""Session fixtures: a tiny GPT-2 with a byte-level BPE tokenizer trained in-process on the shipped sample
files (so any text tokenizes), saved like a hub checkpoint; nothing is fetched from the hub."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHAT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'user' %}<|user|>{{ m['content'] }}\n"
    "{% else %}<|assistant|>{{ m['content'] }}{% if not loop.last %}\n{% endif %}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _corpus() -> list[str]:
    from oversight_lab.evals.data import SHIPPED

    texts = []
    for path in sorted(SHIPPED.rglob("*")):
        if path.is_file():
            texts.extend(path.read_text(encoding="utf-8").splitlines())
    return texts


def build_tiny_bpe_gpt2(out_dir: Path, seed: int = 0, n_embd: int = 32):
    """A 2-layer GPT-2 with a ~600-token byte-level BPE vocabulary, saved with ``save_pretrained``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>", "<|user|>", "<|assistant|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    core.train_from_iterator(_corpus(), trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                  pad_token="<|endoftext|>")
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=1024, n_embd=n_embd, n_layer=2, n_head=2,
                     bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id)
    model = GPT2LMHeadModel(cfg)
    with torch.no_grad():  # a larger output scale than the default init, so choices get distinct probabilities
        model.lm_head.weight.mul_(8.0)
    model.eval()
    model.save_pretrained(out_dir)
    tok.save_pretrained(out_dir)
    (out_dir / "built.json").write_text(json.dumps({"seed": seed}))
    return out_dir


@pytest.fixture(scope="session")
def tiny_hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bpe_gpt2(tmp_path_factory.mktemp("tiny-bpe-gpt2"))


@pytest.fixture(scope="session")
def tiny_hf_dir_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second tiny model (another seed) for paired comparisons."""
    return build_tiny_bpe_gpt2(tmp_path_factory.mktemp("tiny-bpe-gpt2-b"), seed=1)


@pytest.fixture(scope="session")
def hf_backend(tiny_hf_dir: Path):
    from oversight_lab.evals.backends.hf import HFBackend

    return HFBackend.from_pretrained(tiny_hf_dir, batch_size=16)
