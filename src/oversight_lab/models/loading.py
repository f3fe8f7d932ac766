"""Load the evaluatee named by a run config: the tiny model pretrained here, or any Hugging Face causal LM.

``policy = "tiny"`` builds (or loads from the cache) the tiny GPT-2 pretrained on the world's corpus.
``policy = "hf:<name or path>"`` loads any causal LM with ``from_pretrained``: a local directory, a hub id
(which needs network access or a populated Hugging Face cache; ``HF_HUB_OFFLINE=1`` gives a clear error
otherwise), or a model the lab converted (``hf:smollm2-135m-instruct``, see :mod:`oversight_lab.models.hub`).
Either way the initial policy is saved into the run directory, so a run directory holds every checkpoint it
reports on, and TRL can rebuild its reference model from a local path.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from transformers import AutoModelForCausalLM, AutoTokenizer

from oversight_lab.models.hub import resolve_model
from oversight_lab.models.policy import Policy
from oversight_lab.models.tiny import TinyConfig, load_or_pretrain
from oversight_lab.worlds.base import World

if TYPE_CHECKING:
    from oversight_lab.config import RunConfig

__all__ = ["load_hf_policy", "load_policy", "tiny_config"]


def tiny_config(cfg: RunConfig) -> TinyConfig:
    t = cfg.tiny
    return TinyConfig(
        n_layer=t.n_layer,
        n_embd=t.n_embd,
        n_head=t.n_head,
        corpus_lines=t.corpus_lines,
        steps=t.steps,
        lr=t.lr,
        seed=t.seed,
        threads=t.threads,
    )


def load_hf_policy(name_or_path: str, max_new_tokens: int = 8) -> Policy:
    """Any Hugging Face causal LM and its tokenizer, made ready for batched left-padded generation."""
    path = resolve_model(name_or_path)
    try:
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path)
    except OSError as e:
        raise ValueError(f"policy hf:{name_or_path}: cannot load ({str(e).splitlines()[0]})") from None
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    model.eval()
    return Policy(model, tok, name=f"hf:{name_or_path}", word_level=False, max_new_tokens=max_new_tokens)


def load_policy(cfg: RunConfig, world: World, save_dir: Path) -> tuple[Policy, Path]:
    """The initial policy, and the local directory it is saved in (``save_dir``)."""
    if cfg.policy == "tiny":
        model, tok, cached, _ = load_or_pretrain(world, tiny_config(cfg))
        if not (save_dir / "config.json").exists():
            shutil.copytree(cached, save_dir, dirs_exist_ok=True)
        return Policy(model, tok, name="tiny", word_level=True, max_new_tokens=cfg.max_new_tokens), save_dir
    if cfg.policy.startswith("hf:"):
        policy = load_hf_policy(cfg.policy[3:], cfg.max_new_tokens)
        if not (save_dir / "config.json").exists():
            policy.save(save_dir)
        return policy, save_dir
    raise ValueError(f"config key 'policy': expected 'tiny' or 'hf:<name or path>', got {cfg.policy!r}")
