"""The evaluatee and other models: the tiny GPT-2 pretrained here, and any Hugging Face causal LM."""

from oversight_lab.models.loading import load_hf_policy, load_policy
from oversight_lab.models.policy import Policy
from oversight_lab.models.tiny import TinyConfig, load_or_pretrain, pretrain
from oversight_lab.models.tokenizer import build_word_tokenizer, tokenizer_hash

__all__ = [
    "Policy",
    "TinyConfig",
    "build_word_tokenizer",
    "load_hf_policy",
    "load_or_pretrain",
    "load_policy",
    "pretrain",
    "tokenizer_hash",
]
