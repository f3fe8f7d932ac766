"""A policy (the evaluatee): a causal LM and its tokenizer, with batched sampling and log-probabilities.

The model-facing methods are :class:`~oversight_lab.models.adapter.CausalLM`'s; a ``Policy`` is that adapter
with the tiny word-level evaluatee's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from oversight_lab.models.adapter import CausalLM

__all__ = ["Policy"]


@dataclass
class Policy(CausalLM):
    """A causal LM with its tokenizer. ``word_level`` tokenizers need a space put back before completions."""

    name: str = "policy"
    word_level: bool = True
