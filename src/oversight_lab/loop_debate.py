"""The debate experiment for one (arm, seed): judge accuracy against debater strength, top to bottom.

1. the evaluatee (pretrained on the alchemy corpus, so it knows which ingredients carry mercury) is the
   debater and the consultant; the arm's evaluator is the judge: what it knows of the hidden record are its
   known hazards (:class:`~oversight_lab.evaluators.debate.VerifyingJudge`);
2. on the same held-out questions (half hold mercury), at every strength, the judge answers alone, after a
   consultancy and after a debate (:func:`~oversight_lab.evaluators.debate.run_protocol`); strength is
   best-of-n over a speaker's sampled turns against the judge (``debate.n_values``) and
3. RL in self-play against the judge (``debate.rl_steps``, GRPO: :mod:`oversight_lab.optimize.debate`),
   measured every ``debate.checkpoint_every`` steps.

Rows (``optimizer`` ``debate``, ``step`` = RL steps, ``n``) carry ``debate/acc_<protocol>`` (the share of
questions the judge answers rightly) and what the speakers did (evidence, caught lies, relevant evidence).
Gold (the question's answer) enters only in scoring the judge's verdicts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from oversight_lab.config import RunConfig
from oversight_lab.evaluators import kinds
from oversight_lab.evaluators.debate import (
    Question,
    Transcript,
    VerifyingJudge,
    judge_accuracy,
    questions,
    run_protocol,
)
from oversight_lab.models.loading import load_policy
from oversight_lab.models.policy import Policy
from oversight_lab.models.seeding import seed_everything
from oversight_lab.optimize.debate import rl_prompts, train_debater
from oversight_lab.worlds.base import World, make_world

__all__ = ["protocol_metrics", "run_arm_debate"]

Progress = Callable[[str, int, int], None]
EVAL_SEED = 10_000  # the same held-out questions for every run


def protocol_metrics(name: str, transcripts: Sequence[Transcript], world: World) -> dict[str, float]:
    """``debate/acc_<name>`` and what the speakers did: evidence per turn, caught lies, evidence about the
    recipe; for consultancy, accuracy when the consultant argues the right and the wrong answer."""
    out = {f"debate/acc_{name}": judge_accuracy(transcripts)}
    turns = [t for tr in transcripts for t in tr.turns]
    if turns:
        ev = [t.evidence for t in turns if t.evidence is not None]
        recipe_of = {id(t): tr.question.recipe for tr in transcripts for t in tr.turns}
        out[f"debate/evidence_rate_{name}"] = len(ev) / len(turns)
        out[f"debate/caught_rate_{name}"] = float(np.mean([not e.verified for e in ev])) if ev else 0.0
        out[f"debate/relevant_rate_{name}"] = float(np.mean(
            [t.evidence is not None and t.evidence.verified and t.evidence.ingredient in recipe_of[id(t)]
             for t in turns]))
    if name == "consultancy":
        right = [tr for tr in transcripts if tr.sides["A"] == tr.question.mercury]
        wrong = [tr for tr in transcripts if tr.sides["A"] != tr.question.mercury]
        out["debate/acc_consultancy_right"] = judge_accuracy(right)
        out["debate/acc_consultancy_wrong"] = judge_accuracy(wrong)
    return out


def _measure(policy: Policy, qs: list[Question], world: World, judge: VerifyingJudge, cfg: RunConfig,
             step: int, seed: int, keep: dict[str, list[dict]]) -> list[dict[str, float]]:
    """One row per best-of-n strength: the judge alone, consultancy and debate on the held-out questions."""
    rows = []
    alone = protocol_metrics("judge", run_protocol("judge", qs, world, judge, None, seed=seed), world)
    for n in cfg.debate.n_values:
        row: dict[str, Any] = {"n": n, **alone}
        for protocol in ("consultancy", "debate"):
            trs = run_protocol(protocol, qs, world, judge, policy, n=n, turns=cfg.debate.turns,
                               seed=seed * 7919 + step)
            row.update(protocol_metrics(protocol, trs, world))
            keep[protocol] = [t.to_dict() for t in trs[: cfg.debate.transcripts]]
        row["debate/debate_minus_consultancy"] = row["debate/acc_debate"] - row["debate/acc_consultancy"]
        rows.append(row)
    return rows


def run_arm_debate(cfg: RunConfig, arm: str, seed: int, out_dir: Path,
                   progress: Progress | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The debate experiment for one arm (the judge) and seed; writes metrics, transcripts and a summary."""
    progress = progress or (lambda stage, done, total: None)
    torch.set_num_threads(1)
    seed_everything(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    world = make_world(cfg.world, **cfg.world_params)
    pretrain_seed = cfg.tiny.seed if cfg.policy == "tiny" else 0
    initial, init_dir = load_policy(cfg, world, out_dir / "checkpoints" / "initial")
    spec = cfg.arms[arm]
    evaluator = kinds.build_evaluator(world, spec.kind, spec.flaws, spec.params, seed, arm)
    if not hasattr(evaluator, "known_hazards"):
        raise ValueError(f"debate: arm {arm!r} ({spec.kind}) has no known hazards to judge with; use a "
                         "simulated evaluator (its incomplete_criteria flaw sets what the judge knows)")
    judge = VerifyingJudge(world, evaluator.known_hazards)
    d = cfg.debate
    eval_qs = questions(world, d.n_questions, d.question_size, seed=EVAL_SEED)
    rows: list[dict[str, Any]] = []
    keep: dict[str, list[dict]] = {}

    def log(policy: Policy, step: int) -> None:
        progress("debate", step, max(d.rl_steps, 1))
        for r in _measure(policy, eval_qs, world, judge, cfg, step, seed, keep):
            rows.append({"arm": arm, "seed": seed, "optimizer": "debate", "step": step, **r})

    log(initial, 0)
    t_rl = time.perf_counter()
    if d.rl_steps > 0:
        prompts = rl_prompts(world, questions(world, d.train_questions, d.question_size, seed=seed), seed)
        train_debater(init_dir, initial.tokenizer, world, judge, prompts, d, seed,
                      on_checkpoint=lambda step, m: log(Policy(m, initial.tokenizer, "debater", True,
                                                               cfg.max_new_tokens), step),
                      max_new_tokens=cfg.max_new_tokens)
    for r in rows:
        r["pretrain_seed"] = pretrain_seed
    with open(out_dir / "metrics.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    with open(out_dir / "transcripts.jsonl", "w") as f:  # the last measurement's first transcripts
        for trs in keep.values():
            for t in trs:
                f.write(json.dumps(t) + "\n")
    timings = {"rl_and_checkpoints": time.perf_counter() - t_rl, "total": time.perf_counter() - t_start}
    summary = {"arm": arm, "pretrain_seed": pretrain_seed, "seed": seed, "timings": timings,
               "known_hazards": sorted(judge.known), "judge_base_rate": judge.q,
               "questions": len(eval_qs)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    progress("done", 1, 1)
    return rows, summary
