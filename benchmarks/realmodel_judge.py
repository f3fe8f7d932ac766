"""SmolLM2-135M-Instruct as a judge of alchemy answers: in-process (letter log-probabilities) and served.

    python benchmarks/realmodel_judge.py [--pairs 40] [--served] [--out FILE]

Needs ``oversight-lab models add smollm2-135m-instruct``. In-process, the judge reads P(A) and P(B) as the
first token of its chat reply; ``--served`` also starts ``transformers serve`` on 127.0.0.1 (a server the lab
did not write, which returns no log-probabilities) and judges the same pairs from its generated text. Both ask
each pair in both orders. Prints and writes agreement with gold, position bias and the unparseable rate
(:mod:`oversight_lab.evaluators.judge_audit`), with wall times, into FILE (default
benchmarks/results/realmodel_judge.json). One torch thread (faster than two on a
shared 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from oversight_lab.evaluators.judge import (
    ENGLISH_ALCHEMY_CONSTITUTION,
    HFJudgeBackend,
    JudgeEvaluator,
    OpenAIJudgeBackend,
)
from oversight_lab.evaluators.judge_audit import audit_judge, english_pairs
from oversight_lab.models.hub import resolve_model
from oversight_lab.worlds import make_world


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--served", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/realmodel_judge.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    world = make_world("alchemy")
    pairs = english_pairs(world, args.pairs, seed=args.seed)
    path = resolve_model("smollm2-135m-instruct")
    results = {"pairs": args.pairs, "seed": args.seed, "constitution": ENGLISH_ALCHEMY_CONSTITUTION}
    t0 = time.perf_counter()
    backend = HFJudgeBackend.from_pretrained(path, batch_size=8, chat=True)
    local = audit_judge(JudgeEvaluator(backend, ENGLISH_ALCHEMY_CONSTITUTION, world=world), world, pairs)
    local["wall_with_load"] = time.perf_counter() - t0
    results["in_process"] = local
    print(json.dumps({"in_process": local}, indent=1))
    if args.served:
        from oversight_lab.models.serve import served

        t0 = time.perf_counter()
        with served(path) as base_url:
            started = time.perf_counter() - t0
            served_backend = OpenAIJudgeBackend(base_url, path, max_tokens=4, concurrency=1)
            served_judge = JudgeEvaluator(served_backend, ENGLISH_ALCHEMY_CONSTITUTION, world=world)
            result = audit_judge(served_judge, world, pairs)
        result["server_start_seconds"] = started
        results["served"] = result
        print(json.dumps({"served": result}, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
