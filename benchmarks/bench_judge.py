"""Judge throughput (pairs/s, both orders asked): local HF judge batched vs one at a time, and over loopback
HTTP
(an OpenAI-compatible server in a thread, the pattern of tests/protocols/judge_server.py) concurrent vs
sequential.

    python benchmarks/bench_judge.py [--pairs 128] [--model DIR] [--threads 1]

Without ``--model`` a tiny judge (fresh GPT-2, 2 × 64, a few training steps) is built in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "protocols"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=128)
    ap.add_argument("--model", type=str, default=None, help="a judge model directory (default: a tiny judge)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    from judge_server import JudgeServer

    from oversight_lab.evaluators import ExpertEvaluator
    from oversight_lab.evaluators.judge import HFJudgeBackend, JudgeEvaluator, OpenAIJudgeBackend
    from oversight_lab.evaluators.tiny_judge import TinyJudgeConfig, judge_pairs, train_tiny_judge
    from oversight_lab.worlds import make_world

    world = make_world("alchemy")
    model_dir = Path(args.model) if args.model else Path(tempfile.mkdtemp()) / "judge"
    if not args.model:
        train_tiny_judge(
            world, TinyJudgeConfig(steps=20, n_pairs=300, batch_size=16, init="fresh"), out_dir=model_dir
        )
    pairs = [(t, a, b) for t, a, b, _ in judge_pairs(world, args.pairs, 11, ExpertEvaluator(world))]
    results = {}

    def timed(name: str, ev: JudgeEvaluator, chunk: int) -> None:
        t0 = time.perf_counter()
        for i in range(0, len(pairs), chunk):
            ev.compare_batch(pairs[i : i + chunk])
        dt = time.perf_counter() - t0
        results[name] = {
            "pairs_per_s": len(pairs) / dt,
            "seconds": dt,
            "calls": ev.stats["calls"],
            "unparseable": ev.stats["unparseable"],
        }
        print(
            f"{name:<34} {len(pairs) / dt:8.1f} pairs/s  ({dt:.2f} s, {int(ev.stats['calls'])} calls)",
            flush=True,
        )

    local = HFJudgeBackend.from_pretrained(model_dir, batch_size=64)
    timed("local HF, batched (64 prompts)", JudgeEvaluator(local), len(pairs))
    timed(
        "local HF, one pair at a time",
        JudgeEvaluator(HFJudgeBackend.from_pretrained(model_dir, batch_size=1)),
        1,
    )
    n_http = min(len(pairs), 64)
    pairs = pairs[:n_http]
    with JudgeServer(model_dir) as server:
        timed(
            "HTTP, 8 concurrent requests",
            JudgeEvaluator(OpenAIJudgeBackend(server.base_url, "judge", concurrency=8, max_tokens=1)),
            n_http,
        )
        timed(
            "HTTP, one request at a time",
            JudgeEvaluator(OpenAIJudgeBackend(server.base_url, "judge", concurrency=1, max_tokens=1)),
            1,
        )
    print(json.dumps({"threads": args.threads, "results": results}, indent=1))


if __name__ == "__main__":
    main()
