"""Word-level tokenizers built in-process from a world's closed vocabulary.

Built with Hugging Face ``tokenizers`` and wrapped in ``PreTrainedTokenizerFast`` so TRL's trainers and
``generate`` treat it like any hub tokenizer. ``<eos>`` is a special token (DPO and RewardTrainer append it
as a string) and padding is on the left, as generation with a decoder-only model needs.
"""

from __future__ import annotations

import hashlib
import json

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

__all__ = ["SPECIAL_TOKENS", "build_word_tokenizer", "tokenizer_hash"]

SPECIAL_TOKENS = ("<pad>", "<eos>", "<unk>")


def build_word_tokenizer(vocabulary: list[str]) -> PreTrainedTokenizerFast:
    """A whitespace-split word-level tokenizer over ``vocabulary`` plus ``<pad>``, ``<eos>``, ``<unk>``."""
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for word in sorted(set(vocabulary) - set(SPECIAL_TOKENS)):
        vocab[word] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with single spaces
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<eos>", pad_token="<pad>", unk_token="<unk>", padding_side="left"
    )
    tok.model_max_length = 64
    return tok


def tokenizer_hash(tok: PreTrainedTokenizerFast) -> str:
    """A short content hash of a tokenizer's vocabulary and special tokens (logged with every sample)."""
    blob = json.dumps({"vocab": tok.get_vocab(), "special": tok.all_special_tokens}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
