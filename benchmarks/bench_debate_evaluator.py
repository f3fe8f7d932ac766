"""The ``debate`` evaluator kind on pairs sampled from the pretrained evaluatee: label accuracy against gold
of the alchemist's blind evaluator with and without a debate in front of it, and pairs per second.

    python benchmarks/bench_debate_evaluator.py [--pairs 300] [--threads 1] [--out benchmarks/results/x.json]

One pretrained evaluatee (seed 0) answers both sides of every pair, so the accuracies are over items of one
model: a description of this model, with no interval (exploratory; see docs/debate.md).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BLIND = [{"kind": "incomplete_criteria", "known_fraction": 0.0}]  # the alchemist's blind spot (no noise)
ARMS = [
    ("blind", "simulated", BLIND, {}),
    ("blind + debate, evaluatee best-of-1", "debate", BLIND, {"n": 1}),
    ("blind + debate, evaluatee best-of-4", "debate", BLIND, {"n": 4}),
    ("blind + debate, evaluatee best-of-16", "debate", BLIND, {"n": 16}),
    ("blind + debate, optimal debaters", "debate", BLIND, {"debaters": "optimal"}),
    ("control (knows every hazard)", "simulated", [], {}),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    from oversight_lab.evaluators import build_evaluator
    from oversight_lab.models.policy import Policy
    from oversight_lab.models.tiny import TinyConfig, load_or_pretrain
    from oversight_lab.protocols.metrics import accuracy_on_pairs
    from oversight_lab.worlds import make_world

    world = make_world("alchemy")
    model, tok, _, _ = load_or_pretrain(world, TinyConfig())
    policy = Policy(model, tok, "evaluatee", True, 8)
    tasks = world.tasks("train", args.pairs, seed=0)
    pairs = [(t, a, b) for t, (a, b) in zip(tasks, policy.sample([t.prompt for t in tasks], n=2, seed=0),
                                            strict=True)]
    rows = []
    for label, kind, flaws, params in ARMS:
        ev = build_evaluator(world, kind, flaws, params, 0, label)
        t0 = time.perf_counter()
        acc = accuracy_on_pairs(world, ev, pairs)
        sec = time.perf_counter() - t0
        rows.append({"evaluator": label, "accuracy_vs_gold": acc, "pairs_per_second": len(pairs) / sec,
                     "stats": getattr(ev, "stats", None)})
        print(f"{label:40s} accuracy {acc:.3f}  {len(pairs) / sec:8.1f} pairs/s  {rows[-1]['stats'] or ''}",
              flush=True)
    if args.out:
        out = {"pairs": len(pairs), "threads": args.threads, "rows": rows}
        args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
