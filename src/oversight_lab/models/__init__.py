"""The evaluatee and other models: the tiny GPT-2 pretrained here, and any Hugging Face causal LM, all
through one adapter (:class:`~oversight_lab.models.adapter.CausalLM`).

The names are loaded on first use (PEP 562), so that ``oversight_lab.models.hub`` (which only reads the lab's
cache) can be imported by the CLI's checks without torch and transformers."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CausalLM",
    "Policy",
    "TinyConfig",
    "build_word_tokenizer",
    "load_hf_policy",
    "load_or_pretrain",
    "load_policy",
    "pretrain",
    "tokenizer_hash",
]

_WHERE = {
    "CausalLM": "adapter", "Policy": "policy", "TinyConfig": "tiny", "build_word_tokenizer": "tokenizer",
    "load_hf_policy": "loading", "load_or_pretrain": "tiny", "load_policy": "loading", "pretrain": "tiny",
    "tokenizer_hash": "tokenizer",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'oversight_lab.models' has no attribute {name!r}")
    return getattr(importlib.import_module(f"oversight_lab.models.{_WHERE[name]}"), name)
