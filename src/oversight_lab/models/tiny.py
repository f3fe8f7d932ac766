"""The tiny evaluatee: a GPT-2-architecture model pretrained in-process on a world's corpus.

Pretraining is a plain nanoGPT-style loop over packed blocks of the corpus (one document per line, ``<eos>``
between documents). The result is cached under the user cache directory by a content hash of the world, the
tokenizer, the model and pretraining configs, the seed and the code that builds it, so a second run with the
same inputs loads it in milliseconds and a change to any of them retrains.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from oversight_lab.cache import cache_dir, code_hash, load_or_build
from oversight_lab.models.tokenizer import build_word_tokenizer, tokenizer_hash
from oversight_lab.worlds.base import World

__all__ = ["TinyConfig", "pretrain", "load_or_pretrain", "pretrain_key"]


@dataclass(frozen=True)
class TinyConfig:
    """Architecture and pretraining budget of the tiny evaluatee."""

    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_positions: int = 64
    corpus_lines: int = 20000
    steps: int = 1000
    batch_size: int = 32
    block_size: int = 64
    lr: float = 5e-3
    seed: int = 0
    # The torch threads pretraining runs on. Part of the checkpoint's identity: CPU kernels split their
    # reductions by thread, so the same seed pretrained on 1 and on 2 threads ends in different weights
    # (alchemy, 1000 steps: final loss 0.9631 vs 0.9692), and a cache keyed without it would hand one run the
    # other's model.
    threads: int = 1


def _code_version(world: World) -> str:
    """A hash of the code that decides what a pretrained checkpoint contains (world file included)."""
    import inspect

    import oversight_lab.models.tokenizer as tokmod

    h = hashlib.sha256()
    for path in (Path(__file__), Path(tokmod.__file__), Path(inspect.getfile(type(world)))):
        h.update(code_hash(path).encode())
    return h.hexdigest()[:12]


def pretrain_key(world: World, cfg: TinyConfig, tok: PreTrainedTokenizerFast) -> str:
    blob = json.dumps(
        {
            "world": world.describe(),
            "tokenizer": tokenizer_hash(tok),
            "model": asdict(cfg),
            "code": _code_version(world),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def pretrain(
    world: World,
    cfg: TinyConfig,
    tok: PreTrainedTokenizerFast,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[GPT2LMHeadModel, dict]:
    """Pretrain a fresh tiny GPT-2 on ``world``'s corpus, on ``cfg.threads`` torch threads whatever the caller
    set (restored after); returns the model and its training log."""
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return _pretrain(world, cfg, tok, progress)
    finally:
        torch.set_num_threads(threads)


def _pretrain(
    world: World,
    cfg: TinyConfig,
    tok: PreTrainedTokenizerFast,
    progress: Callable[[int, int, float], None] | None,
) -> tuple[GPT2LMHeadModel, dict]:
    torch.manual_seed(cfg.seed)
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tok),
            n_positions=cfg.n_positions,
            n_embd=cfg.n_embd,
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            bos_token_id=tok.eos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
        )
    )
    # Pack the corpus: documents separated by <eos>, cut into fixed blocks (no padding wasted).
    ids: list[int] = []
    for line in world.corpus(cfg.corpus_lines, seed=cfg.seed):
        ids.extend(tok(line)["input_ids"])
        ids.append(tok.eos_token_id)
    data = torch.tensor(ids, dtype=torch.long)
    n_blocks = (len(data) - 1) // cfg.block_size
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    if cfg.steps < 4:
        raise ValueError(f"tiny.steps: pretraining needs at least 4 steps (a one-cycle schedule), got {cfg.steps}")
    # 5% warm-up, but at least two steps: with fewer the schedule divides by zero (20 steps) or runs backwards
    pct_start = max(0.05, 2 / cfg.steps)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=pct_start)
    model.train()
    losses = []
    t0 = time.perf_counter()
    for step in range(cfg.steps):
        starts = torch.randint(0, n_blocks, (cfg.batch_size,), generator=gen) * cfg.block_size
        x = torch.stack([data[s : s + cfg.block_size] for s in starts])
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if progress:
            progress(step + 1, cfg.steps, losses[-1])
    model.eval()
    log = {
        "final_loss": sum(losses[-20:]) / min(20, len(losses)),
        "first_loss": losses[0],
        "tokens": cfg.steps * cfg.batch_size * cfg.block_size,
        "seconds": time.perf_counter() - t0,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    return model, log


def load_or_pretrain(
    world: World,
    cfg: TinyConfig,
    progress: Callable[[int, int, float], None] | None = None,
) -> tuple[GPT2LMHeadModel, PreTrainedTokenizerFast, Path, dict]:
    """Load the cached pretrained evaluatee for (world, cfg), pretraining and caching it on a miss.

    Returns ``(model, tokenizer, checkpoint_dir, info)``; ``info["cache_hit"]`` tells which happened.
    """
    tok = build_word_tokenizer(world.vocabulary())
    key = pretrain_key(world, cfg, tok)

    def load(path: Path) -> tuple[GPT2LMHeadModel, dict]:
        model = GPT2LMHeadModel.from_pretrained(path)
        model.eval()
        return model, json.loads((path / "pretrain.json").read_text())

    def build() -> tuple[GPT2LMHeadModel, dict]:
        model, log = pretrain(world, cfg, tok, progress)
        return model, {"key": key, "config": asdict(cfg), "world": world.describe(), **log}

    def save(built: tuple[GPT2LMHeadModel, dict], tmp: Path) -> None:
        built[0].save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / "pretrain.json").write_text(json.dumps(built[1], indent=2))

    path = cache_dir() / "pretrained" / f"{world.name}-{key}"
    (model, info), hit = load_or_build(path, load, build, save)  # a concurrent run waits, then loads
    return model, tok, path, {**info, "cache_hit": hit}
