"""Log-likelihood multiple-choice throughput: oversight-lab's scorer vs lm-evaluation-harness, one command.

    python benchmarks/bench_evals.py [--items 400] [--repeats 5] [--batch-size 32] [--threads 1] [--out F]

Both score the same items (MMLU-format four-choice questions written into a local JSONL) with the same prompt
and continuations, on the same tiny GPT-2 (byte-level BPE, built in-process), batch size and threads. Timed:
lm-eval's ``evaluator.evaluate`` on a ``TaskManager``-loaded local task (building requests, running the model,
metrics), and our ``evaluate_task`` (building items, scoring, metrics). Runs alternate; medians are reported
with their ratio (items/s ours ÷ items/s lm-eval), and per-choice log-likelihoods are checked to agree.
Needs ``pip install "lm-eval[hf]==0.4.13"``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LMEVAL_YAML = """task: olab_bench_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "The following are multiple choice questions (with answers) about \\
  {{{{subject.replace('_', ' ')}}}}.\\n\\n{{{{question.strip()}}}}\\nA. {{{{choices[0]}}}}\\
  \\nB. {{{{choices[1]}}}}\\nC. {{{{choices[2]}}}}\\nD. {{{{choices[3]}}}}\\nAnswer:"
doc_to_choice: ["A", "B", "C", "D"]
doc_to_target: answer
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def write_items(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    subjects = ["elementary_mathematics", "astronomy", "high_school_biology", "world_religions"]
    with path.open("w") as fh:
        for i in range(n):
            a, b = rng.randint(2, 99), rng.randint(2, 99)
            right = a + b
            choices = [str(right + d) for d in rng.sample([-10, -2, 0, 1, 3, 11], 4)]
            if str(right) not in choices:
                choices[rng.randrange(4)] = str(right)
            fh.write(
                json.dumps(
                    {
                        "question": f"Question {i}: what is {a} plus {b}?",
                        "subject": subjects[i % 4],
                        "choices": choices,
                        "answer": choices.index(str(right)),
                    }
                )
                + "\n"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for both scorers")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import lm_eval
    import torch
    from lm_eval.evaluator import evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from oversight_lab.evals.backends.hf import HFBackend
    from oversight_lab.evals.runner import evaluate_task
    from oversight_lab.evals.tiny import build_tiny_bpe_gpt2

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="olab-bench-"))
    model_dir = build_tiny_bpe_gpt2(tmp / "model")
    data = tmp / "items.jsonl"
    write_items(data, args.items)
    (tmp / "tasks").mkdir()
    (tmp / "tasks" / "olab_bench_mc.yaml").write_text(LMEVAL_YAML.format(data=data))

    lm = HFLM(pretrained=str(model_dir), batch_size=args.batch_size, device="cpu")
    tm = TaskManager(include_path=str(tmp / "tasks"), include_defaults=False)
    ours = HFBackend.from_pretrained(model_dir, batch_size=args.batch_size)

    def run_lmeval() -> tuple[float, dict]:
        tasks = tm.load(["olab_bench_mc"])  # loading is outside the timed region, as for ours
        t0 = time.perf_counter()
        res = evaluate(lm, tasks, log_samples=True, verbosity="ERROR")
        return time.perf_counter() - t0, res

    def run_ours() -> tuple[float, list]:
        t0 = time.perf_counter()
        scored, _, _ = evaluate_task(ours, "calibration_mc", source=str(data))
        return time.perf_counter() - t0, scored

    run_lmeval(), run_ours()  # warm-up (allocator, tokenizer caches)
    t_lm, t_us = [], []
    for _ in range(args.repeats):
        s, res = run_lmeval()
        t_lm.append(s)
        s, scored = run_ours()
        t_us.append(s)

    # The two must compute the same numbers: compare every choice's log-likelihood.
    samples = sorted(res["samples"]["olab_bench_mc"], key=lambda r: r["doc_id"])
    diff = max(
        abs(float(resp[0][0]) - lp)
        for sample, s in zip(samples, scored, strict=True)
        for resp, lp in zip(sample["resps"], s.logprobs, strict=True)
    )
    acc_lm = res["results"]["olab_bench_mc"]["acc,none"]
    acc_us = sum(s.hit for s in scored) / len(scored)
    med_lm, med_us = statistics.median(t_lm), statistics.median(t_us)
    result = {
        "items": args.items,
        "choices_per_item": 4,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "threads": torch.get_num_threads(),
        "lm_eval": lm_eval.__version__ if hasattr(lm_eval, "__version__") else "",
        "lm_eval_seconds": t_lm,
        "ours_seconds": t_us,
        "lm_eval_items_per_s": args.items / med_lm,
        "ours_items_per_s": args.items / med_us,
        "ratio": med_lm / med_us,
        "max_abs_loglik_diff": diff,
        "acc_lm_eval": acc_lm,
        "acc_ours": acc_us,
    }
    print(json.dumps(result, indent=2))
    print(
        f"\n| scorer | median s ({args.repeats} runs) | items/s |\n|---|---|---|\n"
        f"| lm-eval {result['lm_eval']} `evaluate` | {med_lm:.3f} | {result['lm_eval_items_per_s']:.0f} |\n"
        f"| oversight-lab `evaluate_task` | {med_us:.3f} | {result['ours_items_per_s']:.0f} |\n"
        f"ratio (ours / lm-eval throughput): **{result['ratio']:.2f}**; max |Δ log-likelihood| = {diff:.2e}"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
