"""Load the evaluatee named by a run config: the tiny model pretrained here, or any Hugging Face causal LM.

``policy = "tiny"`` builds (or loads from the cache) the tiny GPT-2 pretrained on the world's corpus.
``policy = "hf:<name or path>"`` loads any causal LM (:meth:`~oversight_lab.models.adapter.CausalLM.load`):
a local directory, a hub id (which needs network access or a populated Hugging Face cache;
``HF_HUB_OFFLINE=1`` gives a clear error otherwise), or a model the lab converted
(``hf:smollm2-135m-instruct``, see :mod:`oversight_lab.models.hub`). Either way the initial policy is saved
into the run directory, so a run directory holds every checkpoint it reports on, and TRL can rebuild its
reference model from a local path.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

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
    name = f"hf:{name_or_path}"
    return Policy.load(name_or_path, label=f"policy {name}", name=name, word_level=False,
                       max_new_tokens=max_new_tokens)  # type: ignore[return-value]


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
