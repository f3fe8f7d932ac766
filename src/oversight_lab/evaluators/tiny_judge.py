"""A tiny GPT-2 judge trained in-process on judging text, for RLAIF without a hub model.

The judge reads the same prompt as any model judge (:func:`oversight_lab.evaluators.judge.judge_messages`:
the constitution, the task, answers A and B, "verdict :") and is trained to put its next token on the better
answer's letter. Its training verdicts are the constitution applied by a *labeller*: by default the world's
expert (so the judge's errors are its own: capacity and generalisation); a simulated evaluator with
flaws (``labeller="simulated"``, ``labeller_flaws``), in which case the judge inherits them, as an AI feedback
model inherits the blind spots of the people who wrote its training data (Bai et al. 2022; Lee et al. 2023);
or the constitution itself with no gold (``labeller="constitution"``,
:class:`~oversight_lab.evaluators.constitution.ConstitutionLabeller`: the rules checked from the answer's text
and the visible test, mercury as the pretrained evaluatee believes it). Pairs are drawn from the world's
demonstration recipes, uniform recipes, recipes with and without a warning, and a few malformed answers.

By default the judge starts from the pretrained evaluatee of its size (``init="evaluatee"``: the tiny model of
shape ``n_layer`` × ``n_embd`` pretrained on the world, a size of :mod:`oversight_lab.models.sizes`; its
tokenizer extended with the judging words), as constitutional AI's feedback model is a pretrained LM;
``init="fresh"`` builds a new GPT-2. Trained only on the verdict token (cross-entropy at the last position)
and cached under ``cache_dir()/judges`` by a content hash of the world, the constitution, the settings and this
code; a file lock lets parallel workers share one training.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from oversight_lab.evaluators.judge import ALCHEMY_CONSTITUTION, judge_messages
from oversight_lab.worlds.base import Task, World

__all__ = ["LABELLERS", "TinyJudgeConfig", "judge_pairs", "train_tiny_judge", "load_or_train_judge"]

LABELLERS = ("expert", "simulated", "constitution")


@dataclass(frozen=True)
class TinyJudgeConfig:
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    steps: int = 400
    batch_size: int = 32
    lr: float = 3e-3
    n_pairs: int = 6000
    seed: int = 0
    labeller_flaws: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    # who labels the training verdicts: "expert" (gold), "simulated" (labeller_flaws), "constitution" (no
    # gold); None: "simulated" when labeller_flaws are given, else "expert"
    labeller: str | None = None
    init_range: float = 0.02  # std of a fresh model's initial weights (GPT-2's initializer_range)
    init: str = "evaluatee"  # "evaluatee": start from the pretrained evaluatee (it knows the facts); "fresh"
    threads: int = 2  # torch threads training runs on: another count gives other weights (in the cache key)
    # init "evaluatee": the pretrained evaluatee it starts from, as TinyConfig fields (the run's tiny.* with its
    # pretraining seed: one judge per pretrained model); None: TinyConfig()'s defaults
    base: dict[str, Any] | None = None


def _answers(world: World, request: tuple[str, ...], rng: random.Random) -> str:
    """One answer text for training the judge: demonstration-like, uniform, warned, or malformed."""
    if not hasattr(world, "demo_recipe") or not hasattr(world, "ingredients"):
        raise ValueError(
            f"the tiny judge needs a recipe world (alchemy); world {world.name!r} has no recipes"
        )
    u = rng.random()
    if u < 0.05:
        words = [rng.choice(world.ingredients)]  # malformed: too short
    elif u < 0.5:
        words = world.demo_recipe(request, rng)
    else:
        words = [rng.choice(world.ingredients) for _ in range(world.recipe_size)]
    if words[-1] != "mercury" and rng.random() < 0.2:
        words = [*words, "warning", "mercury"]
    return " " + " ".join(words)


def judge_pairs(world: World, n: int, seed: int, labeller: Any) -> list[tuple[Task, str, str, int]]:
    """``n`` (task, first, second, verdict) with a strict preference by ``labeller.score``; ties skipped."""
    rng = random.Random(f"judge-pairs/{seed}")
    tasks = world.tasks("judge", 4 * n, seed=seed)
    out = []
    for t in tasks:
        req = tuple(t.spec["request"])
        a, b = _answers(world, req, rng), _answers(world, req, rng)
        ua, ub = labeller.score(t, a), labeller.score(t, b)
        if ua != ub:
            out.append((t, a, b, 0 if ua > ub else 1))
        if len(out) == n:
            break
    return out


def _labeller_vs_gold(world: World, data: list[tuple[Task, str, str, int]]) -> float:
    """Share of (task, a, b, verdict) whose verdict names the gold-better answer, over pairs gold orders."""
    right = []
    for t, a, b, v in data:
        ga, gb = world.gold(t, world.parse(t, a)), world.gold(t, world.parse(t, b))
        if ga != gb:
            right.append(v == (0 if ga > gb else 1))
    return sum(right) / len(right) if right else float("nan")


def _vocabulary(world: World, constitution: str) -> list[str]:
    return sorted(set(world.vocabulary()) | set(constitution.split()) | {"|", "A", "B", "verdict", ":"})


def _extend_tokenizer(base: Any, words: list[str]) -> Any:
    """A word-level tokenizer with ``base``'s ids for its words and new ids for the rest of ``words``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = dict(base.get_vocab())
    for w in words:
        vocab.setdefault(w, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token="<eos>", pad_token="<pad>", unk_token="<unk>", padding_side="left"
    )


def train_tiny_judge(
    world: World, cfg: TinyJudgeConfig, constitution: str = ALCHEMY_CONSTITUTION, out_dir: Path | None = None
) -> tuple[Any, Any, dict[str, Any]]:
    """Train the judge; returns (model, tokenizer, log) and saves both into ``out_dir`` when given."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from oversight_lab.evaluators import ExpertEvaluator, SimulatedEvaluator, make_flaw
    from oversight_lab.models.tokenizer import build_word_tokenizer

    kind = cfg.labeller or ("simulated" if cfg.labeller_flaws else "expert")
    if kind not in LABELLERS:
        raise ValueError(f"tiny judge labeller must be one of {', '.join(LABELLERS)}, got {kind!r}")
    if (kind == "simulated") != bool(cfg.labeller_flaws):
        raise ValueError(f"tiny judge: labeller_flaws go with labeller 'simulated' only (labeller {kind!r})")
    if cfg.init not in ("evaluatee", "fresh"):
        raise ValueError(f"tiny judge init must be 'evaluatee' or 'fresh', got {cfg.init!r}")
    base = base_tok = None
    if cfg.init == "evaluatee" or kind == "constitution":
        from oversight_lab.models.tiny import TinyConfig, load_or_pretrain

        # the replicate's pretrained evaluatee (its seed and budget), of the judge's size (the default 2 × 64
        # is the default evaluatee: one cache entry); the constitution labeller reads its beliefs
        shape = {"n_layer": cfg.n_layer, "n_embd": cfg.n_embd, "n_head": cfg.n_head}
        base, base_tok, _, _ = load_or_pretrain(world, TinyConfig(**{**(cfg.base or {}), **shape}))
    labeller: Any
    if kind == "constitution":  # the pretrained evaluatee's beliefs, read before the judge trains on them
        from oversight_lab.evaluators.constitution import ConstitutionLabeller, read_mercury_beliefs

        labeller = ConstitutionLabeller(world, read_mercury_beliefs(base, base_tok, world))
    elif kind == "simulated":
        labeller = SimulatedEvaluator(world, [make_flaw(f) for f in cfg.labeller_flaws], seed=cfg.seed)
    else:
        labeller = ExpertEvaluator(world, [], seed=cfg.seed)
    if cfg.init == "evaluatee":
        # Constitutional AI's feedback model is a pretrained LM (Bai et al. 2022): here the evaluatee's base,
        # which knows the world's facts; its tokenizer is extended with the judging words, old ids kept.
        tok = _extend_tokenizer(base_tok, _vocabulary(world, constitution))
        model = base
        model.resize_token_embeddings(len(tok))
        model.config.pad_token_id = tok.pad_token_id
    else:
        tok = build_word_tokenizer(_vocabulary(world, constitution))
        model = None
    tok.model_max_length = 128
    data = judge_pairs(world, cfg.n_pairs, cfg.seed, labeller)
    texts = [" ".join(judge_messages(t, a, b, constitution)) for t, a, b, _ in data]
    letters = tok([" A", " B"], add_special_tokens=False)["input_ids"]
    target = torch.tensor([letters[v][0] for *_, v in data])
    enc = dict(
        tok(texts, return_tensors="pt", padding=True, add_special_tokens=False, return_token_type_ids=False)
    )
    enc["position_ids"] = (enc["attention_mask"].cumsum(-1) - 1).clamp(
        min=0
    )  # as the judge backend reads them
    torch.manual_seed(cfg.seed)
    if model is None:
        model = GPT2LMHeadModel(
            GPT2Config(
                vocab_size=len(tok),
                n_positions=128,
                n_embd=cfg.n_embd,
                n_layer=cfg.n_layer,
                n_head=cfg.n_head,
                bos_token_id=tok.eos_token_id,
                eos_token_id=tok.eos_token_id,
                pad_token_id=tok.pad_token_id,
                resid_pdrop=0.0,
                embd_pdrop=0.0,
                attn_pdrop=0.0,
                initializer_range=cfg.init_range,
            )
        )
    if enc["input_ids"].shape[1] > model.config.n_positions:
        raise ValueError(
            f"judging prompts of {enc['input_ids'].shape[1]} tokens exceed the judge's "
            f"{model.config.n_positions} positions: shorten the constitution"
        )
    n_hold = max(1, len(data) // 10)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=max(0.05, 2.5 / cfg.steps)
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    t0 = time.perf_counter()
    model.train()
    losses = []
    for _ in range(cfg.steps):
        idx = torch.randint(n_hold, len(data), (cfg.batch_size,), generator=gen)
        # the same position ids as at inference (left padding: positions count real tokens only)
        logits = model(**{k: v[idx] for k, v in enc.items()}).logits[:, -1]
        loss = torch.nn.functional.cross_entropy(logits, target[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(**{k: v[:n_hold] for k, v in enc.items()}).logits
        pred = logits[:, -1, [letters[0][0], letters[1][0]]].argmax(-1)
    log = {
        "seconds": time.perf_counter() - t0,
        "final_loss": sum(losses[-50:]) / len(losses[-50:]),
        "holdout_accuracy_vs_labeller": float(
            (pred == (target[:n_hold] == letters[1][0]).long()).float().mean()
        ),
        "n_pairs": len(data),
        "parameters": sum(p.numel() for p in model.parameters()),
        "labeller": kind,
        # the labeller's verdicts against gold on the held-out judging pairs (the most the judge can learn)
        "holdout_labeller_accuracy_vs_gold": _labeller_vs_gold(world, data[:n_hold]),
    }
    if kind == "constitution":
        log["belief_accuracy"] = labeller.belief_accuracy()
        log["labeller_config"] = labeller.config()
    if out_dir is not None:
        model.save_pretrained(out_dir)
        tok.save_pretrained(out_dir)
        (out_dir / "judge.json").write_text(
            json.dumps(
                {"config": asdict(cfg), "constitution": constitution, "world": world.describe(), **log},
                indent=1,
            )
        )
    return model, tok, log


def load_or_train_judge(world: World, cfg: TinyJudgeConfig, constitution: str = ALCHEMY_CONSTITUTION) -> Path:
    """The cached judge directory for these inputs, training it (once: a concurrent worker waits) on a miss."""
    from oversight_lab.cache import cache_dir, load_or_build

    h = hashlib.sha256()
    for name in ("tiny_judge.py", "judge.py", "constitution.py"):
        h.update(Path(__file__).with_name(name).read_bytes())
    h.update(json.dumps([world.describe(), asdict(cfg), constitution], sort_keys=True, default=str).encode())
    path = cache_dir() / "judges" / f"{world.name}-{h.hexdigest()[:16]}"

    def train(tmp: Path) -> None:  # the judge trains straight into the entry's temporary directory
        import torch

        tmp.mkdir(parents=True, exist_ok=True)
        threads = torch.get_num_threads()
        torch.set_num_threads(cfg.threads)
        try:
            train_tiny_judge(world, cfg, constitution, tmp)
        finally:
            torch.set_num_threads(threads)

    load_or_build(path, lambda p: p, lambda: None, lambda _, tmp: train(tmp))
    return path
