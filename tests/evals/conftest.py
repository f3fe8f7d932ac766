"""Session fixtures: tiny GPT-2s with a byte-level BPE tokenizer trained in-process on the shipped sample
files (so any text tokenizes), saved like hub checkpoints; nothing is fetched from the hub."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models run fastest on one thread, and several threads thrash when other processes share the
    cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from oversight_lab.evals.tiny import build_tiny_bpe_gpt2

    return build_tiny_bpe_gpt2(tmp_path_factory.mktemp("tiny-bpe-gpt2"))


@pytest.fixture(scope="session")
def tiny_hf_dir_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second tiny model (another seed) for paired comparisons."""
    from oversight_lab.evals.tiny import build_tiny_bpe_gpt2

    return build_tiny_bpe_gpt2(tmp_path_factory.mktemp("tiny-bpe-gpt2-b"), seed=1)


@pytest.fixture(scope="session")
def hf_backend(tiny_hf_dir: Path):
    from oversight_lab.evals.backends.hf import HFBackend

    return HFBackend.from_pretrained(tiny_hf_dir, batch_size=16)
